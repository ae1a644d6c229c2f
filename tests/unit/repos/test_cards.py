"""Cards: README front matter is parsed leniently for metadata (never blocking a commit) and checked
strictly for ``/api/validate-yaml``."""

from __future__ import annotations

import json

import pytest

from hubstead.repos.cards import (
    MAX_FRONT_MATTER,
    CardTooComplexError,
    check_card,
    load_front_matter,
    parse_card_data,
    split_front_matter,
)

MODEL_CARD = """\
---
language:
- en
- fr
license: apache-2.0
library_name: transformers
pipeline_tag: text-classification
tags:
- sentiment
datasets:
- imdb
model-index:
- name: distilbert-imdb
  results:
  - task:
      type: text-classification
      name: Text Classification
    dataset:
      name: imdb
      type: imdb
      split: test
    metrics:
    - type: accuracy
      value: 0.93
      name: Accuracy
---

# distilbert-imdb

Fine-tuned on IMDB.
"""

CUSTOM_LICENSE_CARD = """\
---
language: en
license: other
license_name: my-research-license
license_link: LICENSE.md
---
Weights for research only.
"""

DATASET_CARD = """\
---
language:
- en
license: cc-by-4.0
task_categories:
- text-classification
size_categories:
- 10K<n<100K
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
# A dataset
"""


def test_model_card_metadata_is_parsed() -> None:
    data = parse_card_data(MODEL_CARD)

    assert data is not None
    assert data["language"] == ["en", "fr"]
    assert data["license"] == "apache-2.0"
    assert data["model-index"][0]["results"][0]["metrics"][0]["value"] == 0.93


def test_language_may_be_a_single_string() -> None:
    data = parse_card_data(CUSTOM_LICENSE_CARD)

    assert data is not None
    assert data["language"] == "en"


def test_custom_license_keeps_its_name_and_link() -> None:
    data = parse_card_data(CUSTOM_LICENSE_CARD)

    assert data is not None
    assert (data["license"], data["license_name"], data["license_link"]) == (
        "other",
        "my-research-license",
        "LICENSE.md",
    )


@pytest.mark.parametrize(
    ("card", "repo_type"), [(MODEL_CARD, "model"), (CUSTOM_LICENSE_CARD, "model"), (DATASET_CARD, "dataset")]
)
def test_real_world_cards_validate_without_errors_or_warnings(card: str, repo_type: str) -> None:
    result = check_card(card, repo_type)

    assert (result.errors, result.warnings) == ([], [])


def test_front_matter_is_split_from_the_body() -> None:
    front, body = split_front_matter(CUSTOM_LICENSE_CARD)

    assert front is not None
    assert front.startswith("language: en\n")
    assert body == "Weights for research only.\n"


@pytest.mark.parametrize(
    "text",
    [
        "\ufeff---\nlicense: mit\n---\n# Title\n",  # Windows editors write a byte order mark
        "---\r\nlicense: mit\r\n---\r\n# Title\r\n",
        "---   \nlicense: mit\n---\n",
    ],
)
def test_front_matter_is_found_despite_bom_crlf_and_trailing_spaces(text: str) -> None:
    assert parse_card_data(text) == {"license": "mit"}
    assert check_card(text, "model").errors == []


@pytest.mark.parametrize(
    "text",
    [
        "# Just a title\n\nNo metadata.\n",
        "",
        "---\n---\n# Empty front matter\n",
        "---\nlicense: mit\n# never closed\n",
        "Text first\n---\nlicense: mit\n---\n",
    ],
)
def test_card_without_metadata_parses_to_none_and_only_warns(text: str) -> None:
    result = check_card(text, "model")

    assert parse_card_data(text) is None
    assert result.errors == []
    assert result.warnings == ["empty or missing yaml metadata in repo card"]


