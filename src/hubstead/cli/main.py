"""``hubstead serve | worker | migrate | admin ... | xet ...``. Admin commands print only what scripts need."""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hubstead.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

MALLOC_MMAP_THRESHOLD = 1024 * 1024
MALLOC_ARENA_MAX = 2


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:

    from hubstead.connections import connection_ceiling, raise_open_files_limit, server_options

    settings = _settings(args)
    if args.no_worker:
        settings = settings.model_copy(update={"jobs": settings.jobs.model_copy(update={"in_process_worker": False})})
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    options: dict[str, Any] = {"host": host, "port": port, "log_level": args.log_level}
    options |= {"proxy_headers": True, "server_header": False}
    open_files = raise_open_files_limit()  # before the server processes start: they inherit it
    options |= server_options(settings.connections)
    print(f"Hubstead {settings.data_dir.resolve()} listening on http://{host}:{port}", file=sys.stderr)
    limits = settings.connections
    print(
        f"connections: at most {limits.per_client} per client and {connection_ceiling(limits.total)} in all "
        f"per process (open files limit {open_files})",
        file=sys.stderr,
    )
    _tune_malloc()
    settings, inference = _start_inference_worker(settings, host, port)
    try:
        _run_server(args, settings, options)
    finally:
        if inference is not None:
            _stop_process(inference, 20)
    return 0


def _start_inference_worker(
    settings: Settings, host: str, port: int
) -> tuple[Settings, subprocess.Popen[bytes] | None]:
    """One ``hubstead inference-worker`` beside the hub, unless the settings name one elsewhere or turn it off
    (or the inference extra is missing: the inference API then answers 503)."""
    inference = settings.inference
    if not inference.enabled or inference.worker_url or not inference.local_worker:
        return settings, None
    import importlib.util

    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        print("inference: no torch/transformers here (pip install hubstead[inference]); API off", file=sys.stderr)
        return settings, None
    worker_port = inference.worker_port or port + 1
    hub_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    command = [sys.executable, "-m", "hubstead.cli.main", "--data-dir", str(settings.data_dir.resolve())]
    command += ["inference-worker", "--hub", f"http://{hub_host}:{port}", "--port", str(worker_port)]
    command += ["--memory-mb", str(inference.memory_budget_mb)]
    process = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent)
    url = f"http://127.0.0.1:{worker_port}"
    print(f"inference worker at {url}", file=sys.stderr)
    update = {"inference": inference.model_copy(update={"worker_url": url})}
    return settings.model_copy(update=update), process


def _stop_process(process: subprocess.Popen[bytes], grace: float) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _run_server(args: argparse.Namespace, settings: Settings, options: dict[str, Any]) -> None:
    import uvicorn

    if args.workers > 1:
        rate_limit = settings.rate_limit
        if rate_limit.enabled and rate_limit.backend == "memory":
            print(
                f"note: rate limits are counted per worker process ({args.workers} of them), so a client may make up "
                "to that many times its budget; HUBSTEAD_RATE_LIMIT__BACKEND=redis counts them together",
                file=sys.stderr,
            )
        _prepare_for_workers(settings)
        jobs = _start_job_worker(settings) if settings.jobs.in_process_worker else None
        os.environ["HUBSTEAD_JOBS__IN_PROCESS_WORKER"] = "false"  # the server processes run none themselves
        if settings.inference.worker_url:  # the local inference worker, for the server processes
            os.environ["HUBSTEAD_INFERENCE__WORKER_URL"] = settings.inference.worker_url
        try:
            uvicorn.run("hubstead.cli.main:worker_app", factory=True, workers=args.workers, **options)
        finally:
            if jobs is not None:
                _stop_job_worker(jobs, settings)
    else:
        from hubstead.app import create_app

        uvicorn.run(create_app(settings), **options)


def _tune_malloc() -> None:
    """Big buffers (download and upload chunks) straight from mmap, and back to the system when freed. By
    default glibc raises its mmap threshold after the first such free and then keeps those buffers in
    per-thread arenas: a server's memory would grow with each concurrent stream and never shrink."""
    os.environ.setdefault("MALLOC_MMAP_THRESHOLD_", str(MALLOC_MMAP_THRESHOLD))  # for workers started later
    os.environ.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENA_MAX))
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, MALLOC_MMAP_THRESHOLD)  # M_MMAP_THRESHOLD; setting it turns the sliding threshold off
        libc.mallopt(-8, MALLOC_ARENA_MAX)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def _prepare_for_workers(settings: Settings) -> None:
    """Migrate and create the secret once, before the workers start, so that they never race to do either.
    The migration runs in a child process: this supervisor then stays small, without the app loaded."""
    data_dir = str(settings.data_dir.resolve())
    subprocess.run([sys.executable, "-m", "hubstead.cli.main", "--data-dir", data_dir, "migrate"], check=True)
    settings.resolved_secret_key()
    os.environ["HUBSTEAD_DATA_DIR"] = data_dir


def _start_job_worker(settings: Settings) -> subprocess.Popen[bytes]:
    """With several server processes, background jobs run in one ``hubstead worker`` beside them, not in each: the
    jobs' concurrency stays HUBSTEAD_JOBS__CONCURRENCY however many processes serve requests. It has its own
    session (Ctrl-C in the terminal reaches only this supervisor, which stops it gracefully) and dies with it."""
    command = [sys.executable, "-m", "hubstead.cli.main", "--data-dir", str(settings.data_dir.resolve()), "worker"]
    return subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: a supervisor killed outright takes its worker along
    except (OSError, AttributeError):
        pass  # not Linux: the worker outlives a killed supervisor, and its jobs' leases expire


def _stop_job_worker(process: subprocess.Popen[bytes], settings: Settings) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(settings.jobs.shutdown_grace_seconds + 40)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def worker_app() -> FastAPI:
    """The app of one ``serve --workers`` process: settings from the environment, the schema already current."""
    from hubstead.app import create_app
    from hubstead.hub import Hub

    settings = Settings()
    return create_app(settings, Hub.from_settings(settings, migrate_db=False))


def cmd_migrate(args: argparse.Namespace) -> int:
    from hubstead.hub import Hub

    Hub.from_settings(_settings(args)).close()
    print("database is up to date", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hubstead", description="A self-hosted machine-learning hub")
    parser.add_argument("--data-dir", help="data directory (default: $HUBSTEAD_DATA_DIR or ./hubstead-data)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port (default 1; about one per core)"
    )
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="run no background jobs here: run `hubstead worker` processes (here or elsewhere) instead",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)

    from hubstead.cli import admin, inference, train, worker, xet

    worker.add_parser(sub)
    inference.add_parser(sub)
    admin.add_parser(sub)
    xet.add_parser(sub)
    train.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except admin.CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
