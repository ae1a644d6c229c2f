"""The training itself: a client of the hub. It downloads the base model and the dataset through the public API
with the job's token, checks what needs the data (failing with the field's name), runs ``transformers.Trainer``
(CUDA when present, CPU otherwise), and pushes the result with its card in one commit.

torch, transformers, datasets and peft are imported here only: the hub server does not need them."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hubstead.errors import JobCancelledError, TrainingConfigError
from hubstead.training.cards import render_card
from hubstead.training.config import METRICS_PREFIX, TrainingConfig, TrainingTask
from hubstead.training.data import Prepared, prepare_data

CHECKPOINT = re.compile(r"checkpoint-(\d+)")


class Reporter(Protocol):
    def log(self, line: str) -> None: ...

    def progress(self, fraction: float, message: str = "") -> None: ...

    def cancelled(self) -> bool: ...


@dataclass(frozen=True)
class HubSource:
    """Where the job reaches the hub, and as whom."""

    endpoint: str
    token: str
    job_url: str


@dataclass(frozen=True)
class TrainResult:
    repo_url: str
    commit: str
    metrics: dict[str, float]


def check(reporter: Reporter) -> None:
    if reporter.cancelled():
        raise JobCancelledError("cancelled")


def download(source: HubSource, repo_id: str, repo_type: str, target: Path, field: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    try:
        path = snapshot_download(
            repo_id, repo_type=repo_type, local_dir=target, endpoint=source.endpoint, token=source.token
        )
    except RepositoryNotFoundError:
        raise TrainingConfigError(field, f"no {repo_type} {repo_id} that you may read") from None
    except HfHubHTTPError as exc:
        if exc.response is not None and exc.response.status_code in (401, 403):
            raise TrainingConfigError(field, f"{repo_id} cannot be downloaded: {exc}") from None
        raise
    return Path(path)


def run(config: TrainingConfig, source: HubSource, work: Path, reporter: Reporter) -> TrainResult:
    """Train as ``config`` says, in ``work`` (checkpoints survive a killed worker there), and push the result.
    The libraries' warnings go to the job's log, once each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            return _run(config, source, work, reporter)
        finally:
            for warning in caught:
                reporter.log(f"warning: {warning.category.__name__}: {str(warning.message)[:500]}")


def _run(config: TrainingConfig, source: HubSource, work: Path, reporter: Reporter) -> TrainResult:
    rank = int(os.environ.get("RANK", "0"))  # under torchrun: this process's rank; each rank has its own inputs
    suffix = f"-{rank}" if rank else ""
    reporter.log(f"downloading dataset {config.dataset}")
    dataset_dir = download(source, config.dataset, "dataset", work / f"dataset{suffix}", "dataset")
    check(reporter)
    reporter.log(f"downloading base model {config.base_model}")
    model_dir = download(source, config.base_model, "model", work / f"base{suffix}", "base_model")
    check(reporter)
    prepared = prepare_data(config, dataset_dir, model_dir, work / f"datasets-cache{suffix}")
    reporter.log(
        f"checked: {len(prepared.train)} training rows"
        + (f", {len(prepared.eval)} evaluation rows" if prepared.eval is not None else "")
        + (f", labels {prepared.labels}" if prepared.labels else "")
    )
    check(reporter)
    metrics = _train(config, prepared, work, reporter)
    if rank:
        return TrainResult(repo_url="", commit="", metrics=metrics)  # the first process saves and pushes
    out = work / "output"
    adapter = _save(config, prepared, out)
    (out / "README.md").write_text(render_card(config, metrics, source.job_url, adapter=adapter))
    check(reporter)  # the last moment a cancel is heeded: after it the push is one commit, whole or nothing
    return _push(config, source, out, reporter, metrics)


def _train(config: TrainingConfig, prepared: Prepared, work: Path, reporter: Reporter) -> dict[str, float]:
    from transformers import EarlyStoppingCallback, Trainer

    checkpoints = work / "checkpoints"
    callback = progress_callback(reporter)
    callbacks: list[Any] = [callback]
    if config.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience))
    trainer = Trainer(
        model=prepared.model,
        args=_arguments(config, prepared, checkpoints),
        train_dataset=prepared.train,
        eval_dataset=prepared.eval,
        data_collator=prepared.collator,
        compute_metrics=prepared.compute_metrics,
        processing_class=prepared.processor,
        callbacks=callbacks,
    )
    if trainer.args.world_size > 1:
        reporter.log(f"data-parallel over {trainer.args.world_size} processes")
    last = _last_complete_checkpoint(checkpoints, reporter)
    if last is not None:
        reporter.log(f"resuming from {Path(last).name}")
    trainer.train(resume_from_checkpoint=last)
    if callback.stopped:
        raise JobCancelledError("cancelled during training")
    metrics: dict[str, float] = {}
    if prepared.eval is not None:
        metrics = {k: float(v) for k, v in trainer.evaluate().items() if isinstance(v, int | float)}
        if "eval_loss" in metrics and config.task is TrainingTask.CAUSAL_LM and metrics["eval_loss"] < 50:
            metrics["eval_perplexity"] = math.exp(metrics["eval_loss"])
        reporter.log(METRICS_PREFIX + json.dumps({"final": True, **metrics}))
    prepared.model = trainer.model  # the best checkpoint's weights, when evaluation picks one
    return metrics


