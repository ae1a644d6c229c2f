"""Website latency at scale: fills a hub with 10,000 repos (bench/search.py's fill, straight into the database),
adds a few real repos with realistic cards and files through the API, then measures the main pages over
HTTP against a live `hubstead serve`: a model page (first view, when its card is rendered, and again), search
pages, files, a commit, next to `/api/health` as the baseline.

    .venv/bin/python bench/web.py [--repos 10000] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")  # this hub speaks LFS; set before huggingface_hub is imported
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import httpx
from huggingface_hub import CommitOperationAdd, HfApi

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import LANGUAGES, TASKS, WORDS, fill, measure, pct, start_server

from hubstead.accounts.models import TokenRole
from hubstead.accounts.services import AccountService
from hubstead.config import Settings
from hubstead.hub import Hub

TARGET_P95_MS = 100.0
REAL_REPOS = 20
HTML = {"accept": "text/html"}


def card(i: int) -> str:
    rows = "\n".join(
        f"| {task} | {0.5 + (i * 7 + n) % 50 / 100:.2f} | {n * 3 + i} |" for n, task in enumerate(TASKS[:10])
    )
    return (
        f"""---
license: apache-2.0
pipeline_tag: {TASKS[i % len(TASKS)]}
library_name: transformers
language: [{LANGUAGES[i % len(LANGUAGES)]}, en]
datasets: [bench/corpus-{i}]
base_model: bench/base-{WORDS[i % len(WORDS)]}
tags: [{WORDS[i % len(WORDS)]}, {WORDS[(i + 3) % len(WORDS)]}]
---
# Model {i}: {WORDS[i % len(WORDS)]}-{WORDS[(i + 5) % len(WORDS)]}

