"""A job with ``processes > 1`` trains data-parallel: the worker runs ``torchrun --standalone --nproc-per-node N``
over this module, one process per rank (gloo on CPU, NCCL on GPUs, as ``Trainer`` chooses), and follows it.

The ranks are the worker's children: the first reports on stdout (``@@hubstead {json}`` lines: log, progress,
result, error), which the worker writes to the job; cancellation is a file in the job's work directory that every
rank checks after each step, and the worker kills the process group if they have not stopped within seconds.

    python -m hubstead.training.distributed SPEC.json   (under torchrun; the token in HUBSTEAD_TRAINING_TOKEN)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hubstead.errors import JobCancelledError, TrainingConfigError
from hubstead.training.config import TrainingConfig, config_json, parse_config
from hubstead.training.runner import HubSource, Reporter, TrainResult

EVENT = "@@hubstead "
TOKEN_ENV = "HUBSTEAD_TRAINING_TOKEN"
STOP_GRACE_SECONDS = 10.0


def run_distributed(config: TrainingConfig, source: HubSource, work: Path, reporter: Reporter) -> TrainResult:
    """Run the job under torchrun with ``config.processes`` ranks; raise as ``runner.run`` does."""
    work.mkdir(parents=True, exist_ok=True)
    cancel_file = work / "cancel"
    cancel_file.unlink(missing_ok=True)
    spec = work / "spec.json"
    spec.write_text(json.dumps({"config": config_json(config), "endpoint": source.endpoint, "job_url": source.job_url}))
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={config.processes}",
        "-m", "hubstead.training.distributed", str(spec),
    ]  # fmt: skip
    env = os.environ | {TOKEN_ENV: source.token, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    events: dict[str, Any] = {}
    reader = threading.Thread(target=_read, args=(process, reporter, events), daemon=True)
    reader.start()
    reporter.log(f"started {config.processes} training processes (torchrun)")
    cancelled_at = None
    while process.poll() is None:
        if cancelled_at is None and reporter.cancelled():
            cancel_file.touch()
            cancelled_at = time.monotonic()
        if cancelled_at is not None and time.monotonic() - cancelled_at > STOP_GRACE_SECONDS:
            os.killpg(process.pid, signal.SIGKILL)
        time.sleep(0.2)
    reader.join(timeout=10)
    if cancelled_at is not None:
        raise JobCancelledError("cancelled")
    if "error" in events:
        raise TrainingConfigError(events["error"]["field"], events["error"]["message"])
    if process.returncode != 0 or "result" not in events:
        raise RuntimeError(f"the training processes exited with status {process.returncode}")
    result = events["result"]
    return TrainResult(repo_url=result["repo_url"], commit=result["commit"], metrics=result["metrics"])


def _read(process: subprocess.Popen[str], reporter: Reporter, events: dict[str, Any]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if not line.startswith(EVENT):
            if line.strip():
                reporter.log(line.rstrip()[:1000])
            continue
        try:
            event = json.loads(line[len(EVENT) :])
        except ValueError:
            continue
        if "log" in event:
            reporter.log(str(event["log"]))
        elif "progress" in event:
            reporter.progress(float(event["progress"]), str(event.get("message", "")))
        else:
            events.update(event)


class _RankReporter:
    """What one rank reports: the first rank prints events for the worker, the others stay quiet."""

    def __init__(self, rank: int, cancel_file: Path) -> None:
        self.rank, self.cancel_file = rank, cancel_file

    def emit(self, event: dict[str, Any]) -> None:
        if self.rank == 0:
            print(EVENT + json.dumps(event), flush=True)

    def log(self, line: str) -> None:
        self.emit({"log": line})

    def progress(self, fraction: float, message: str = "") -> None:
        self.emit({"progress": fraction, "message": message})

    def cancelled(self) -> bool:
        return self.cancel_file.exists()


def main(argv: list[str]) -> int:
    from hubstead.training import runner

    spec_path = Path(argv[0])
    spec = json.loads(spec_path.read_text())
    config = parse_config(spec["config"])
    reporter = _RankReporter(int(os.environ.get("RANK", "0")), spec_path.parent / "cancel")
    source = HubSource(endpoint=spec["endpoint"], token=os.environ[TOKEN_ENV], job_url=spec["job_url"])
    try:
        result = runner.run(config, source, spec_path.parent, reporter)
    except TrainingConfigError as exc:
        reporter.emit({"error": {"field": exc.field, "message": exc.message.removeprefix(f"{exc.field}: ")}})
        return 2
    except JobCancelledError:
        return 3
    reporter.emit({"result": {"repo_url": result.repo_url, "commit": result.commit, "metrics": result.metrics}})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
