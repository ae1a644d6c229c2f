"""`hubstead serve` at its connection limits, over raw sockets: one client's idle, half-sent or oversized
requests are cut off or refused while another client is still served, with one server process and with two.

The attacker connects from 127.0.0.2 and the other client from 127.0.0.1 (both loopback on Linux), so that the
per-client cap tells them apart. The server runs with low limits set through its settings, and, where the point
is that one client must not use up the process's file descriptors, with a low open-files limit."""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ATTACKER = "127.0.0.2"
HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
PER_CLIENT = 10
MAX_HEADER_BYTES = 8192
MAX_HEADERS = 20
HALF_REQUEST = b"GET /api/health HTTP/1.1\r\nHost: hub\r\nUser-Agent: slow"


@dataclass
class Served:
    url: str
    port: int
    process: subprocess.Popen[bytes]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# sets the open-files limits, then becomes the server (same pid): no preexec_fn in a process with threads
WITH_OPEN_FILES = (
    "import os, resource, sys; "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2]))); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[3:]])"
)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start `hubstead serve` with low connection limits; ``open_files`` (soft, hard) sets its open-files limits."""
    started: list[subprocess.Popen[bytes]] = []

    def start(workers: int = 1, open_files: tuple[int, int] | None = None, **settings: object) -> Served:
        port = _free_port()
        env = dict(os.environ, HUBSTEAD_DATA_DIR=str(tmp_path / f"hub-{port}"), HUBSTEAD_RATE_LIMIT__ENABLED="false")
        limits = {
            "per_client": PER_CLIENT,
            "header_timeout_seconds": HEADER_TIMEOUT,
            "body_timeout_seconds": BODY_TIMEOUT,
            "max_header_bytes": MAX_HEADER_BYTES,
            "max_headers": MAX_HEADERS,
        } | settings
        env |= {f"HUBSTEAD_CONNECTIONS__{name.upper()}": str(value) for name, value in limits.items()}
        command = [sys.executable, "-m", "hubstead.cli.main", "serve", "--port", str(port), "--workers", str(workers)]
        if open_files:
            command[1:1] = ["-c", WITH_OPEN_FILES, str(open_files[0]), str(open_files[1])]
        process = subprocess.Popen(
            [*command, "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else "serve exited"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    return Served(url, port, process)
            assert time.monotonic() < deadline, "hubstead serve did not start"
            time.sleep(0.2)

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def connect(served: Served, source: str = ATTACKER) -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", served.port))
    return sock


def answer(sock: socket.socket, timeout: float) -> bytes | None:
    """What the server sent before closing (b"" for a bare close or a reset), or None if it still holds the
    connection open after ``timeout`` seconds."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        return received or None
    except ConnectionError:
        pass
    return received


def read_response(sock: socket.socket, timeout: float = 5) -> bytes:
    """One whole HTTP/1.1 response with a Content-Length body: the head and the body may come in separate
    segments, so a single recv could leave the body to be read as the next answer."""
    sock.settimeout(timeout)
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
        0,
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {received!r}"
        body += chunk
    return head + b"\r\n\r\n" + body


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``sock``, or None if it had not after ``seconds``."""
    started = time.monotonic()
    return None if answer(sock, seconds) is None else time.monotonic() - started


def health(served: Served) -> int:
    """/api/health from the other client, on a fresh connection."""
    transport = httpx.HTTPTransport(local_address="127.0.0.1")
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.get(f"{served.url}/api/health").status_code


def split_held_and_refused(socks: list[socket.socket], wait: float) -> tuple[list[socket.socket], list[bytes]]:
    """Sockets the server holds open after ``wait`` seconds, and what the others were answered."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    ready: set[socket.socket] = set()
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0 and len(ready) < len(socks):
        for key, _ in selector.select(left):
            ready.add(key.fileobj)  # type: ignore[arg-type]
            selector.unregister(key.fileobj)
    selector.close()
    answers = [answer(sock, 1) or b"" for sock in socks if sock in ready]
    return [sock for sock in socks if sock not in ready], answers


