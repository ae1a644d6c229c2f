"""ModelFilter and DatasetFilter: each field becomes the keyword the modern client sends."""

from __future__ import annotations

import pytest

from hubstead import DatasetFilter, ModelFilter
from hubstead.sdk.api import default_endpoint


@pytest.mark.parametrize(
    ("model_filter", "kwargs"),
    [
        (ModelFilter(author="acme"), {"author": "acme"}),
        (ModelFilter(library="transformers"), {"filter": ["transformers"]}),
        (ModelFilter(library=["pytorch", "safetensors"]), {"filter": ["pytorch", "safetensors"]}),
        (ModelFilter(language="en"), {"filter": ["en"]}),
        (ModelFilter(model_name="bert"), {"search": "bert"}),
        (ModelFilter(task="text-classification"), {"filter": ["text-classification"]}),
        (ModelFilter(trained_dataset="imdb"), {"filter": ["dataset:imdb"]}),
        (ModelFilter(trained_dataset=["dataset:squad"]), {"filter": ["dataset:squad"]}),
        (ModelFilter(tags=["a", "b"]), {"filter": ["a", "b"]}),
        (ModelFilter(), {}),
    ],
)
def test_model_filter_fields(model_filter: ModelFilter, kwargs: dict[str, object]) -> None:
    assert model_filter.to_kwargs() == kwargs


@pytest.mark.parametrize(
    ("dataset_filter", "kwargs"),
    [
        (DatasetFilter(author="acme"), {"author": "acme"}),
        (DatasetFilter(benchmark="glue"), {"filter": ["benchmark:glue"]}),
        (DatasetFilter(dataset_name="imdb"), {"search": "imdb"}),
        (DatasetFilter(language_creators="found"), {"filter": ["language_creators:found"]}),
        (DatasetFilter(language=["en", "fr"]), {"filter": ["language:en", "language:fr"]}),
        (DatasetFilter(multilinguality="monolingual"), {"filter": ["multilinguality:monolingual"]}),
        (DatasetFilter(size_categories="n<1K"), {"filter": ["size_categories:n<1K"]}),
        (DatasetFilter(task_categories="text-classification"), {"filter": ["task_categories:text-classification"]}),
        (DatasetFilter(task_ids="task_ids:extractive-qa"), {"filter": ["task_ids:extractive-qa"]}),
    ],
)
def test_dataset_filter_fields(dataset_filter: DatasetFilter, kwargs: dict[str, object]) -> None:
    assert dataset_filter.to_kwargs() == kwargs


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"HUBSTEAD_ENDPOINT": "http://hub.local:9/", "HF_ENDPOINT": "http://other"}, "http://hub.local:9"),
        ({"HF_ENDPOINT": "http://other"}, "http://other"),
        ({}, "http://127.0.0.1:8080"),
    ],
)
def test_default_endpoint_prefers_hubstead_then_hf(monkeypatch: pytest.MonkeyPatch, env, expected) -> None:
    for key in ("HUBSTEAD_ENDPOINT", "HF_ENDPOINT"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert default_endpoint() == expected
