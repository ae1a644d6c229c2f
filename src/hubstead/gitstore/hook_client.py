"""The program git runs as a ``pre-receive`` / ``post-receive`` hook during a push served by Hubstead.

It asks the server process that started ``git receive-pack`` (over the Unix socket named in the environment)
whether the ref updates may go ahead, prints the answer for the pusher (git relays a hook's stderr as
``remote: ...``) and exits 0 to accept or 1 to refuse. It runs as ``python -I -S`` with only the standard
library, so a push pays a few milliseconds for it, not a Hubstead import; every decision is made in the
server, where the database and the blob store are.
"""

from __future__ import annotations

import json
import os
import socket
import sys

# the variables git sets for hooks that say where a push's objects wait until the refs move
OBJECT_ENV = ("GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES")
MAX_REPLY = 1024 * 1024


def ask(socket_path: str, request: dict[str, object]) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(socket_path)
        sock.sendall(json.dumps(request).encode())
        sock.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if sum(map(len, chunks)) > MAX_REPLY:
                break
    reply = json.loads(b"".join(chunks))
    if not isinstance(reply, dict):
        raise ValueError("the server's answer is not a JSON object")
    return reply


def main(argv: list[str]) -> int:
    hook = argv[1] if len(argv) > 1 else ""
    socket_path = os.environ.get("HUBSTEAD_HOOK_SOCKET")
    if not socket_path:
        print("Hubstead: this push was not started by a Hubstead server", file=sys.stderr)
        return 1
    request = {
        "token": os.environ.get("HUBSTEAD_HOOK_TOKEN", ""),
        "hook": hook,
        "updates": sys.stdin.read(),
        "env": {name: os.environ.get(name, "") for name in OBJECT_ENV},
    }
    try:
        reply = ask(socket_path, request)
    except (OSError, ValueError) as exc:
        print(f"Hubstead: the server did not answer the {hook} check ({exc})", file=sys.stderr)
        return 1
    message = reply.get("message")
    if isinstance(message, str) and message:
        print(message.rstrip("\n"), file=sys.stderr)
    return 0 if reply.get("ok") is True else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
