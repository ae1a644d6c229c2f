"""The dataset viewer at scale: a dataset of N rows (a text and two numeric columns, one parquet file) pushed to a
live `hubstead serve`, then

- conversion time (the `datasets.convert` job: read, shard to parquet on refs/convert/parquet, DuckDB index with a
  full-text table and statistics) against DuckDB's own `COPY ... TO parquet` of the same rows (the floor);
- `/rows` p95 at offsets 0, middle and end (target < 100 ms), `/search` p95 (target < 1 s), `/filter` p95
  (target < 500 ms), with `/api/health` as the baseline;
- the server's peak memory (its resident set, read from /proc while it converts and serves).

    .venv/bin/python bench/datasets.py [--rows 10000000] [--requests 50]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
from huggingface_hub import HfApi

from hubstead.accounts.models import TokenRole
from hubstead.accounts.services import AccountService
from hubstead.config import Settings
from hubstead.hub import Hub

sys.path.insert(0, str(Path(__file__).parent))
from search import pct, start_server

WORDS = [f"{c}{v}" for c in "bcdfgklmnprst" for v in "aiu"]  # 39 syllables
TARGETS_MS = {"rows": 100.0, "search": 1000.0, "filter": 500.0}


def make_table(rows: int, seed: int = 7) -> pa.Table:
    rng = random.Random(seed)
    vocabulary = [f"{a}{b}" for a in WORDS for b in WORDS]  # 676 words
    texts = [" ".join(rng.choices(vocabulary, k=8)) for _ in range(min(rows, 100_000))]
    column = [texts[i % len(texts)] for i in range(rows - 1)] + ["the last row holds a needle"]
    return pa.table(
        {
            "text": column,
            "value": pa.array(range(rows), pa.int64()),
            "score": pa.array([(i * 7919) % 1000 / 10 for i in range(rows)]),
        }
    )


class PeakMemory(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)
            except OSError:
                return
            time.sleep(0.05)


def duckdb_floor(source: Path, out: Path) -> float:
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_parquet('{source}')) TO '{out}' (FORMAT parquet)")
    con.close()
    return time.perf_counter() - start


def measure(client: httpx.Client, path: str, params: list[dict[str, object]], n: int) -> list[float]:
    timings = []
    for i in range(n):
        start = time.perf_counter()
        response = client.get(path, params=params[i % len(params)])
        timings.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return timings


def wait_converted(client: httpx.Client, dataset: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/datasets-server/splits", params={"dataset": dataset}).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError("the conversion did not finish")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubstead-bench-datasets-") as tmp:
        data_dir = Path(tmp) / "data"
        hub = Hub.from_settings(Settings(data_dir=data_dir))
        with hub.sessions.begin() as session:
            accounts = AccountService(session)
            _, token = accounts.create_token(
                accounts.create_user("bench", password="bench-password"), "b", TokenRole.WRITE
            )
        hub.close()
        source = Path(tmp) / "train.parquet"
        pq.write_table(make_table(args.rows), source)
        floor = duckdb_floor(source, Path(tmp) / "floor.parquet")
        process, url = start_server(data_dir, None)
        memory = PeakMemory(process.pid)
        memory.start()
        try:
            api = HfApi(endpoint=url, token=token)
            dataset = api.create_repo("bench/big", repo_type="dataset").repo_id
            api.upload_file(
                path_or_fileobj=str(source), path_in_repo="data/train.parquet", repo_id=dataset, repo_type="dataset"
            )
            started = time.perf_counter()
            with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {token}"}) as client:
                wait_converted(client, dataset, 3 * 3600)
                conversion = time.perf_counter() - started
                rows = run_queries(client, dataset, args.rows, args.requests)
        finally:
            memory.stopped.set()
            process.terminate()
            process.wait(timeout=30)
    print_report(args.rows, conversion, floor, rows, memory.peak)
    return 0 if all(p95 < TARGETS_MS.get(kind, 1e9) for kind, _, _, p95 in rows) else 1


def run_queries(client: httpx.Client, dataset: str, n_rows: int, n: int) -> list[tuple[str, str, float, float]]:
    base = {"dataset": dataset, "config": "default", "split": "train"}
    rng = random.Random(3)
    queries = {
        ("health", "baseline: GET /api/health"): ("/api/health", [{}]),
        ("rows", "/rows offset 0"): ("/datasets-server/rows", [base | {"offset": 0, "length": 100}]),
        ("rows", "/rows middle"): ("/datasets-server/rows", [base | {"offset": n_rows // 2, "length": 100}]),
        ("rows", "/rows end"): ("/datasets-server/rows", [base | {"offset": max(0, n_rows - 100), "length": 100}]),
        ("search", "/search one word"): (
            "/datasets-server/search",
            [base | {"query": f"{rng.choice(WORDS)}{rng.choice(WORDS)}", "length": 100} for _ in range(20)],
        ),
        ("search", "/search the last row (rare word)"): ("/datasets-server/search", [base | {"query": "needle"}]),
        ("filter", "/filter value range"): (
            "/datasets-server/filter",
            [
                base | {"where": f'"value" >= {v} AND "value" < {v + 50}'}
                for v in range(0, n_rows, max(1, n_rows // 20))
            ],
        ),
        ("filter", "/filter + orderby score"): (
            "/datasets-server/filter",
            [base | {"where": '"score" > 99.5', "orderby": '"score" DESC', "length": 100}],
        ),
    }
    out = []
    for (kind, label), (path, params) in queries.items():
        measure(client, path, params, min(3, n))  # warm up
        timings = measure(client, path, params, n)
        out.append((kind, label, pct(timings, 50), pct(timings, 95)))
    return out


def print_report(
    n_rows: int, conversion: float, floor: float, rows: list[tuple[str, str, float, float]], peak: int
) -> None:
    print(f"\nDataset viewer, {n_rows:,} rows (text + 2 numeric columns)\n")
    print(f"conversion job (parquet shards, commit, DuckDB index, statistics): {conversion:.1f} s")
    print(f"DuckDB COPY ... TO parquet of the same rows (the floor): {floor:.1f} s ({conversion / floor:.1f}x)")
    print(f"peak server memory (RSS): {peak / 2**20:.0f} MiB\n")
    print(f"| {'query':<36} | {'p50 ms':>8} | {'p95 ms':>8} | {'target':>8} |")
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
    for kind, label, p50, p95 in rows:
        target = TARGETS_MS.get(kind)
        verdict = "-" if target is None else ("ok" if p95 < target else "MISS")
        print(f"| {label:<36} | {p50:8.1f} | {p95:8.1f} | {verdict:>8} |")
    print(file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
