"""The checks that need the data, and the data made ready for ``Trainer``: splits and columns exist, labels are
consistent, the base model loads for the task. Each failure is a ``TrainingConfigError`` naming its field.

torch, transformers, datasets and peft are imported here only (the hub server does not need them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubstead.errors import TrainingConfigError
from hubstead.training.config import TrainingConfig, TrainingTask

MAX_LABELS = 10_000
IGNORE = -100  # label of the positions the loss skips


@dataclass
class Prepared:
    model: Any
    train: Any
    eval: Any | None
    processor: Any | None  # tokenizer or image processor, saved with the model
    collator: Any | None = None
    compute_metrics: Callable[[Any], dict[str, float]] | None = None
    labels: list[str] = field(default_factory=list)
    remove_unused_columns: bool = True


def prepare_data(config: TrainingConfig, dataset_dir: Path, model_dir: Path, cache: Path) -> Prepared:
    splits = _load_splits(config, dataset_dir, cache)
    train, evaluation = splits
    if config.task is TrainingTask.TEXT_CLASSIFICATION:
        return _text_classification(config, train, evaluation, model_dir)
    if config.task is TrainingTask.TOKEN_CLASSIFICATION:
        return _token_classification(config, train, evaluation, model_dir)
    if config.task is TrainingTask.CAUSAL_LM:
        return _causal_lm(config, train, evaluation, model_dir)
    return _image_classification(config, train, evaluation, model_dir)


def _load_splits(config: TrainingConfig, dataset_dir: Path, cache: Path) -> tuple[Any, Any | None]:
    import datasets  # type: ignore[import-untyped]

    try:
        loaded = datasets.load_dataset(str(dataset_dir), name=config.dataset_config, cache_dir=str(cache))
    except ValueError as exc:
        field_name = "dataset_config" if config.dataset_config else "dataset"
        raise TrainingConfigError(field_name, f"cannot be loaded: {str(exc).splitlines()[0][:300]}") from None
    except (FileNotFoundError, datasets.exceptions.DataFilesNotFoundError) as exc:
        raise TrainingConfigError("dataset", f"has no data files: {str(exc)[:300]}") from None
    names = sorted(loaded)

    def split(field_name: str, name: str) -> Any:
        if name not in loaded:
            raise TrainingConfigError(field_name, f"the dataset has no split {name!r}; it has {', '.join(names)}")
        return loaded[name]

    train = split("train_split", config.train_split)
    evaluation = split("eval_split", config.eval_split) if config.eval_split else None
    if len(train) == 0:
        raise TrainingConfigError("train_split", f"split {config.train_split!r} is empty")
    return train, evaluation


def _require_columns(config: TrainingConfig, fields: tuple[str, ...], *splits: Any) -> None:
    for data in splits:
        if data is None:
            continue
        for field_name in fields:
            column = getattr(config, field_name)
            if column not in data.column_names:
                raise TrainingConfigError(
                    field_name, f"no column {column!r} in the dataset; it has {', '.join(data.column_names)}"
                )


def _class_labels(config: TrainingConfig, train: Any, evaluation: Any | None, *, per_token: bool) -> list[str]:
    """The label names: a ClassLabel's names, or the sorted distinct values of the train split; the eval split
    may hold only labels the train split has."""
    from datasets import ClassLabel

    feature = train.features[config.label_column]
    inner = getattr(feature, "feature", None) if per_token else feature
    if isinstance(feature, list) and per_token:
        inner = feature[0]
    if isinstance(inner, ClassLabel):
        return list(inner.names)

    def values(data: Any) -> set[str]:
        column = data[config.label_column]
        if per_token:
            return {str(tag) for row in column for tag in (row or [])}
        return {str(v) for v in column if v is not None}

    labels = values(train)
    if evaluation is not None:
        unknown = values(evaluation) - labels
        if unknown:
            shown = ", ".join(sorted(unknown)[:5])
            raise TrainingConfigError("label_column", f"the eval split has labels the train split lacks: {shown}")
    if not 2 <= len(labels) <= MAX_LABELS:
        raise TrainingConfigError("label_column", f"needs 2 to {MAX_LABELS} distinct labels, found {len(labels)}")
    return sorted(labels)


def _label_ids(config: TrainingConfig, data: Any, labels: list[str], *, per_token: bool) -> Callable[[Any], Any]:
    """A function from a row's label (or tags) to ids, for ClassLabel ints and plain values alike."""
    from datasets import ClassLabel

    feature = data.features[config.label_column]
    inner = getattr(feature, "feature", None) if per_token else feature
    if isinstance(feature, list) and per_token:
        inner = feature[0]
    if isinstance(inner, ClassLabel):
        return lambda value: value
    index = {name: i for i, name in enumerate(labels)}
    if per_token:
        return lambda tags: [index[str(tag)] for tag in tags]
    return lambda value: index[str(value)]


def _load_model(loader: Any, model_dir: Path, config: TrainingConfig, **kwargs: Any) -> Any:
    try:
        return loader.from_pretrained(str(model_dir), **kwargs)
    except Exception as exc:  # any failure to load is the configuration's base_model at fault
        message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise TrainingConfigError("base_model", f"does not load for {config.task.value}: {message}") from None


def _tokenizer(config: TrainingConfig, model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return _load_model(AutoTokenizer, model_dir, config)


def _accuracy(eval_pred: Any) -> dict[str, float]:
    import numpy as np

    logits, labels = eval_pred
    predictions = np.argmax(logits, axis=-1)
    mask = labels != IGNORE
    total = int(mask.sum())
    return {"accuracy": float((predictions[mask] == labels[mask]).sum()) / total if total else 0.0}


def _label_maps(labels: list[str]) -> dict[str, Any]:
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
        "ignore_mismatched_sizes": True,
    }