def _arguments(config: TrainingConfig, prepared: Prepared, checkpoints: Path) -> Any:
    import torch
    from transformers import TrainingArguments

    steps_per_epoch = max(1, math.ceil(len(prepared.train) / config.batch_size))
    total = config.max_steps if config.max_steps > 0 else math.ceil(config.epochs * steps_per_epoch)
    evaluate = prepared.eval is not None
    strategy = ("steps" if config.eval_steps else "epoch") if evaluate else "no"
    best = config.best_metric
    return TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_steps,
        seed=config.seed,
        eval_strategy=strategy,
        save_strategy=strategy if evaluate else "steps",
        eval_steps=config.eval_steps,
        save_steps=config.eval_steps or steps_per_epoch,
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=evaluate,
        metric_for_best_model=best if evaluate else None,
        greater_is_better=(best not in ("loss", "eval_loss")) if evaluate else None,
        logging_strategy="steps",
        logging_steps=max(1, total // 100),
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        remove_unused_columns=prepared.remove_unused_columns,
        use_cpu=not torch.cuda.is_available(),
    )


def progress_callback(reporter: Reporter) -> Any:
    """A ``TrainerCallback`` that reports step, epoch, loss and evaluation metrics to the job, and stops training
    when the job is cancelled (checked after every step: steps are short, so a cancel is heeded within seconds)."""
    from transformers import TrainerCallback

    class ProgressCallback(TrainerCallback):
        stopped = False

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **_: Any) -> None:
            values = {k: v for k, v in (logs or {}).items() if isinstance(v, int | float) and math.isfinite(v)}
            point = {"step": state.global_step, "epoch": round(float(state.epoch or 0), 4), **values}
            reporter.log(METRICS_PREFIX + json.dumps(point))
            loss = values.get("loss", values.get("eval_loss"))
            text = f"step {state.global_step}/{state.max_steps} · epoch {point['epoch']:.2f}"
            if loss is not None:
                text += f" · loss {loss:.4f}"
            reporter.progress(state.global_step / max(1, state.max_steps), text)

        def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> Any:
            if reporter.cancelled():
                self.stopped = True
                control.should_training_stop = True
                control.should_save = False
                control.should_evaluate = False
            return control

        def on_save(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            reporter.log(f"saved checkpoint-{state.global_step}")

    return ProgressCallback()


def _save(config: TrainingConfig, prepared: Prepared, out: Path) -> bool:
    """Write the model (or the LoRA adapter) and its tokenizer or processor; returns whether it is an adapter."""
    if out.exists():
        shutil.rmtree(out)
    model = prepared.model
    adapter = config.uses_lora and not config.merge_adapter
    if config.uses_lora and config.merge_adapter:
        model = model.merge_and_unload()
    model.save_pretrained(str(out))
    if prepared.processor is not None:
        prepared.processor.save_pretrained(str(out))
    return adapter


def _push(
    config: TrainingConfig, source: HubSource, out: Path, reporter: Reporter, metrics: dict[str, float]
) -> TrainResult:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=source.endpoint, token=source.token)
    reporter.log(f"pushing to {config.output_repo}")
    repo = api.create_repo(config.output_repo, private=config.private, exist_ok=True)
    info = api.upload_folder(
        repo_id=config.output_repo,
        folder_path=str(out),
        commit_message="Upload model trained by a Hubstead training job",
        commit_description=f"Job: {source.job_url}",
    )
    reporter.log(f"pushed {info.oid} to {repo}")
    return TrainResult(repo_url=str(repo), commit=info.oid, metrics=metrics)


def _last_complete_checkpoint(checkpoints: Path, reporter: Reporter) -> str | None:
    """The newest checkpoint a killed attempt finished writing. Trainer writes ``trainer_state.json`` last, so a
    folder without a readable one was cut short: it is removed (resuming from it would fail every attempt) and
    the one before it is taken."""
    if not checkpoints.is_dir():
        return None
    found = [(int(m[1]), p) for p in checkpoints.iterdir() if p.is_dir() and (m := CHECKPOINT.fullmatch(p.name))]
    for _, folder in sorted(found, reverse=True):
        try:
            json.loads((folder / "trainer_state.json").read_text())
        except (OSError, ValueError):
            reporter.log(f"discarding {folder.name}: the attempt that wrote it stopped before it was complete")
            shutil.rmtree(folder, ignore_errors=True)
            continue
        return str(folder)
    return None