This model was fine-tuned from [the base model](https://example.org/base) on **bench corpus {i}**. It is a
realistic card: headings, a table of results, code, an image from the repo, math kept as text ($y = Wx + b$).

![architecture](images/architecture.png)

## Results

| task | score | samples |
|------|-------|---------|
{rows}

## How to use

```python
from transformers import AutoModel, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("bench/model-{i}")
model = AutoModel.from_pretrained("bench/model-{i}")
inputs = tokenizer("Hello, world!", return_tensors="pt")
outputs = model(**inputs)
print(outputs.last_hidden_state.shape)
```

```bash
hf download bench/model-{i} --local-dir model-{i}
```

## Training

- learning rate: 3e-5, warm-up 10%
- batch size: 32, 3 epochs on 2 GPUs
- <details><summary>Hyper-parameters</summary>seed 42, fp16</details>

## Limitations

The model inherits the biases of its training data. Evaluate it on your own data before use.
"""
        + "\nMore notes: "
        + " ".join(WORDS) * 3
        + "\n"
    )


def seed_real_repos(url: str, token: str) -> list[str]:
    api = HfApi(endpoint=url, token=token)
    ids = []
    for i in range(REAL_REPOS):
        repo_id = f"bench/model-{i}"
        api.create_repo(repo_id)
        files = {
            "README.md": card(i).encode(),
            "config.json": b'{"model_type": "bert", "architectures": ["BertForMaskedLM"], "hidden_size": 768}',
            "tokenizer.json": b'{"version": "1.0", "model": {"type": "WordPiece"}}' * 50,
            "src/train.py": b"import torch\n\n\ndef train(model, data):\n    for batch in data:\n        model(batch)\n"
            * 20,
            "images/architecture.png": b"\x89PNG\r\n\x1a\n" + bytes(200),
            "model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " + bytes(4096),
        }
        api.create_commit(repo_id, [CommitOperationAdd(p, c) for p, c in files.items()], commit_message="Add model")
        api.upload_file(path_or_fileobj=b"print('v2')\n", path_in_repo="src/extra.py", repo_id=repo_id)
        ids.append(repo_id)
    return ids


def first_views(client: httpx.Client, paths: list[str]) -> list[float]:
    timings = []
    for path in paths:
        start = time.perf_counter()
        response = client.get(path, headers=HTML)
        timings.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp data dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubstead-bench-web-") as tmp:
        data_dir = Path(tmp) / "data"
        hub = Hub.from_settings(Settings(data_dir=data_dir, database_url=args.database_url))
        started = time.perf_counter()
        fill(hub, args.repos)
        with hub.sessions.begin() as session:
            accounts = AccountService(session)
            _, token = accounts.create_token(
                accounts.create_user("bench", password="bench-password"), "bench", TokenRole.WRITE
            )
        hub.close()
        print(f"filled {args.repos:,} repos in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        process, url = start_server(data_dir, args.database_url)
        try:
            repo_ids = seed_real_repos(url, token)
            with httpx.Client(base_url=url, timeout=30, headers=HTML) as client:
                rows = run_pages(client, repo_ids, args.requests)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print_table(rows, args.repos)
    return 0 if all(p95 < TARGET_P95_MS for label, _, p95 in rows[1:]) else 1


def run_pages(client: httpx.Client, repo_ids: list[str], n: int) -> list[tuple[str, float, float]]:
    models = [f"/{r}" for r in repo_ids]
    # the process's very first page pays one-time costs (the ORM compiling its statements, lazy imports):
    # take it on one model, then view the others once each, which is when their cards are rendered
    warm_up = first_views(client, models[:1])
    first = first_views(client, models[1:])
    print(f"first page served: {warm_up[0]:.0f} ms", file=sys.stderr)
    commit = client.get(f"/api/models/{repo_ids[0]}/commits/main").json()[0]["id"]
    pages = {
        "baseline: GET /api/health": ["/api/health"],
        "model page (card cached)": models,
        "search: /models (trending)": ["/models"],
        "search: text": [f"/models?search={w}" for w in WORDS if len(w) >= 3],
        "search: task + downloads sort": [f"/models?pipeline_tag={t}&sort=downloads" for t in TASKS],
        "search: library + language + licence": [
            f"/models?library=transformers&language={lang}&license=mit" for lang in LANGUAGES
        ],
        "search: author": [f"/models?author=user{i:04d}" for i in range(0, 1000, 37)],
        "datasets by language": [f"/datasets?language={lang}&sort=likes" for lang in LANGUAGES],
        "home": ["/"],
        "files: tree": [f"{m}/tree/main" for m in models],
        "files: a highlighted file": [f"{m}/blob/main/src/train.py" for m in models],
        "commit list": [f"{m}/commits/main" for m in models],
        f"one commit's diff ({repo_ids[0]})": [f"/{repo_ids[0]}/commit/{commit}"],
        "user page": [f"/user{i:04d}" for i in range(0, 1000, 37)],
    }
    for paths in pages.values():  # warm up: templates compiled, caches filled
        measure(client, paths, len(paths))
    rows = []
    for label, paths in pages.items():
        timings = measure(client, paths, n)
        rows.append((label, pct(timings, 50), pct(timings, 95)))
        if label.startswith("baseline"):
            rows.append((f"model page, first view ({len(first)} cards rendered)", pct(first, 50), pct(first, 95)))
    return rows


def print_table(rows: list[tuple[str, float, float]], n_repos: int) -> None:
    print(
        f"\nWebsite latency over HTTP (client-side, so an upper bound of server time), {n_repos:,} repos, "
        f"target p95 < {TARGET_P95_MS:.0f} ms\n"
    )
    print(f"| {'page':<48} | {'p50 ms':>7} | {'p95 ms':>7} | {'target':>6} |")
    print(f"|{'-' * 50}|{'-' * 9}|{'-' * 9}|{'-' * 8}|")
    for label, p50, p95 in rows:
        verdict = "-" if label.startswith("baseline") else ("ok" if p95 < TARGET_P95_MS else "MISS")
        print(f"| {label:<48} | {p50:7.2f} | {p95:7.2f} | {verdict:>6} |")


if __name__ == "__main__":
    sys.exit(main())