def _text_classification(config: TrainingConfig, train: Any, evaluation: Any | None, model_dir: Path) -> Prepared:
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

    _require_columns(config, ("text_column", "label_column"), train, evaluation)
    labels = _class_labels(config, train, evaluation, per_token=False)
    tokenizer = _tokenizer(config, model_dir)
    model = _load_model(AutoModelForSequenceClassification, model_dir, config, **_label_maps(labels))
    to_id = _label_ids(config, train, labels, per_token=False)

    def encode(batch: dict[str, list[Any]]) -> dict[str, Any]:
        encoded = tokenizer([str(t) for t in batch[config.text_column]], truncation=True, max_length=config.max_length)
        encoded["labels"] = [to_id(v) for v in batch[config.label_column]]
        return dict(encoded)

    def ready(data: Any) -> Any:
        return data.map(encode, batched=True, remove_columns=data.column_names)

    return Prepared(
        model=model,
        train=ready(train),
        eval=ready(evaluation) if evaluation is not None else None,
        processor=tokenizer,
        collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=_accuracy,
        labels=labels,
    )


def _token_classification(config: TrainingConfig, train: Any, evaluation: Any | None, model_dir: Path) -> Prepared:
    from transformers import AutoModelForTokenClassification, DataCollatorForTokenClassification

    _require_columns(config, ("text_column", "label_column"), train, evaluation)
    labels = _class_labels(config, train, evaluation, per_token=True)
    tokenizer = _tokenizer(config, model_dir)
    if not getattr(tokenizer, "is_fast", False):
        raise TrainingConfigError("base_model", "token classification needs a fast tokenizer (tokenizer.json)")
    model = _load_model(AutoModelForTokenClassification, model_dir, config, **_label_maps(labels))
    to_ids = _label_ids(config, train, labels, per_token=True)

    def encode(batch: dict[str, list[Any]]) -> dict[str, Any]:
        words = batch[config.text_column]
        for row, tags in zip(words, batch[config.label_column], strict=True):
            if not isinstance(row, list) or len(row) != len(tags or []):
                raise TrainingConfigError("label_column", "each row needs one tag per word of text_column")
        encoded = tokenizer(words, is_split_into_words=True, truncation=True, max_length=config.max_length)
        encoded["labels"] = [
            _align(encoded.word_ids(i), to_ids(tags)) for i, tags in enumerate(batch[config.label_column])
        ]
        return dict(encoded)

    def ready(data: Any) -> Any:
        return data.map(encode, batched=True, remove_columns=data.column_names)

    return Prepared(
        model=model,
        train=ready(train),
        eval=ready(evaluation) if evaluation is not None else None,
        processor=tokenizer,
        collator=DataCollatorForTokenClassification(tokenizer),
        compute_metrics=_accuracy,
        labels=labels,
    )


def _align(word_ids: list[int | None], tags: list[int]) -> list[int]:
    """A word's tag on its first token; the other tokens and the special ones are skipped by the loss."""
    aligned, previous = [], None
    for word in word_ids:
        aligned.append(IGNORE if word is None or word == previous else tags[word])
        previous = word
    return aligned


def _causal_lm(config: TrainingConfig, train: Any, evaluation: Any | None, model_dir: Path) -> Prepared:
    from transformers import AutoModelForCausalLM, DataCollatorForLanguageModeling

    _require_columns(config, ("text_column",), train, evaluation)
    tokenizer = _tokenizer(config, model_dir)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise TrainingConfigError("base_model", "its tokenizer has neither a pad nor an eos token")
        tokenizer.pad_token = tokenizer.eos_token
    model = _load_model(AutoModelForCausalLM, model_dir, config)
    if config.lora:
        model = _with_lora(config, model)

    def encode(batch: dict[str, list[Any]]) -> dict[str, Any]:
        return dict(
            tokenizer([str(t) for t in batch[config.text_column]], truncation=True, max_length=config.max_length)
        )

    def ready(data: Any) -> Any:
        return data.map(encode, batched=True, remove_columns=data.column_names)

    return Prepared(
        model=model,
        train=ready(train),
        eval=ready(evaluation) if evaluation is not None else None,
        processor=tokenizer,
        collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
    )


def _with_lora(config: TrainingConfig, model: Any) -> Any:
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.CAUSAL_LM,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_target_modules,
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise TrainingConfigError("lora_target_modules", str(exc).splitlines()[0][:300]) from None


def _image_classification(config: TrainingConfig, train: Any, evaluation: Any | None, model_dir: Path) -> Prepared:
    import torch
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    _require_columns(config, ("image_column", "label_column"), train, evaluation)
    labels = _class_labels(config, train, evaluation, per_token=False)
    processor = _load_model(AutoImageProcessor, model_dir, config)
    model = _load_model(AutoModelForImageClassification, model_dir, config, **_label_maps(labels))
    to_id = _label_ids(config, train, labels, per_token=False)

    def transform(batch: dict[str, list[Any]]) -> dict[str, Any]:
        images = [image.convert("RGB") for image in batch[config.image_column]]
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        return {"pixel_values": pixels, "labels": [to_id(v) for v in batch[config.label_column]]}

    def collate(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "pixel_values": torch.stack([row["pixel_values"] for row in rows]),
            "labels": torch.tensor([row["labels"] for row in rows]),
        }

    def ready(data: Any) -> Any:
        return data.with_transform(transform)

    return Prepared(
        model=model,
        train=ready(train),
        eval=ready(evaluation) if evaluation is not None else None,
        processor=processor,
        collator=collate,
        compute_metrics=_accuracy,
        labels=labels,
        remove_unused_columns=False,
    )
