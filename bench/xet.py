"""Xet deduplication: upload a large model file through Xet, change 1 MiB in its middle, upload it again.

The second upload should send only the changed chunks: the table gives the bytes each upload sent to the server
(counted by a TCP proxy between client and server), its time, and how much the server's storage grew, with the
second upload against the first as the baseline, over loopback and over links the proxy shapes to a rate and
a round-trip time (each link with a fresh hub). Then both versions are downloaded through Xet and checked.

    .venv/bin/python bench/xet.py [--size-mib 1024] [--change-mib 1] [--links loopback,1000/1,100/20]
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
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from limits import free_port, hubstead, setup_accounts

MiB = 1024 * 1024
PIECE = 64 * 1024  # forwarded at a time over a shaped link
BURST = 0.002  # seconds of a shaped link's idle time that may be caught up at once
REPO = "bench/xet"
FILE = "model.safetensors"


@dataclass(frozen=True)
class Link:
    """The network between client and server: loopback as it is, or shaped to a rate and a round-trip time."""

    name: str
    mbit: float | None = None
    rtt_ms: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Link:
        """``loopback``, or ``<Mbit/s>/<RTT ms>`` such as ``1000/1``."""
        if text == "loopback":
            return cls("127.0.0.1 (loopback)")
        mbit, _, rtt = text.partition("/")
        rate, delay = float(mbit), float(rtt or 0)
        speed = f"{rate / 1000:g} Gbit/s" if rate >= 1000 else f"{rate:g} Mbit/s"
        return cls(f"{speed}, {delay:g} ms RTT", rate, delay)


class LinkProxy:
    """Forwards 127.0.0.1:port to the server, counting the bytes clients send. When the link has a rate, each
    direction is one shared pipe of that many bits per second (every connection competes for it, as parallel
    xorb uploads do on a real link) that delivers each piece half a round trip after it left; reading pauses
    when a few MiB wait, so that TCP flow control slows the sender, as a full link would."""

    def __init__(self, target_port: int, link: Link) -> None:
        self.target_port, self.link = target_port, link
        self.port = free_port()
        self.sent = 0
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.free_at = {True: 0.0, False: 0.0}  # per direction: when the pipe has sent all it was given

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool) -> None:
        shaped = self.link.mbit is not None
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=16 if shaped else 1)

        async def deliver() -> None:
            broken = False  # the other side went away: what still comes is dropped
            while (item := await queue.get())[1]:
                if broken:
                    continue
                due, data = item
                try:
                    if shaped:
                        await self._send_time(data, upstream, due)
                    writer.write(data)
                    await writer.drain()
                except ConnectionError:
                    broken = True
            writer.close()

        delivering = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(PIECE if shaped else 1 << 20):
                if upstream:
                    self.sent += len(data)
                await queue.put((self.loop.time() + self.link.rtt_ms / 2000, data))
        except ConnectionError:
            pass
        await queue.put((0.0, b""))
        await delivering

    async def _send_time(self, data: bytes, upstream: bool, due: float) -> None:
        """Wait until the piece has crossed the link: its one-way delay, then its turn on the shared pipe.
        Up to BURST seconds of the pipe's idle time may be caught up, so that timer overshoot costs no rate."""
        assert self.link.mbit is not None
        now = self.loop.time()
        if due > now:
            await asyncio.sleep(due - now)
            now = self.loop.time()
        self.free_at[upstream] = max(self.free_at[upstream], now - BURST) + len(data) * 8 / (self.link.mbit * 1e6)
        if self.free_at[upstream] > now:
            await asyncio.sleep(self.free_at[upstream] - now)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
            await asyncio.gather(self._pipe(reader, up_writer, True), self._pipe(up_reader, writer, False))
        except asyncio.CancelledError:  # the proxy is stopping: end quietly (a cancelled handler gets logged)
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", self.port))
        self.started.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()

    def __enter__(self) -> LinkProxy:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.started.wait()
        return self

    def __exit__(self, *_: object) -> None:
        async def stop() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(stop(), self.loop)
        self.thread.join()
        self.loop.close()


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@contextmanager
def xet_client(tmp: Path, name: str) -> Iterator[None]:
    """A fresh hf_xet session with its own cache: a new machine, which knows nothing of earlier uploads."""
    from huggingface_hub.utils import _xet

    cache = tmp / f"xet-cache-{name}"
    os.environ["HF_XET_CACHE"] = str(cache)
    _xet._GLOBAL_XET_HOLDER._session = None
    try:
        yield
    finally:
        _xet._GLOBAL_XET_HOLDER._session = None
        shutil.rmtree(cache, ignore_errors=True)


@dataclass
class Upload:
    seconds: float
    sent: int  # bytes the client sent, requests and all
    grown: int  # bytes the server's blob store grew by


