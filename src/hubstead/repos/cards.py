"""Cards: the YAML front matter of README.md, parsed leniently for metadata and strictly for validation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

FRONT_MATTER_DELIMITER = "---"


@dataclass
class CardCheck:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def split_front_matter(text: str) -> tuple[str | None, str]:
    """Return (yaml text or None, body)."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != FRONT_MATTER_DELIMITER:
        return None, text
    for i in range(1, len(lines)):
        if lines[i].strip() == FRONT_MATTER_DELIMITER:
            return "".join(lines[1:i]), "".join(lines[i + 1 :])
    return None, text


def parse_card_data(text: str) -> dict[str, Any] | None:
    """Metadata of a card, or None when there is none or it is broken (bad YAML never blocks a commit)."""
    front, _ = split_front_matter(text)
    if front is None:
        return None
    try:
        data = yaml.safe_load(front)
    except yaml.YAMLError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        # card data is stored and served as JSON: YAML dates become ISO strings, NaN and the like drop it
        safe: dict[str, Any] = json.loads(json.dumps(data, default=_json_default, allow_nan=False))
    except (TypeError, ValueError):
        return None
    return safe


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def check_card(text: str, repo_type: str) -> CardCheck:
    """What ``POST /api/validate-yaml`` reports for a card."""
    result = CardCheck()
    front, _ = split_front_matter(text)
    if front is None:
        result.warnings.append("empty or missing yaml metadata in repo card")
        return result
    try:
        data = yaml.safe_load(front)
    except yaml.YAMLError as exc:
        result.errors.append(f"Invalid YAML in the card metadata: {str(exc).splitlines()[0]}")
        return result
    if data is None:
        result.warnings.append("empty or missing yaml metadata in repo card")
        return result
    if not isinstance(data, dict):
        result.errors.append("The card metadata must be a YAML mapping")
        return result
    result.errors.extend(_check_fields(data, repo_type))
    return result


def _check_fields(data: dict[str, Any], repo_type: str) -> list[str]:
    errors: list[str] = []
    for key in ("tags", "datasets"):
        if key in data and not _str_or_str_list(data[key]):
            errors.append(f'"{key}" must be a string or a list of strings')
    if "language" in data and not _str_or_str_list(data["language"]):
        errors.append('"language" must be a string or a list of strings')
    if "license" in data and not isinstance(data["license"], str | list):
        errors.append('"license" must be a string')
    if "pipeline_tag" in data and not isinstance(data["pipeline_tag"], str):
        errors.append('"pipeline_tag" must be a string')
    if "model-index" in data:
        errors.extend(_check_model_index(data["model-index"]))
    return errors


def _str_or_str_list(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _check_model_index(value: Any) -> list[str]:
    if not isinstance(value, list):
        return ['"model-index" must be an array']
    for i, item in enumerate(value):
        if not isinstance(item, dict) or "name" not in item:
            return [f'"model-index[{i}]" must be an object with a "name"']
        results = item.get("results", [])
        if not isinstance(results, list):
            return [f'"model-index[{i}].results" must be an array']
        for j, res in enumerate(results):
            if not isinstance(res, dict) or not isinstance(res.get("task"), dict):
                return [f'"model-index[{i}].results[{j}].task" must be an object']
    return []