@pytest.mark.parametrize(
    "text",
    [
        "---\nlicense: [mit\n---\n",
        "---\nlicense: mit\n  bad: indentation\n---\n",
        "---\n\tlicense: mit\n---\n",
    ],
)
def test_broken_yaml_parses_to_none_but_is_an_error_for_validation(text: str) -> None:
    result = check_card(text, "model")

    assert parse_card_data(text) is None
    assert len(result.errors) == 1
    assert result.errors[0].startswith("Invalid YAML in the card metadata")
    assert "\n" not in result.errors[0]


@pytest.mark.parametrize("front", ["- en\n- fr\n", "just a string\n", "42\n"])
def test_front_matter_that_is_not_a_mapping_is_rejected(front: str) -> None:
    text = f"---\n{front}---\n"

    assert parse_card_data(text) is None
    assert check_card(text, "model").errors == ["The card metadata must be a YAML mapping"]


@pytest.mark.parametrize(
    ("front", "error"),
    [
        ("language: 42\n", '"language" must be a string or a list of strings'),
        ("language:\n- en\n- 7\n", '"language" must be a string or a list of strings'),
        ("tags: {a: b}\n", '"tags" must be a string or a list of strings'),
        ("datasets: 3\n", '"datasets" must be a string or a list of strings'),
        ("license: 3\n", '"license" must be one of [afl-3.0, agpl-3.0,'),
        ("license: asdf\n", '"license" must be one of ['),
        ("pipeline_tag: [a, b]\n", '"pipeline_tag" must be a string'),
        ("model-index: {name: x}\n", '"model-index" must be an array'),
        ("model-index:\n- results: []\n", '"model-index[0]" must be an object with a "name"'),
        ("model-index:\n- name: x\n  results: {}\n", '"model-index[0].results" must be an array'),
        (
            "model-index:\n- name: x\n  results:\n  - metrics: []\n",
            '"model-index[0].results[0].task" must be an object',
        ),
    ],
)
def test_wrongly_typed_fields_are_validation_errors(front: str, error: str) -> None:
    text = f"---\n{front}---\n"

    errors = check_card(text, "model").errors
    assert len(errors) == 1
    assert errors[0].startswith(error)


def test_wrongly_typed_fields_do_not_stop_lenient_parsing() -> None:
    assert parse_card_data("---\nlanguage: 42\n---\n") == {"language": 42}


def test_parsed_card_data_is_json_serialisable() -> None:
    data = parse_card_data("---\nlicense: mit\nreleased: 2024-03-01\nupdated: 2024-03-01T10:00:00Z\n---\n")

    assert data == {"license": "mit", "released": "2024-03-01", "updated": "2024-03-01T10:00:00+00:00"}
    assert json.loads(json.dumps(data)) == data


# --- bounds ---------------------------------------------------------------------------------------


def test_metadata_whose_aliases_expand_past_the_bound_is_refused_without_expanding_them() -> None:
    lines = ['a0: &a0 ["xxxxxxxxxx", "xxxxxxxxxx"]']
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]" for i in range(1, 40)]  # 2**40 strings, 300 bytes each level
    with pytest.raises(CardTooComplexError, match="expands"):
        load_front_matter("\n".join(lines))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: " + "[" * 65 + "]" * 65, "deeper"),
        ("a: " + "{b: " * 65 + "1" + "}" * 65, "deeper"),
        ("a: &a [*a]", "itself"),
        ("a: " + "9" * 5000, "cannot be read"),
        ("a: " + "x" * MAX_FRONT_MATTER, "longer"),
    ],
    ids=["deep-lists", "deep-maps", "recursive-alias", "long-integer", "long-text"],
)
def test_metadata_past_a_bound_is_refused(text: str, fragment: str) -> None:
    with pytest.raises(CardTooComplexError, match=fragment):
        load_front_matter(text)


def test_metadata_within_the_bounds_loads_aliases_and_all() -> None:
    text = "base: &b {lr: 0.1}\nruns: [*b, *b]\nnested: " + "[" * 60 + "1" + "]" * 60
    data = load_front_matter(text)
    assert data["runs"] == [{"lr": 0.1}, {"lr": 0.1}]
