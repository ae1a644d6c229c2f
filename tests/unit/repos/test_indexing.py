"""Facts derived from cards and files: the tags and fields search filters on."""

from __future__ import annotations

import json
import struct

import pytest

from hubstead.repos.cards import parse_card_data
from hubstead.repos.indexing import as_list, derive_facts, parse_config, safetensors_parameters
from hubstead.repos.models import RepoType


def test_model_card_fields_become_tags_in_hub_spelling() -> None:
    card = parse_card_data(
        "---\n"
        "library_name: transformers\npipeline_tag: text-classification\nlanguage: [en, fr]\n"
        "license: apache-2.0\ndatasets: [imdb, squad]\nbase_model: google/bert\nbase_model_relation: finetune\n"
        "tags: [sentiment, Custom]\nmodel-index:\n- name: m\n  results: []\n---\n"
    )
    facts = derive_facts(RepoType.MODEL, card, ["config.json", "model.safetensors"], {"model_type": "bert"})
    assert facts.pipeline_tag == "text-classification"
    assert facts.library_name == "transformers"
    assert facts.model_type == "bert"
    assert facts.tags[:4] == ["transformers", "safetensors", "bert", "text-classification"]
    for tag in (
        "sentiment",
        "Custom",
        "license:apache-2.0",
        "dataset:imdb",
        "dataset:squad",
        "base_model:google/bert",
        "base_model:finetune:google/bert",
        "model-index",
        "en",
        "fr",
    ):
        assert tag in facts.tags
    # filters are case-insensitive and accept both language spellings
    assert {"custom", "language:en", "fr"} <= facts.search_tags


@pytest.mark.parametrize(
    ("architectures", "task"),
    [
        (["BertForSequenceClassification"], "text-classification"),
        (["GPT2LMHeadModel"], "text-generation"),
        (["LlamaForCausalLM"], "text-generation"),
        (["BertForMaskedLM"], "fill-mask"),
        (["ViTForImageClassification"], "image-classification"),
        (["BertModel"], None),
    ],
)
def test_task_is_inferred_from_config_architectures(architectures: list[str], task: str | None) -> None:
    facts = derive_facts(RepoType.MODEL, None, ["config.json"], {"architectures": architectures})
    assert facts.pipeline_tag == task
    assert facts.library_name == "transformers"


def test_card_pipeline_tag_wins_over_the_inferred_one() -> None:
    facts = derive_facts(
        RepoType.MODEL,
        {"pipeline_tag": "zero-shot-classification"},
        [],
        {"architectures": ["BertForSequenceClassification"]},
    )
    assert facts.pipeline_tag == "zero-shot-classification"


def test_sentence_transformers_repos_are_recognised() -> None:
    facts = derive_facts(
        RepoType.MODEL, None, ["modules.json", "config.json", "model.safetensors"], {"model_type": "bert"}
    )
    assert facts.library_name == "sentence-transformers"
    assert facts.pipeline_tag == "sentence-similarity"


@pytest.mark.parametrize(
    ("paths", "formats"),
    [
        (["pytorch_model.bin"], {"pytorch"}),
        (["model.onnx", "tf_model.h5"], {"onnx", "tf"}),
        (["weights.gguf"], {"gguf"}),
        (["flax_model.msgpack", "a.safetensors"], {"jax", "safetensors"}),
    ],
)
def test_weight_formats_become_tags(paths: list[str], formats: set[str]) -> None:
    facts = derive_facts(RepoType.MODEL, None, paths, None)
    assert formats <= set(facts.tags)


def test_dataset_card_fields_become_prefixed_tags() -> None:
    card = {
        "language": ["en"],
        "task_categories": "text-classification",
        "task_ids": ["sentiment-classification"],
        "size_categories": ["1K<n<10K"],
        "multilinguality": ["monolingual"],
        "language_creators": ["found"],
        "annotations_creators": ["expert-generated"],
        "source_datasets": ["original"],
        "benchmark": "glue",
        "license": ["cc-by-4.0", "mit"],
    }
    facts = derive_facts(RepoType.DATASET, card, ["data/train.csv"], None)
    assert set(facts.tags) >= {
        "language:en",
        "task_categories:text-classification",
        "task_ids:sentiment-classification",
        "size_categories:1K<n<10K",
        "multilinguality:monolingual",
        "language_creators:found",
        "annotations_creators:expert-generated",
        "source_datasets:original",
        "benchmark:glue",
        "license:cc-by-4.0",
        "license:mit",
    }
    assert facts.pipeline_tag is None


def test_space_sdk_is_a_tag_card_first() -> None:
    assert "gradio" in derive_facts(RepoType.SPACE, None, [], None, sdk="gradio").tags
    assert "streamlit" in derive_facts(RepoType.SPACE, {"sdk": "streamlit"}, [], None, sdk="gradio").tags


@pytest.mark.parametrize("bad", [None, 3, {"a": 1}, [1, 2], ""])
def test_odd_card_values_are_ignored(bad: object) -> None:
    assert as_list(bad) == []
    facts = derive_facts(RepoType.MODEL, {"tags": bad, "language": bad, "license": bad, "pipeline_tag": bad}, [], None)
    assert facts.tags == []


def test_mixed_lists_keep_only_strings() -> None:
    assert as_list(["en", 3, None, "fr", " "]) == ["en", "fr"]


def _safetensors(header: dict[str, object]) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + b"\x00" * 64


def test_safetensors_parameters_are_counted_per_dtype() -> None:
    data = _safetensors(
        {
            "__metadata__": {"format": "pt"},
            "a": {"dtype": "F32", "shape": [10, 20], "data_offsets": [0, 800]},
            "b": {"dtype": "F32", "shape": [5], "data_offsets": [800, 820]},
            "c": {"dtype": "BF16", "shape": [3, 3], "data_offsets": [820, 838]},
        }
    )
    assert safetensors_parameters(lambda n: data[:n]) == {"F32": 205, "BF16": 9}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x01\x00",
        struct.pack("<Q", 10**12) + b"{}",
        struct.pack("<Q", 5) + b"nope!",
        _safetensors({"a": {"dtype": "WEIRD", "shape": [1]}}),
        _safetensors({"a": {"dtype": "F32", "shape": [-1]}}),
    ],
)
def test_unreadable_safetensors_headers_give_no_count(data: bytes) -> None:
    assert safetensors_parameters(lambda n: data[:n]) is None


def test_parse_config_accepts_only_json_objects() -> None:
    assert parse_config(b'{"model_type": "gpt2"}') == {"model_type": "gpt2"}
    assert parse_config(b"[1]") is None
    assert parse_config(b"\xff") is None