def measure(link: Link, v1: Path, v2: Path, tmp: Path, workers: int, check: bool) -> tuple[Upload, Upload, bool]:
    """Both uploads over ``link`` to a fresh hub (nothing of an earlier link's uploads to deduplicate against),
    each by a fresh client; with ``check``, both versions downloaded back through Xet and compared."""
    from huggingface_hub import HfApi, hf_hub_download

    data_dir = tmp / "data"
    token = setup_accounts(data_dir)
    try:
        with hubstead(data_dir, workers) as (url, _), LinkProxy(int(url.rsplit(":", 1)[1]), link) as proxy:
            endpoint = f"http://127.0.0.1:{proxy.port}"
            api = HfApi(endpoint=endpoint, token=token)
            api.create_repo(REPO)
            uploads = []
            for name, path in [("first", v1), ("second", v2)]:
                with xet_client(tmp, name):
                    stored, sent, started = tree_size(data_dir / "blobs"), proxy.sent, time.perf_counter()
                    api.upload_file(path_or_fileobj=str(path), path_in_repo=FILE, repo_id=REPO)
                    seconds = time.perf_counter() - started
                    uploads.append(Upload(seconds, proxy.sent - sent, tree_size(data_dir / "blobs") - stored))
            right = True
            if check:
                commits = [c.commit_id for c in api.list_repo_commits(REPO)]
                for revision, path in [(commits[0], v2), (commits[1], v1)]:
                    with xet_client(tmp, f"dl-{revision[:6]}"):
                        got = hf_hub_download(REPO, FILE, revision=revision, endpoint=endpoint, token=token,
                                              cache_dir=tmp / f"dl-{revision[:6]}")  # fmt: skip
                    right = right and _sha256(Path(got)) == _sha256(path)
                    shutil.rmtree(tmp / f"dl-{revision[:6]}")
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return uploads[0], uploads[1], right


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--change-mib", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--links",
        default="loopback,1000/1,100/20",
        help="comma-separated: 'loopback', or '<Mbit/s>/<round trip ms>' for a link the proxy shapes "
        "(default: loopback, a 1 Gbit/s LAN and a 100 Mbit/s line to a hub 20 ms away)",
    )
    args = parser.parse_args()
    size, change = args.size_mib * MiB, args.change_mib * MiB
    links = [Link.parse(text) for text in args.links.split(",")]
    if shutil.disk_usage(tempfile.gettempdir()).free < 5 * size + 2**30:
        print(f"error: {tempfile.gettempdir()} needs {5 * size / 2**30:.1f} GiB free", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hubstead-xet-") as name:
        tmp = Path(name)
        os.environ.update(HF_HOME=str(tmp / "hf-home"), HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_DISABLE_TELEMETRY="1")
        os.environ.pop("HF_HUB_DISABLE_XET", None)
        from huggingface_hub import constants

        constants.HF_HUB_DISABLE_XET = False
        v1, v2 = tmp / "v1.bin", tmp / "v2.bin"
        with v1.open("wb") as f:  # random throughout: nothing in the first upload deduplicates
            for offset in range(0, size, 64 * MiB):
                f.write(os.urandom(min(64 * MiB, size - offset)))
        shutil.copyfile(v1, v2)
        with v2.open("r+b") as f:
            f.seek(size // 2)
            f.write(os.urandom(change))
        load_before = os.getloadavg()[0]
        results = [(link, *measure(link, v1, v2, tmp, args.workers, check=i == 0)) for i, link in enumerate(links)]
        floor = hashing_floor(v2)
    print(f"\nXet deduplication: a {size / MiB:,.0f} MiB file, then {change / MiB:g} MiB of it changed\n")
    print(
        f"| {'link':<26} | {'first upload':>12} | {'second':>8} | {'time 2nd/1st':>14} "
        f"| {'bytes sent 1st / 2nd':>28} | {'2nd/1st':>12} | {'storage growth 1st / 2nd':>28} | {'2nd/1st':>12} |"
    )
    print(f"|{'-' * 28}|{'-' * 14}|{'-' * 10}|{'-' * 16}|{'-' * 30}|{'-' * 14}|{'-' * 30}|{'-' * 14}|")
    missed = []
    for link, first, second, _ in results:
        ratios = [
            ("time", second.seconds / first.seconds, 0.10),
            ("bytes sent", second.sent / first.sent, 0.05),
            ("storage growth", second.grown / first.grown, 0.05),
        ]
        verdict = {w: f"{r:6.2%} {'ok' if r < t else 'MISS'}" for w, r, t in ratios}
        missed += [f"{w} over {link.name}" for w, r, t in ratios if r >= t]
        print(
            f"| {link.name:<26} | {first.seconds:10.2f} s | {second.seconds:6.2f} s | {verdict['time']:>14} "
            f"| {first.sent:>14,} / {second.sent:>11,} | {verdict['bytes sent']:>12} "
            f"| {first.grown:>14,} / {second.grown:>11,} | {verdict['storage growth']:>12} |"
        )
    print("\ntargets: the second upload sends < 5% of the bytes, takes < 10% of the time, grows storage < 5%")
    first_loopback = next((first for link, first, _, _ in results if link.mbit is None), None)
    print(
        f"\nthe client's own work before it can know what to send (hf_xet.hash_files of the changed file, same run): "
        f"{floor:.2f} s"
        + (f" = {floor / first_loopback.seconds:.1%} of the first upload over loopback" if first_loopback else "")
    )
    right = all(r for *_, r in results)
    print(f"both versions downloaded through Xet ({links[0].name}) with the right sha256: {right}")
    print(f"missed: {', '.join(missed) or 'none'}")
    print(f"machine load (1-minute average) at the start {load_before:.1f}, at the end {os.getloadavg()[0]:.1f}")
    return 0 if right and not missed else 1


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
