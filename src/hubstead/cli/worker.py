"""``hubstead worker``: a process that runs background jobs, on this machine or any other that reaches the hub's
database and blob store (the same ``HUBSTEAD_*`` settings as the server). SIGTERM or Ctrl-C stops it gracefully:
running jobs get ``HUBSTEAD_JOBS__SHUTDOWN_GRACE_SECONDS`` to finish, then are handed back; a second signal
hands them back at once."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

from hubstead.cli.admin import CliError
from hubstead.config import Settings
from hubstead.db import migrate
from hubstead.hub import Hub


def _names(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [name.strip() for name in text.split(",") if name.strip()] or None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def run_worker(args: argparse.Namespace) -> int:
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    hub = Hub.from_settings(settings, migrate_db=False)
    try:
        if not migrate.is_current(hub.engine):
            raise CliError("the database schema is not current: run `hubstead migrate` (or `hubstead serve`) first")
        try:
            worker = hub.make_worker(_names(args.kinds), args.concurrency)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if stop.is_set():
                worker.hurry()
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        worker.start()
        print(
            f"worker {worker.worker_id} runs {', '.join(worker.kinds) or 'nothing'} "
            f"with {worker.concurrency} thread(s)",
            file=sys.stderr,
            flush=True,
        )
        while not stop.wait(1.0):
            pass
        print(f"stopping: running jobs get {settings.jobs.shutdown_grace_seconds:g} s to finish", file=sys.stderr)
        worker.stop()
    finally:
        hub.close()
    return 0


def add_parser(sub: Any) -> None:
    worker = sub.add_parser("worker", help="run background jobs (as many of these as you like, anywhere)")
    worker.add_argument(
        "--kinds",
        help="comma-separated pools or job kinds to run, e.g. 'train' (default: HUBSTEAD_JOBS__KINDS, or the "
        "default pool)",
    )
    worker.add_argument(
        "--concurrency", type=_positive, default=None, help="jobs run at once (default: HUBSTEAD_JOBS__CONCURRENCY, 1)"
    )
    worker.set_defaults(func=run_worker)
