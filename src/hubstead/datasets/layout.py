"""Which configs and splits a dataset revision has: the card's ``configs:`` YAML when present, else
huggingface.co's naming rules for data files and folders (``train``/``validation``/``test`` in a file or folder
name, ``data/train-*``, ...), with the most frequent data format winning."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hubstead.repos.patterns import PatternBudgetExceededError, glob_matcher

DEFAULT_CONFIG = "default"
SPLIT_KEYWORDS = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "dev", "val"),
    "test": ("test", "testing", "eval", "evaluation"),
}
FORMATS = {
    ".parquet": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".txt": "text",
}
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
AUDIO_EXTENSIONS = frozenset({".wav", ".mp3", ".flac", ".ogg", ".opus", ".m4a"})
METADATA_FILES = frozenset({"metadata.csv", "metadata.jsonl"})
SPLIT_NAME = re.compile(r"^\w+(\.\w+)*$")
MAX_CONFIGS = 64
MAX_GLOB_LENGTH = 1024


@dataclass
class ConfigPlan:
    """One config: its splits' data files (in order), its reader and options, or why it cannot be read."""

    name: str
    builder: str = ""
    splits: dict[str, list[str]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    metadata: list[str] = field(default_factory=list)  # metadata.csv/jsonl files of an image or audio folder
    error: str | None = None


def file_format(path: str) -> str | None:
    """The reader of a data file by its extension: parquet, csv, json, text, imagefolder or audiofolder."""
    ext = _extension(path)
    if ext in IMAGE_EXTENSIONS:
        return "imagefolder"
    if ext in AUDIO_EXTENSIONS:
        return "audiofolder"
    return FORMATS.get(ext)


def _extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    return name[name.rfind(".") :] if "." in name else ""


def data_files(paths: list[str]) -> list[str]:
    """Files that may hold data: not hidden, not in hidden or ``__`` folders, not the card."""
    out = []
    for path in paths:
        parts = path.split("/")
        if any(p.startswith((".", "__")) for p in parts):
            continue
        if path in ("README.md", ".gitattributes"):
            continue
        if file_format(path) or parts[-1] in METADATA_FILES:
            out.append(path)
    return out


def plan_configs(paths: list[str], card: dict[str, Any] | None) -> list[ConfigPlan]:
    """The configs of a revision whose files are ``paths`` and whose card data is ``card``."""
    files = data_files(sorted(paths))
    configs = card.get("configs") if isinstance(card, dict) else None
    if configs is None:
        return [_inferred(DEFAULT_CONFIG, files)]
    if not isinstance(configs, list) or not configs:
        return [ConfigPlan(DEFAULT_CONFIG, error="The card's 'configs' must be a non-empty list")]
    return [_from_yaml(item, files) for item in configs[:MAX_CONFIGS]]


def _inferred(name: str, files: list[str]) -> ConfigPlan:
    plan = ConfigPlan(name)
    formats = Counter(f for f in (file_format(p) for p in files) if f)
    if not formats:
        plan.error = (
            "The dataset has no data files this hub can read (parquet, CSV/TSV, JSON/JSONL, text, images, audio)"
        )
        return plan
    plan.builder = formats.most_common(1)[0][0]
    chosen = [p for p in files if file_format(p) == plan.builder]
    plan.metadata = [p for p in files if p.rsplit("/", 1)[-1] in METADATA_FILES]
    plan.splits = split_by_name(chosen)
    _csv_options(plan, chosen)
    return plan


def _csv_options(plan: ConfigPlan, files: list[str]) -> None:
    if plan.builder == "csv" and files and all(f.lower().endswith(".tsv") for f in files):
        plan.options.setdefault("sep", "\t")


def split_by_name(files: list[str]) -> dict[str, list[str]]:
    """huggingface.co's rule: files or folders named after a split go to it; if none is, all is ``train``."""
    splits: dict[str, list[str]] = {}
    for path in files:
        split = _split_of(path)
        if split is not None:
            splits.setdefault(split, []).append(path)
    if not splits:
        return {"train": list(files)} if files else {}
    return {name: splits[name] for name in ("train", "validation", "test") if name in splits}


def _split_of(path: str) -> str | None:
    parts = path.lower().split("/")
    for split, words in SPLIT_KEYWORDS.items():
        for folder in parts[:-1]:
            if folder in words:
                return split
    name = parts[-1]
    for split, words in SPLIT_KEYWORDS.items():
        for word in words:
            if re.match(rf"^(?:.*[-._ ])?{word}(?:[-._ 0-9].*)?$", name):
                return split
    return None


def _from_yaml(item: Any, files: list[str]) -> ConfigPlan:
    if not isinstance(item, dict) or not isinstance(item.get("config_name", DEFAULT_CONFIG), str):
        return ConfigPlan(DEFAULT_CONFIG, error="Each item of the card's 'configs' needs a 'config_name'")
    name = str(item.get("config_name", DEFAULT_CONFIG))
    if not SPLIT_NAME.match(name.replace("-", "_")) or len(name) > 100:
        return ConfigPlan(name[:100], error=f"Invalid config name {name!r}")
    spec = item.get("data_files")
    if spec is None:
        plan = _inferred(name, [f for f in files if not item.get("data_dir") or f.startswith(f"{item['data_dir']}/")])
    else:
        plan = _declared(name, spec, files)
    options = {k: v for k, v in item.items() if k in ("sep", "delimiter", "drop_labels", "field")}
    if "delimiter" in options:
        options["sep"] = options.pop("delimiter")
    plan.options.update(options)
    return plan


def _declared(name: str, spec: Any, files: list[str]) -> ConfigPlan:
    plan = ConfigPlan(name)
    entries: list[tuple[str, Any]]
    if isinstance(spec, str) or (isinstance(spec, list) and all(isinstance(s, str) for s in spec)):
        entries = [("train", spec)]
    elif isinstance(spec, list) and all(isinstance(s, dict) for s in spec):
        entries = [(str(s.get("split", "train")), s.get("path")) for s in spec]
    else:
        plan.error = "'data_files' must be a string, a list of strings or a list of {split, path}"
        return plan
    for split, patterns in entries:
        if not SPLIT_NAME.match(split):
            plan.error = f"Invalid split name {split!r}: letters, digits, '_' and '.' only"
            return plan
        matched = _glob(files, patterns)
        if not matched:
            plan.error = f"No data file matches {patterns!r} (split {split!r})"
            return plan
        plan.splits.setdefault(split, []).extend(m for m in matched if m not in plan.splits.get(split, []))
    formats = Counter(f for files_ in plan.splits.values() for f in map(file_format, files_) if f)
    if not formats:
        plan.error = "The config's data files are in no format this hub can read"
        return plan
    plan.builder = formats.most_common(1)[0][0]
    plan.splits = {s: [f for f in fs if file_format(f) == plan.builder] for s, fs in plan.splits.items()}
    plan.metadata = [p for p in files if p.rsplit("/", 1)[-1] in METADATA_FILES]
    _csv_options(plan, [f for fs in plan.splits.values() for f in fs])
    return plan


def _glob(files: list[str], patterns: Any) -> list[str]:
    """Files matching any of ``patterns`` (git wildmatch: ``*`` within a folder, ``**`` across folders)."""
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list):
        return []
    out: list[str] = []
    for pattern in patterns[:MAX_CONFIGS]:
        if not isinstance(pattern, str) or len(pattern) > MAX_GLOB_LENGTH:
            continue
        match = glob_matcher(pattern)
        try:
            out.extend(f for f in files if f not in out and match(f))
        except PatternBudgetExceededError:
            continue
    return out
