"""A training job's configuration: YAML or JSON (``hubstead train CONFIG.yaml``), the web form or ``run_job``.

Checked in two steps, each failing with a ``TrainingConfigError`` that names the field at fault: here, the shape
and the values (no I/O); then, by the job before anything trains, what needs the data (the dataset, its splits
and columns, label consistency, the base model loading for the task)."""

from __future__ import annotations

import enum
import json
import re
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hubstead.errors import TrainingConfigError

MAX_CONFIG_BYTES = 64 * 1024
METRICS_PREFIX = "metrics "  # job log lines holding a metrics point (JSON): the job page draws its curves from them
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]:%+]{1,100}$")  # split and config names (slices allowed)
_COLUMN = re.compile(r"^[^\x00-\x1f]{1,100}$")


class TrainingTask(enum.StrEnum):
    TEXT_CLASSIFICATION = "text-classification"
    TOKEN_CLASSIFICATION = "token-classification"
    CAUSAL_LM = "causal-lm"  # supervised fine-tuning, with LoRA (peft) by default
    IMAGE_CLASSIFICATION = "image-classification"


class TrainingConfig(BaseModel):
    """What to train. ``text_column`` holds the text (a list of words for token classification); ``label_column``
    the label (a list of tags per word for token classification; unused for causal-lm)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: TrainingTask
    base_model: str
    dataset: str
    dataset_config: str | None = None
    train_split: str = "train"
    eval_split: str | None = "test"
    text_column: str = "text"
    label_column: str = "label"
    image_column: str = "image"
    output_repo: str
    private: bool = True
    epochs: float = Field(default=3.0, gt=0, le=1000)
    learning_rate: float = Field(default=5e-5, gt=0, le=1)
    batch_size: int = Field(default=8, ge=1, le=4096)
    max_steps: int = Field(default=-1, ge=-1, le=10_000_000, description="-1: as many as the epochs take")
    max_length: int = Field(default=128, ge=8, le=32768)
    eval_steps: int | None = Field(default=None, ge=1, description="evaluate and save every this many steps")
    save_total_limit: int = Field(default=2, ge=1, le=100)
    early_stopping_patience: int | None = Field(default=None, ge=1, le=1000)
    metric_for_best_model: str | None = None  # default: accuracy (classification), loss (causal-lm)
    weight_decay: float = Field(default=0.0, ge=0, le=1)
    warmup_steps: int = Field(default=0, ge=0)
    seed: int = 42
    lora: bool = True  # causal-lm only
    lora_r: int = Field(default=8, ge=1, le=1024)
    lora_alpha: int = Field(default=16, ge=1, le=4096)
    lora_dropout: float = Field(default=0.05, ge=0, lt=1)
    lora_target_modules: list[str] | None = None
    merge_adapter: bool = False  # causal-lm with LoRA: push the merged model instead of the adapter
    processes: int = Field(default=1, ge=1, le=64, description="torchrun processes (data-parallel) on the worker")

    @model_validator(mode="after")
    def _check_names(self) -> TrainingConfig:
        for field in ("base_model", "dataset", "output_repo"):
            if not _REPO_ID.fullmatch(getattr(self, field)):
                raise _FieldError(field, "must be a repo id: namespace/name")
        for field in ("train_split", "eval_split", "dataset_config"):
            value = getattr(self, field)
            if value is not None and not _NAME.fullmatch(value):
                raise _FieldError(field, f"is not a split or config name: {value[:40]!r}")
        for field in ("text_column", "label_column", "image_column"):
            if not _COLUMN.fullmatch(getattr(self, field)):
                raise _FieldError(field, "must be a column name of 1 to 100 characters")
        if self.early_stopping_patience is not None and self.eval_split is None:
            raise _FieldError("early_stopping_patience", "needs an eval_split")
        if self.output_repo.lower() in (self.base_model.lower(),):
            raise _FieldError("output_repo", "must differ from base_model")
        return self

    @property
    def best_metric(self) -> str:
        if self.metric_for_best_model:
            return self.metric_for_best_model
        return "loss" if self.task is TrainingTask.CAUSAL_LM else "accuracy"

    @property
    def uses_lora(self) -> bool:
        return self.task is TrainingTask.CAUSAL_LM and self.lora


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def parse_config(data: Any) -> TrainingConfig:
    """A checked configuration from a mapping; the first problem raises ``TrainingConfigError`` naming its field."""
    if not isinstance(data, dict):
        raise TrainingConfigError("config", "must be a mapping of fields (task, base_model, dataset, ...)")
    try:
        return TrainingConfig.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc) from None


def _config_error(exc: ValidationError) -> TrainingConfigError:
    first = exc.errors()[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, _FieldError):
        return TrainingConfigError(cause.field, cause.message)
    field = ".".join(str(part) for part in first["loc"]) or "config"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "is not a known field"
    elif first["type"] == "enum":
        message = f"must be one of {', '.join(t.value for t in TrainingTask)}"
    return TrainingConfigError(field, message)


def load_config_text(text: str) -> TrainingConfig:
    """A configuration from YAML (JSON is YAML too)."""
    if len(text.encode()) > MAX_CONFIG_BYTES:
        raise TrainingConfigError("config", f"is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TrainingConfigError("config", f"is not valid YAML or JSON: {str(exc).splitlines()[0]}") from None
    return parse_config(data)


def config_from_args(args: list[str]) -> TrainingConfig:
    """The arguments after ``hubstead train`` in a ``run_job`` command: ``--config <YAML or JSON>`` or
    ``key=value`` pairs (values read as YAML scalars: ``epochs=2``, ``private=false``)."""
    if len(args) == 2 and args[0] == "--config":
        return load_config_text(args[1])
    data: dict[str, Any] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        if not sep or not key:
            raise TrainingConfigError("command", f"expected key=value or --config <yaml>, got {arg[:40]!r}")
        try:
            data[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            data[key] = value
        if key in {"base_model", "dataset", "output_repo", "train_split", "eval_split", "text_column"}:
            data[key] = value  # names stay strings (a split named 2024 is not a number)
    return parse_config(data)


def config_json(config: TrainingConfig) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(config.model_dump_json())
    return loaded