def open_half_sent(served: Served, count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        sock = connect(served)
        with contextlib.suppress(ConnectionError):
            sock.sendall(HALF_REQUEST)
        socks.append(sock)
    return socks


@pytest.mark.parametrize("workers", [1, 2])
def test_half_sent_requests_from_one_client_do_not_shut_out_another(serve, workers: int) -> None:
    # 64 open files: without a cap, the attacker's 60 connections alone use up what a server process has
    served = serve(workers=workers, open_files=(64, 64), header_timeout_seconds=4)
    socks = open_half_sent(served, PER_CLIENT + 50)
    try:
        assert health(served) == 200
        held, refused = split_held_and_refused(socks, wait=1.0)
        assert len(held) <= PER_CLIENT * workers  # each server process counts its own
        assert len(refused) >= 50 - PER_CLIENT * (workers - 1)
        assert all(a == b"" or a.startswith(b"HTTP/1.1 503 ") for a in refused)
        assert any(b"Too many connections" in a for a in refused)
        # the ones held are dropped at the header deadline, counted from their opening, and leave the cap
        assert all(closed_within(sock, 4 + 3) is not None for sock in held)
        again = open_half_sent(served, PER_CLIENT)
        socks += again
        held_again, _ = split_held_and_refused(again, wait=0.5)
        assert len(held_again) == PER_CLIENT
        assert health(served) == 200
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.parametrize("workers", [1, 2])
def test_headers_sent_a_byte_at_a_time_are_cut_off_at_the_header_timeout(serve, workers: int) -> None:
    served = serve(workers=workers)
    with connect(served) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: hub\r\n")
        started = time.monotonic()
        sock.settimeout(0.25)
        closed_after = None
        while time.monotonic() - started < HEADER_TIMEOUT + 5:
            try:
                sock.sendall(b"X")  # a header name that never ends: each byte would restart an idle timer
                if sock.recv(1024) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                continue
            except ConnectionError:
                closed_after = time.monotonic() - started
                break
    assert closed_after is not None, "the server kept a connection sending its headers a byte at a time"
    assert HEADER_TIMEOUT - 0.5 < closed_after < HEADER_TIMEOUT + 2


def test_a_connection_that_sends_nothing_is_closed_at_the_header_timeout(serve) -> None:
    served = serve()
    with connect(served) as sock:
        closed_after = closed_within(sock, HEADER_TIMEOUT + 5)
    assert closed_after is not None
    assert HEADER_TIMEOUT - 0.5 < closed_after < HEADER_TIMEOUT + 2


def test_blank_lines_between_requests_do_not_keep_a_connection_forever(serve) -> None:
    served = serve(keep_alive_seconds=1)
    with connect(served) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: hub\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        sock.settimeout(0.3)
        closed = False
        while not closed and time.monotonic() - started < HEADER_TIMEOUT + 5:
            try:
                sock.sendall(b"\r\n")  # begins no request, but stops the keep-alive timer
                closed = sock.recv(1024) == b""
            except TimeoutError:
                continue
            except ConnectionError:
                closed = True
    assert closed


def test_a_stalled_body_is_dropped_at_the_body_timeout(serve) -> None:
    served = serve()
    with connect(served) as sock:
        sock.sendall(
            b"POST /api/validate-yaml HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"content": "'
        )
        closed_after = closed_within(sock, BODY_TIMEOUT + 5)
    assert closed_after is not None, "the server waited for the rest of a body forever"
    assert BODY_TIMEOUT - 0.5 < closed_after < BODY_TIMEOUT + 2


def test_a_slow_but_steady_body_and_an_idle_keep_alive_connection_are_served(serve) -> None:
    served = serve()
    body = b'{"content": "---\\nlicense: mit\\n---\\n"}'
    with connect(served, "127.0.0.1") as sock:
        sock.sendall(
            b"POST /api/validate-yaml HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        for i in range(0, len(body), 8):  # the whole body takes longer than the body timeout, no pause does
            time.sleep(BODY_TIMEOUT / 4)
            sock.sendall(body[i : i + 8])
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
        time.sleep(HEADER_TIMEOUT + 1)  # idle between requests: the keep-alive timeout applies, not the header one
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: hub\r\n\r\n")
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET /api/health HTTP/1.1\r\nHost: hub\r\nX-Big: " + b"a" * MAX_HEADER_BYTES + b"\r\n\r\n", 431),
        (b"GET /api/health?" + b"a" * MAX_HEADER_BYTES + b" HTTP/1.1\r\nHost: hub\r\n\r\n", 414),
        (
            b"GET /api/health HTTP/1.1\r\nHost: hub\r\n"
            + b"".join(b"X-Field-%d: 1\r\n" % i for i in range(MAX_HEADERS + 1))
            + b"\r\n",
            431,
        ),
    ],
    ids=["header-bytes", "url", "header-count"],
)
def test_oversized_headers_are_refused(serve, request_head: bytes, status: int) -> None:
    served = serve()
    with connect(served, "127.0.0.1") as sock:
        sock.sendall(request_head)
        received = answer(sock, 5)
    assert received is not None
    assert received.startswith(b"HTTP/1.1 %d " % status)
    assert b"connection: close" in received.lower()
    assert health(served) == 200


def test_a_header_sent_in_pieces_is_refused_past_the_cap(serve) -> None:
    """llhttp keeps an unfinished header field to itself: the cap counts the bytes fed to it."""
    served = serve()
    with connect(served, "127.0.0.1") as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: hub\r\nX-Endless: ")
        with contextlib.suppress(ConnectionError), selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            for _ in range(4 * MAX_HEADER_BYTES // 512):  # until the server answers (not into a reset)
                sock.sendall(b"a" * 512)
                if selector.select(0.005):
                    break
        received = answer(sock, 5)
    assert received is not None
    assert received.startswith(b"HTTP/1.1 431 ")


def test_serve_raises_the_open_files_limit_to_the_hard_limit(serve) -> None:
    served = serve(open_files=(128, 512))
    limits = Path(f"/proc/{served.process.pid}/limits").read_text()
    line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    assert line.split()[3:5] == ["512", "512"]


def test_headers_under_the_caps_sent_in_pieces_are_served(serve) -> None:
    served = serve()
    head = (
        b"GET /api/health HTTP/1.1\r\nHost: hub\r\n"
        + b"".join(b"X-Field-%d: %s\r\n" % (i, b"v" * 300) for i in range(MAX_HEADERS - 2))
        + b"\r\n"
    )
    assert MAX_HEADER_BYTES // 2 < len(head) < MAX_HEADER_BYTES
    with connect(served, "127.0.0.1") as sock:
        for i in range(0, len(head), 1000):
            sock.sendall(head[i : i + 1000])
            time.sleep(0.05)
        assert read_response(sock).startswith(b"HTTP/1.1 200 ")
