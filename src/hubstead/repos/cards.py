"""Cards: the YAML front matter of README.md, parsed leniently for metadata and strictly for validation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

FRONT_MATTER_DELIMITER = "---"
# the license identifiers a card may name, as huggingface.co lists them ("other" + license_name for the rest)
LICENSES = frozenset(
    [
        "apache-2.0",
        "mit",
        "openrail",
        "bigscience-openrail-m",
        "creativeml-openrail-m",
        "bigscience-bloom-rail-1.0",
        "bigcode-openrail-m",
        "afl-3.0",
        "artistic-2.0",
        "bsl-1.0",
        "bsd",
        "bsd-2-clause",
        "bsd-3-clause",
        "bsd-3-clause-clear",
        "c-uda",
        "cc",
        "cc0-1.0",
        "cc-by-2.0",
        "cc-by-2.5",
        "cc-by-3.0",
        "cc-by-4.0",
        "cc-by-sa-3.0",
        "cc-by-sa-4.0",
        "cc-by-nc-2.0",
        "cc-by-nc-3.0",
        "cc-by-nc-4.0",
        "cc-by-nd-4.0",
        "cc-by-nc-nd-3.0",
        "cc-by-nc-nd-4.0",
        "cc-by-nc-sa-2.0",
        "cc-by-nc-sa-3.0",
        "cc-by-nc-sa-4.0",
        "cdla-sharing-1.0",
        "cdla-permissive-1.0",
        "cdla-permissive-2.0",
        "wtfpl",
        "ecl-2.0",
        "epl-1.0",
        "epl-2.0",
        "etalab-2.0",
        "eupl-1.1",
        "eupl-1.2",
        "agpl-3.0",
        "gfdl",
        "gpl",
        "gpl-2.0",
        "gpl-3.0",
        "lgpl",
        "lgpl-2.1",
        "lgpl-3.0",
        "isc",
        "h-research",
        "intel-research",
        "lppl-1.3c",
        "ms-pl",
        "apple-ascl",
        "apple-amlr",
        "mpl-2.0",
        "odc-by",
        "odbl",
        "openmdw-1.0",
        "openrail++",
        "osl-3.0",
        "postgresql",
        "ofl-1.1",
        "ncsa",
        "unlicense",
        "zlib",
        "pddl",
        "lgpl-lr",
        "deepfloyd-if-license",
        "fair-noncommercial-research-license",
        "llama2",
        "llama3",
        "llama3.1",
        "llama3.2",
        "llama3.3",
        "llama4",
        "gemma",
        "unknown",
        "other",
    ]
)
# A card's YAML is parsed on every commit to the default branch and its data served with the repo's info: it is
# held to a size, a depth, and a size once its aliases are expanded (a few lines of anchors and aliases can
# stand for gigabytes). The model-index of a big evaluation suite is some hundreds of kilobytes.
MAX_FRONT_MATTER = 1024 * 1024  # characters
MAX_CARD_DEPTH = 64
MAX_CARD_SIZE = MAX_FRONT_MATTER  # characters of its scalars plus one per node, aliases expanded: what the text holds


class CardTooComplexError(yaml.YAMLError):
    """Card metadata past the bounds above (a YAMLError, so that it is handled as broken YAML is)."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing to nest deeper than MAX_CARD_DEPTH (its composer recurses per level)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_CARD_DEPTH:
                raise CardTooComplexError(f"the metadata nests deeper than {MAX_CARD_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_front_matter(front: str) -> Any:
    """The YAML of a card's front matter, within the bounds above (CardTooComplexError past them, yaml.YAMLError
    if it is not YAML)."""
    if len(front) > MAX_FRONT_MATTER:
        raise CardTooComplexError(f"the metadata is longer than {MAX_FRONT_MATTER:,} characters")
    loader = _BoundedLoader(front)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _Expansion().measure(node)
        return loader.construct_document(node)
    except (ValueError, OverflowError) as exc:  # e.g. an integer of more digits than Python converts
        raise CardTooComplexError(f"a value cannot be read: {str(exc)[:200]}") from None
    finally:
        loader.dispose()


class _Expansion:
    """The size and depth of a YAML node graph with its aliases expanded, each shared node measured once."""

    def __init__(self) -> None:
        self.measured: dict[int, tuple[int, int]] = {}
        self.open: set[int] = set()

    def measure(self, node: yaml.Node) -> tuple[int, int]:
        key = id(node)
        if key in self.measured:
            return self.measured[key]
        if key in self.open:
            raise CardTooComplexError("the metadata refers to itself (a recursive alias)")
        self.open.add(key)
        size, depth = 1, 1
        if isinstance(node, yaml.ScalarNode):
            size += len(node.value)
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else [n for p in node.value for n in p]
            for child in children:
                child_size, child_depth = self.measure(child)
                size, depth = size + child_size, max(depth, child_depth + 1)
        if size > MAX_CARD_SIZE or depth > MAX_CARD_DEPTH:
            raise CardTooComplexError(
                f"the metadata expands to more than {MAX_CARD_SIZE:,} characters or {MAX_CARD_DEPTH} levels"
            )
        self.open.discard(key)
        self.measured[key] = (size, depth)
        return size, depth


@dataclass
class CardCheck:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def split_front_matter(text: str) -> tuple[str | None, str]:
    """Return (yaml text or None, body)."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)  # blank lines may come before it
    if first is None or lines[first].strip() != FRONT_MATTER_DELIMITER:
        return None, text
    for i in range(first + 1, len(lines)):
        if lines[i].strip() == FRONT_MATTER_DELIMITER:
            return "".join(lines[first + 1 : i]), "".join(lines[i + 1 :])
    return None, text


def parse_card_data(text: str) -> dict[str, Any] | None:
    """Metadata of a card, or None when there is none or it is broken (bad YAML never blocks a commit)."""
    front, _ = split_front_matter(text)
    if front is None:
        return None
    try:
        data = load_front_matter(front)
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
        data = load_front_matter(front)
    except CardTooComplexError as exc:
        result.errors.append(f"The card metadata is too large or complex: {exc}")
        return result
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
    if "license" in data:
        errors.extend(_check_license(data["license"]))
    if "pipeline_tag" in data and not isinstance(data["pipeline_tag"], str):
        errors.append('"pipeline_tag" must be a string')
    if "model-index" in data:
        errors.extend(_check_model_index(data["model-index"]))
    return errors


def _check_license(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    unknown = [v for v in values if not isinstance(v, str) or v.lower() not in LICENSES]
    if not unknown:
        return []
    return [
        f'"license" must be one of [{", ".join(sorted(LICENSES))}] (got {unknown[0]!r}; '
        '"other" with license_name for the rest)'
        '"other" with license_name for the rest)'
    ]


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
