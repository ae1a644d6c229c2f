"""``hubstead.HfApi``: huggingface_hub's client, pointed at Hubstead, understanding older call styles."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import huggingface_hub
from huggingface_hub.utils import hf_raise_for_status  # type: ignore[attr-defined]  # public, lazily exported

from hubstead.sdk.filters import DatasetFilter, ModelFilter

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
T = TypeVar("T")
# what older huggingface_hub code passed to list_models / list_datasets, as today's filter tags
LEGACY_MODEL_KWARGS = ("task", "library", "language", "tags")
LEGACY_ALIASES = {"model_name": "search", "dataset_name": "search"}


def default_endpoint() -> str:
    """``HUBSTEAD_ENDPOINT``, else ``HF_ENDPOINT``, else the local default hub."""
    return (os.environ.get("HUBSTEAD_ENDPOINT") or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def _check_direction(direction: int | str | None) -> None:
    if direction not in (None, -1, "-1"):
        raise ValueError("Hubstead sorts listings in descending order, as huggingface.co does: use direction=-1")


def _merge_filter(kwargs: dict[str, Any], extra: list[str]) -> None:
    if not extra:
        return
    current = kwargs.get("filter")
    tags = [] if current is None else ([current] if isinstance(current, str) else list(current))
    kwargs["filter"] = tags + extra


def _with_legacy_names(items: Iterable[T], model: bool) -> Iterator[T]:
    for item in items:
        names = vars(item)
        if model and "modelId" not in names:
            names["modelId"] = names.get("id")
        if "cardData" not in names and names.get("card_data") is not None:
            names["cardData"] = names["card_data"]
        if "lastModified" not in names and names.get("last_modified") is not None:
            names["lastModified"] = names["last_modified"]
        yield item


class HfApi(huggingface_hub.HfApi):
    """``huggingface_hub.HfApi`` whose default endpoint is the configured Hubstead."""

    def __init__(self, endpoint: str | None = None, token: str | bool | None = None, **kwargs: Any) -> None:
        super().__init__(endpoint=endpoint or default_endpoint(), token=token, **kwargs)

    def list_models(
        self,
        *,
        filter: ModelFilter | str | Iterable[str] | None = None,
        direction: int | str | None = None,
        **kwargs: Any,
    ) -> Iterator[huggingface_hub.ModelInfo]:
        """List models; also accepts ``filter=ModelFilter(...)``, ``direction=-1`` and the 0.x keywords
        ``task``, ``library``, ``language``, ``tags``, ``model_name``, ``cardData``."""
        _check_direction(direction)
        if isinstance(filter, ModelFilter):
            kwargs |= filter.to_kwargs() | {k: v for k, v in kwargs.items() if k != "filter"}
            filter = kwargs.pop("filter", None)
        if filter is not None:
            kwargs["filter"] = filter
        legacy = [v for key in LEGACY_MODEL_KWARGS for v in _pop_list(kwargs, key)]
        _merge_filter(kwargs, legacy)
        _rename_legacy(kwargs)
        return _with_legacy_names(super().list_models(**kwargs), model=True)

    def list_datasets(
        self,
        *,
        filter: DatasetFilter | str | Iterable[str] | None = None,
        direction: int | str | None = None,
        **kwargs: Any,
    ) -> Iterator[huggingface_hub.DatasetInfo]:
        """List datasets; also accepts ``filter=DatasetFilter(...)`` and ``direction=-1``."""
        _check_direction(direction)
        if isinstance(filter, DatasetFilter):
            kwargs |= filter.to_kwargs() | {k: v for k, v in kwargs.items() if k != "filter"}
            filter = kwargs.pop("filter", None)
        if filter is not None:
            kwargs["filter"] = filter
        _rename_legacy(kwargs)
        return _with_legacy_names(super().list_datasets(**kwargs), model=False)

    def list_spaces(self, *, direction: int | str | None = None, **kwargs: Any) -> Iterator[huggingface_hub.SpaceInfo]:
        _check_direction(direction)
        return _with_legacy_names(super().list_spaces(**kwargs), model=False)

    def model_info(self, *args: Any, **kwargs: Any) -> huggingface_hub.ModelInfo:
        return next(_with_legacy_names([super().model_info(*args, **kwargs)], model=True))

    def like(self, repo_id: str, *, repo_type: str | None = None, token: str | bool | None = None) -> None:
        """Like a repo (huggingface.co's client dropped this call; Hubstead keeps it)."""
        url = f"{self.endpoint}/api/{repo_type or 'model'}s/{repo_id}/like"
        hf_raise_for_status(huggingface_hub.get_session().post(url, headers=self._build_hf_headers(token=token)))


def _pop_list(kwargs: dict[str, Any], key: str) -> list[str]:
    value = kwargs.pop(key, None)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _rename_legacy(kwargs: dict[str, Any]) -> None:
    for old, new in LEGACY_ALIASES.items():
        if old in kwargs:
            value = kwargs.pop(old)
            if value is not None:
                kwargs.setdefault(new, value)
