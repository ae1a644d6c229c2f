"""Job kinds for the tests, registered through HUBSTEAD_JOBS__TASK_MODULES (in-process, and in ``hubstead
worker`` processes). Their payloads name files, so that what each run did can be read from any process."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from hubstead.errors import JobFailedError
from hubstead.jobs.tasks import JobContext, Task, TaskRegistry

MODULE = "tests.unit.jobs.tasks_for_tests"
ACTIVE = {"now": 0, "most": 0}  # test.exclusive, in-process only
_active_lock = threading.Lock()


def register(registry: TaskRegistry) -> None:
    registry.add(Task("test.record", record, max_attempts=3))
    registry.add(Task("test.fail", fail, max_attempts=3))
    registry.add(Task("test.permanent", permanent, max_attempts=3))
    registry.add(Task("test.block", block, max_attempts=3))
    registry.add(Task("test.progress", progress))
    registry.add(Task("test.slow", slow, timeout_seconds=0.5, max_attempts=2))
    registry.add(Task("test.exclusive", exclusive, max_per_worker=1))
    registry.add(Task("test.train", record, pool="train"))


def _append(path: str, line: str) -> None:
    # one write() per line on an O_APPEND file: lines from several processes never interleave
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def record(ctx: JobContext) -> None:
    """Append "<job id> <attempt> <pid>" to payload["path"], after sleeping payload["sleep"] seconds."""
    time.sleep(float(ctx.payload.get("sleep", 0)))
    _append(ctx.payload["path"], f"{ctx.job_id} {ctx.attempt} {os.getpid()}")


def fail(ctx: JobContext) -> None:
    for n in range(int(ctx.payload.get("chatter", 0))):
        ctx.log(f"chatter line {n:06d} " + "." * 100)
    ctx.log(f"about to fail, attempt {ctx.attempt}")
    raise RuntimeError(f"boom on attempt {ctx.attempt}")


def permanent(ctx: JobContext) -> None:
    raise JobFailedError("this payload can never work")


def block(ctx: JobContext) -> None:
    """Mark "started-<attempt>" in payload["dir"]; return at once from attempt payload["finish_on_attempt"] on,
    else run until told to stop."""
    directory = Path(ctx.payload["dir"])
    (directory / f"started-{ctx.attempt}").write_text(str(os.getpid()))
    if ctx.attempt >= int(ctx.payload.get("finish_on_attempt", 10**6)):
        _append(str(directory / "finished"), f"{ctx.job_id} {ctx.attempt} {os.getpid()}")
        return
    while True:
        ctx.check_cancelled()
        time.sleep(0.02)


def progress(ctx: JobContext) -> None:
    """Report half-way, then wait for a file named "go" in payload["dir"]."""
    directory = Path(ctx.payload["dir"])
    ctx.progress(0.5, "half-way")
    ctx.log("half-way there")
    ctx.progress(0.5, "half-way")  # a second report: the first may have been written before the log line
    (directory / "reported").write_text("")
    while not (directory / "go").exists():
        ctx.check_cancelled()
        time.sleep(0.02)


def slow(ctx: JobContext) -> None:
    """Never finishes by itself: stopped by its 0.5 s timeout."""
    while True:
        ctx.check_cancelled()
        time.sleep(0.02)


def exclusive(ctx: JobContext) -> None:
    with _active_lock:
        ACTIVE["now"] += 1
        ACTIVE["most"] = max(ACTIVE["most"], ACTIVE["now"])
    time.sleep(0.05)
    with _active_lock:
        ACTIVE["now"] -= 1
