"""Xet deduplication: upload a large model file through Xet, change 1 MiB in its middle, upload it again.

The second upload should send only the changed chunks: the table gives the bytes each upload sent to the server
(counted by a TCP proxy between client and server), its time, and how much the server's storage grew, with the
second upload against the first as the baseline. Then both versions are downloaded through Xet and checked.

    .venv/bin/python bench/xet.py [--size-mib 1024] [--change-mib 1]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from limits import free_port, hubstead, setup_accounts

MiB = 1024 * 1024
REPO = "bench/xet"
FILE = "model.safetensors"


class CountingProxy:
    """Forwards 127.0.0.1:port to the server, counting the bytes clients send."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.sent = 0
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool) -> None:
        try:
            while data := await reader.read(1 << 20):
                if upstream:
                    self.sent += len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if not self.loop.is_closed():
                writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(reader, up_writer, True), self._pipe(up_reader, writer, False))

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self.started.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()

    def __enter__(self) -> CountingProxy:
        threading.Thread(target=self._run, daemon=True).start()
        self.started.wait()
        return self

    def __exit__(self, *_: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@contextmanager
def xet_client(tmp: Path, name: str) -> Iterator[None]:
    """A fresh hf_xet session with its own cache: a new machine, which knows nothing of earlier uploads."""
    from huggingface_hub.utils import _xet

    os.environ["HF_XET_CACHE"] = str(tmp / f"xet-cache-{name}")
    _xet._GLOBAL_XET_HOLDER._session = None
    try:
        yield
    finally:
        _xet._GLOBAL_XET_HOLDER._session = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--change-mib", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    size, change = args.size_mib * MiB, args.change_mib * MiB
    if shutil.disk_usage(tempfile.gettempdir()).free < 5 * size + 2**30:
        print(f"error: {tempfile.gettempdir()} needs {5 * size / 2**30:.1f} GiB free", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hubstead-xet-") as name:
        tmp = Path(name)
        os.environ.update(HF_HOME=str(tmp / "hf-home"), HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_DISABLE_TELEMETRY="1")
        os.environ.pop("HF_HUB_DISABLE_XET", None)
        from huggingface_hub import HfApi, constants, hf_hub_download

        constants.HF_HUB_DISABLE_XET = False
        data_dir = tmp / "data"
        token = setup_accounts(data_dir)
        v1, v2 = tmp / "v1.bin", tmp / "v2.bin"
        with v1.open("wb") as f:  # random throughout: nothing in the first upload deduplicates
            for offset in range(0, size, 64 * MiB):
                f.write(os.urandom(min(64 * MiB, size - offset)))
        shutil.copyfile(v1, v2)
        with v2.open("r+b") as f:
            f.seek(size // 2)
            f.write(os.urandom(change))
        load_before = os.getloadavg()[0]
        with hubstead(data_dir, args.workers) as (url, _), CountingProxy(int(url.rsplit(":", 1)[1])) as proxy:
            endpoint = f"http://127.0.0.1:{proxy.port}"
            api = HfApi(endpoint=endpoint, token=token)
            api.create_repo(REPO)
            runs = []
            for label, path in [("first upload", v1), ("second upload, 1 MiB changed", v2)]:
                with xet_client(tmp, label[:5]):
                    stored, sent, started = tree_size(data_dir / "blobs"), proxy.sent, time.perf_counter()
                    api.upload_file(path_or_fileobj=str(path), path_in_repo=FILE, repo_id=REPO)
                    runs.append(
                        (
                            label,
                            time.perf_counter() - started,
                            proxy.sent - sent,
                            tree_size(data_dir / "blobs") - stored,
                        )
                    )
            commits = [c.commit_id for c in api.list_repo_commits(REPO)]
            checks = []
            for revision, path in [(commits[0], v2), (commits[1], v1)]:
                with xet_client(tmp, f"dl-{revision[:6]}"):
                    got = hf_hub_download(REPO, FILE, revision=revision, endpoint=endpoint, token=token,
                                          cache_dir=tmp / f"dl-{revision[:6]}")  # fmt: skip
                checks.append(_sha256(Path(got)) == _sha256(path))
        floor = hashing_floor(v2)
    (_, t1, s1, g1), (_, t2, s2, g2) = runs
    print(f"\nXet deduplication: a {size / MiB:,.0f} MiB file, then {change / MiB:g} MiB of it changed (127.0.0.1)\n")
    print(f"| {'upload':<32} | {'time':>8} | {'bytes sent':>15} | {'storage growth':>15} |")
    print(f"|{'-' * 34}|{'-' * 10}|{'-' * 17}|{'-' * 17}|")
    for label, seconds, sent_bytes, grown in runs:
        print(f"| {label:<32} | {seconds:6.2f} s | {sent_bytes:>15,} | {grown:>15,} |")
    verdicts = [
        ("bytes sent", s2 / s1, 0.05),
        ("time", t2 / t1, 0.10),
        ("storage growth", g2 / g1, 0.05),
    ]
    print(f"\n| {'second / first':<16} | {'ratio':>8} | {'target':>8} |")
    print(f"|{'-' * 18}|{'-' * 10}|{'-' * 10}|")
    for what, ratio, target in verdicts:
        print(f"| {what:<16} | {ratio:7.2%} | < {target:.0%} {'ok' if ratio < target else 'MISS'} |")
    print(
        f"\nthe client's own work before it can know what to send (hf_xet.hash_files of the changed file, same run): "
        f"{floor:.2f} s = {floor / t1:.1%} of the first upload; the second upload took {t2 / floor:.2f}x that"
    )
    print(f"\nboth versions downloaded through Xet with the right sha256: {all(checks)}")
    print(f"machine load (1-minute average) at the start {load_before:.1f}, at the end {os.getloadavg()[0]:.1f}")
    return 0 if all(checks) and all(r < t for _, r, t in verdicts) else 1


def hashing_floor(path: Path) -> float:
    """What any Xet client pays to upload this file again, sending nothing: chunking and hashing it all."""
    import hf_xet

    started = time.perf_counter()
    hf_xet.hash_files([str(path)])
    return time.perf_counter() - started


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while piece := f.read(8 * MiB):
            digest.update(piece)
    return digest.hexdigest()


if __name__ == "__main__":
    sys.exit(main())
