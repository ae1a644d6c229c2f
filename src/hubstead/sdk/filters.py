"""``ModelFilter`` and ``DatasetFilter``, as huggingface_hub had them up to 0.23, translated to the keyword
arguments of today's ``list_models`` / ``list_datasets``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _prefixed(prefix: str, values: str | list[str] | None) -> list[str]:
    return [v if v.startswith(f"{prefix}:") else f"{prefix}:{v}" for v in _as_list(values)]


@dataclass
class ModelFilter:
    """Which models to list. Every field narrows the result; list fields match all their values.

    Args:
        author: the namespace (user or organisation) owning the models.
        library: e.g. ``"transformers"`` or ``["pytorch", "safetensors"]``.
        language: language codes, e.g. ``"en"``.
        model_name: a part of the model's id.
        task: the pipeline task, e.g. ``"text-classification"``.
        trained_dataset: datasets the model was trained on (``dataset:`` tags).
        tags: any other tags.
    """

    author: str | None = None
    library: str | list[str] | None = None
    language: str | list[str] | None = None
    model_name: str | None = None
    task: str | list[str] | None = None
    trained_dataset: str | list[str] | None = None
    tags: str | list[str] | None = None

    def to_kwargs(self) -> dict[str, Any]:
        tags = [
            *_as_list(self.task),
            *_as_list(self.library),
            *_as_list(self.language),
            *_prefixed("dataset", self.trained_dataset),
            *_as_list(self.tags),
        ]
        kwargs: dict[str, Any] = {}
        if tags:
            kwargs["filter"] = tags
        if self.author:
            kwargs["author"] = self.author
        if self.model_name:
            kwargs["search"] = self.model_name
        return kwargs


@dataclass
class DatasetFilter:
    """Which datasets to list; field values become the dataset card tags they stand for
    (``language:en``, ``task_categories:text-classification`` …)."""

    author: str | None = None
    benchmark: str | list[str] | None = None
    dataset_name: str | None = None
    language_creators: str | list[str] | None = None
    language: str | list[str] | None = None
    multilinguality: str | list[str] | None = None
    size_categories: str | list[str] | None = None
    task_categories: str | list[str] | None = None
    task_ids: str | list[str] | None = None

    def to_kwargs(self) -> dict[str, Any]:
        tags = [
            *_prefixed("benchmark", self.benchmark),
            *_prefixed("language_creators", self.language_creators),
            *_prefixed("language", self.language),
            *_prefixed("multilinguality", self.multilinguality),
            *_prefixed("size_categories", self.size_categories),
            *_prefixed("task_categories", self.task_categories),
            *_prefixed("task_ids", self.task_ids),
        ]
        kwargs: dict[str, Any] = {}
        if tags:
            kwargs["filter"] = tags
        if self.author:
            kwargs["author"] = self.author
        if self.dataset_name:
            kwargs["search"] = self.dataset_name
        return kwargs
