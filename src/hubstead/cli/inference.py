"""``hubstead inference-worker --hub URL``: serve the inference API's models for a hub, on this machine or any
other. The worker is a client of the hub (its public API only): it needs the hub's address, not its database.
It needs the ``inference`` extra (torch, transformers)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("inference-worker", help="run models for a hub's inference API")
    parser.add_argument("--hub", required=True, help="the hub's address, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", default=os.environ.get("HUBSTEAD_INFERENCE_TOKEN"), help="for calls without one")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--cache-dir", default=None, help="where weights are downloaded (default: under data dir)")
    parser.add_argument("--memory-mb", type=int, default=4096, help="weights kept loaded (LRU beyond)")
    parser.add_argument("--key", default=os.environ.get("HUBSTEAD_INFERENCE__WORKER_KEY"), help="shared with the hub")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: the machine's cores)")
    parser.set_defaults(func=run_inference_worker)


def run_inference_worker(args: argparse.Namespace) -> int:
    # OpenMP's threads sleep rather than spin while they wait: on a machine whose cores other processes share (the
    # hub, its clients), spinning threads get preempted at every barrier and a forward pass takes 10x longer
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
        import uvicorn
    except ImportError:
        print("error: the inference worker needs `pip install hubstead[inference]`", file=sys.stderr)
        return 2
    from hubstead.inference.server import create_worker_app
    from hubstead.inference.services import InferenceService, WorkerConfig

    if args.threads:
        torch.set_num_threads(args.threads)
    cache = Path(args.cache_dir or Path(args.data_dir or "hubstead-data") / "inference-cache")
    config = WorkerConfig(args.hub, cache, args.token, memory_budget_bytes=args.memory_mb * 1024 * 1024)
    app = create_worker_app(InferenceService(config), args.key)
    print(f"inference worker for {args.hub} listening on http://{args.host}:{args.port}", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
