"""Search latency at scale: fills a hub with 100,000 repos carrying realistic cards, then measures the
common listing queries over HTTP against a live `hubstead serve`, next to the hub's cheapest endpoint
(`/api/health`) measured in the same run as the baseline.

    .venv/bin/python bench/search.py [--repos 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text

from hubstead.accounts.models import Account, AccountType
from hubstead.config import Settings
from hubstead.hub import Hub
from hubstead.repos.indexing import derive_facts
from hubstead.repos.models import Repo, RepoTag, RepoType
from hubstead.repos.search import tag_token

TASKS = [
    "text-classification",
    "text-generation",
    "token-classification",
    "question-answering",
    "fill-mask",
    "translation",
    "summarization",
    "image-classification",
    "automatic-speech-recognition",
    "sentence-similarity",
    "object-detection",
    "text-to-image",
    "feature-extraction",
    "zero-shot-classification",
]
LIBRARIES = ["transformers", "sentence-transformers", "diffusers", "timm", "peft", "sklearn", "gguf", "onnx"]
LANGUAGES = ["en", "fr", "de", "es", "zh", "ja", "ar", "ru", "pt", "it", "hi", "ko"]
LICENSES = ["apache-2.0", "mit", "cc-by-4.0", "openrail", "llama3", "other", "bsd-3-clause", "gpl-3.0"]
WORDS = [
    "bert",
    "roberta",
    "gpt",
    "llama",
    "mistral",
    "t5",
    "bart",
    "vit",
    "whisper",
    "clip",
    "deberta",
    "qwen",
    "phi",
    "gemma",
    "electra",
    "xlm",
    "distil",
    "tiny",
    "base",
    "large",
    "small",
    "instruct",
    "chat",
    "ft",
    "sentiment",
    "ner",
    "squad",
    "imdb",
    "wiki",
    "code",
    "math",
    "medical",
    "legal",
    "finance",
    "v2",
    "v3",
]
TARGET_P95_MS = 25.0


def zipf_choice(rng: random.Random, items: list[str], skew: float = 1.1) -> str:
    weights = [1 / (i + 1) ** skew for i in range(len(items))]
    return rng.choices(items, weights)[0]


def make_card(rng: random.Random, repo_type: RepoType) -> dict[str, Any]:
    langs = rng.sample(LANGUAGES, k=rng.choice([1, 1, 1, 2, 3]))
    card: dict[str, Any] = {
        "license": zipf_choice(rng, LICENSES),
        "language": langs,
        "tags": rng.sample(WORDS, k=rng.randint(0, 3)),
    }
    if repo_type is RepoType.MODEL:
        card |= {"pipeline_tag": zipf_choice(rng, TASKS), "library_name": zipf_choice(rng, LIBRARIES)}
        if rng.random() < 0.3:
            card["datasets"] = rng.sample(["imdb", "squad", "glue", "wikitext", "c4", "common_voice"], k=1)
        if rng.random() < 0.2:
            card["base_model"] = f"user{rng.randrange(1000):04d}/base-{rng.choice(WORDS)}"
    elif repo_type is RepoType.DATASET:
        card |= {"task_categories": [zipf_choice(rng, TASKS)], "size_categories": ["10K<n<100K"]}
    else:
        card["sdk"] = rng.choice(["gradio", "streamlit", "static"])
    return card


def fill(hub: Hub, n_repos: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    with hub.engine.begin() as conn:
        conn.execute(
            insert(Account),
            [
                {
                    "name": f"user{i:04d}",
                    "name_key": f"user{i:04d}",
                    "type": AccountType.USER,
                    "fullname": f"User {i}",
                    "is_admin": False,
                    "disabled": False,
                    "created_at": now,
                }
                for i in range(1000)
            ],
        )
    owner_ids = {f"user{i:04d}": i + 1 for i in range(1000)}
    repo_rows, tag_rows = [], []
    tags_by_repo: dict[int, list[str]] = {}
    for pk in range(1, n_repos + 1):
        repo_type = RepoType.MODEL if pk % 20 < 16 else RepoType.DATASET if pk % 20 < 19 else RepoType.SPACE
        owner = f"user{int(rng.paretovariate(0.8)) % 1000:04d}"
        name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{pk}"
        card = make_card(rng, repo_type)
        facts = derive_facts(
            repo_type,
            card,
            ["config.json", "model.safetensors"] if repo_type is RepoType.MODEL else [],
            {"model_type": "bert"} if repo_type is RepoType.MODEL else None,
        )
        created = now - timedelta(days=rng.uniform(0, 900))
        downloads = int(rng.paretovariate(0.6)) - 1
        repo_rows.append(
            {
                "id": pk,
                "type": repo_type,
                "namespace": owner,
                "name": name,
                "id_key": f"{owner}/{name}".lower(),
                "owner_id": owner_ids[owner],
                "private": rng.random() < 0.05,
                "created_at": created,
                "last_modified": created + timedelta(days=rng.uniform(0, 30)),
                "card_data": card,
                "pipeline_tag": facts.pipeline_tag,
                "library_name": facts.library_name,
                "model_type": facts.model_type,
                "tags": facts.tags,
                "downloads": downloads,
                "downloads_all_time": downloads * 3,
                "likes": int(rng.paretovariate(1.2)) - 1,
                "trending_score": int(rng.paretovariate(1.0)) - 1,
                "head_sha": f"{pk:040x}",
            }
        )
        tag_rows += [{"repo_id": pk, "tag": t} for t in facts.search_tags]
        tags_by_repo[pk] = sorted(facts.search_tags)
    with hub.engine.begin() as conn:
        for start in range(0, len(repo_rows), 5000):
            conn.execute(insert(Repo), repo_rows[start : start + 5000])
        for start in range(0, len(tag_rows), 20000):
            conn.execute(insert(RepoTag), tag_rows[start : start + 20000])
        if hub.engine.dialect.name == "sqlite":
            tokens = [{"id": pk, "tokens": " ".join(tag_token(t) for t in tags)} for pk, tags in tags_by_repo.items()]
            conn.execute(text("INSERT INTO repo_tag_search(rowid, tokens) VALUES (:id, :tokens)"), tokens)
        conn.execute(text("ANALYZE"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, database_url: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, HUBSTEAD_DATA_DIR=str(data_dir))
    if database_url:
        env["HUBSTEAD_DATABASE_URL"] = database_url
    exe = Path(sys.executable).parent / "hubstead"
    process = subprocess.Popen([str(exe), "serve", "--port", str(port), "--log-level", "warning"], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/api/health").status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def measure(client: httpx.Client, paths: list[str], requests: int) -> list[float]:
    timings = []
    for i in range(requests):
        start = time.perf_counter()
        response = client.get(paths[i % len(paths)])
        timings.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    return timings


def deep_pages(client: httpx.Client, first: str, pages: int) -> tuple[list[float], int]:
    timings, url, seen = [], first, 0
    for _ in range(pages):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        seen += len(response.json())
        link = response.headers.get("link")
        if not link:
            break
        url = link[1 : link.index(">")]
    return timings, seen


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp data dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubstead-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        hub = Hub.from_settings(Settings(data_dir=data_dir, database_url=args.database_url))
        started = time.perf_counter()
        fill(hub, args.repos)
        hub.close()
        print(f"filled {args.repos:,} repos in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        process, url = start_server(data_dir, args.database_url)
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                rows = run_queries(client, args.requests)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print_table(rows, args.repos)
    return 0 if all(r[2] < TARGET_P95_MS for r in rows[1:]) else 1


def run_queries(client: httpx.Client, n: int) -> list[tuple[str, float, float]]:
    queries = {
        "baseline: GET /api/health": ["/api/health"],
        "task filter + downloads sort": [f"/api/models?filter={t}&sort=downloads&limit=20" for t in TASKS],
        "pipeline_tag + likes sort": [f"/api/models?pipeline_tag={t}&sort=likes&limit=20" for t in TASKS],
        "tags combined (task+lang+licence)": [
            f"/api/models?filter={t}&filter={lang}&filter=license:mit&sort=downloads&limit=20"
            for t in TASKS[:6]
            for lang in LANGUAGES[:4]
        ],
        "author": [f"/api/models?author=user{i:04d}&limit=20" for i in range(0, 1000, 37)],
        "text search (3+ chars, FTS)": [f"/api/models?search={w}&limit=20" for w in WORDS if len(w) >= 3],
        "text search + sort": [f"/api/models?search={w}&sort=downloads&limit=20" for w in WORDS if len(w) >= 3],
        "datasets by language": [f"/api/datasets?filter=language:{lang}&sort=downloads&limit=20" for lang in LANGUAGES],
        "recently updated": ["/api/models?sort=lastModified&limit=20"],
    }
    for paths in queries.values():  # warm caches once
        measure(client, paths, len(paths))
    rows = []
    for label, paths in queries.items():
        timings = measure(client, paths, n)
        rows.append((label, pct(timings, 50), pct(timings, 95)))
    deep, seen = deep_pages(client, "/api/models?sort=downloads&limit=100", 60)
    rows.append((f"deep pagination (60 pages of 100, {seen:,} repos)", pct(deep, 50), pct(deep, 95)))
    return rows


def print_table(rows: list[tuple[str, float, float]], n_repos: int) -> None:
    base_p95 = rows[0][2]
    print(f"\nSearch latency over HTTP, {n_repos:,} repos, target p95 < {TARGET_P95_MS:.0f} ms\n")
    print(f"| {'query':<48} | {'p50 ms':>7} | {'p95 ms':>7} | {'p95 / baseline':>14} | {'target':>6} |")
    print(f"|{'-' * 50}|{'-' * 9}|{'-' * 9}|{'-' * 16}|{'-' * 8}|")
    for label, p50, p95 in rows:
        verdict = "-" if label.startswith("baseline") else ("ok" if p95 < TARGET_P95_MS else "MISS")
        print(f"| {label:<48} | {p50:7.2f} | {p95:7.2f} | {p95 / base_p95:13.1f}x | {verdict:>6} |")


if __name__ == "__main__":
    sys.exit(main())
