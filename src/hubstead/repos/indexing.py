"""What a commit tells about a repo: card fields, derived tags, and facts inferred from its files
(``config.json`` model type and architectures, weight formats, safetensors parameter counts)."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hubstead import bounded_json
from hubstead.repos.models import RepoType

ARCHITECTURE_TASKS = (
    ("ForSequenceClassification", "text-classification"),
    ("ForTokenClassification", "token-classification"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForMaskedLM", "fill-mask"),
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
    ("ForConditionalGeneration", "text2text-generation"),
    ("ForImageClassification", "image-classification"),
    ("ForObjectDetection", "object-detection"),
    ("ForSpeechSeq2Seq", "automatic-speech-recognition"),
    ("ForCTC", "automatic-speech-recognition"),
    ("ForAudioClassification", "audio-classification"),
)
WEIGHT_FORMATS = (
    (".safetensors", "safetensors"),
    ("pytorch_model.bin", "pytorch"),
    (".pt", "pytorch"),
    (".pth", "pytorch"),
    (".onnx", "onnx"),
    (".gguf", "gguf"),
    ("tf_model.h5", "tf"),
    ("flax_model.msgpack", "jax"),
)
DATASET_LIST_FIELDS = (
    "task_categories",
    "task_ids",
    "size_categories",
    "multilinguality",
    "language_creators",
    "annotations_creators",
    "source_datasets",
    "benchmark",
)
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
SAFETENSORS_DTYPES = frozenset(
    [
        "BOOL",
        "U8",
        "I8",
        "F8_E4M3",
        "F8_E5M2",
        "I16",
        "U16",
        "F16",
        "BF16",
        "I32",
        "U32",
        "F32",
        "F64",
        "I64",
        "U64",
        "F4",
        "F6_E2M3",
        "F6_E3M2",
        "F8_E8M0",
        "C64",
    ]
)


@dataclass
class RepoFacts:
    pipeline_tag: str | None = None
    library_name: str | None = None
    model_type: str | None = None
    tags: list[str] = field(default_factory=list)  # shown in payloads, HF order and spelling
    search_tags: set[str] = field(default_factory=set)  # what filter= matches (a superset of tags)
    file_facts: dict[str, Any] = field(default_factory=dict)


def as_list(value: Any) -> list[str]:
    """Card fields may be a string or a list of strings; anything else is ignored."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def derive_facts(
    repo_type: RepoType,
    card: dict[str, Any] | None,
    paths: Iterable[str],
    config: dict[str, Any] | None,
    sdk: str | None = None,
) -> RepoFacts:
    """Index-worthy facts from a card (README YAML), the file list and ``config.json``."""
    card = card or {}
    paths = list(paths)
    facts = RepoFacts()
    tags: list[str] = list(as_list(card.get("tags")))
    if repo_type is RepoType.MODEL:
        _model_facts(facts, card, paths, config, tags)
    elif repo_type is RepoType.DATASET:
        _dataset_facts(card, tags)
    else:
        space_sdk = card.get("sdk") if isinstance(card.get("sdk"), str) else sdk
        if space_sdk:
            tags.append(space_sdk)
    for licence in as_list(card.get("license")):
        tags.append(f"license:{licence.lower()}")
    facts.tags = list(dict.fromkeys(tags))
    facts.search_tags = set(facts.tags) | {t.lower() for t in facts.tags}
    # both spellings of a language find a repo: "en" (models) and "language:en" (datasets)
    for lang in as_list(card.get("language")):
        facts.search_tags |= {lang.lower(), f"language:{lang.lower()}"}
    return facts


def _model_facts(
    facts: RepoFacts, card: dict[str, Any], paths: list[str], config: dict[str, Any] | None, tags: list[str]
) -> None:
    formats = [fmt for suffix, fmt in WEIGHT_FORMATS if any(p.endswith(suffix) for p in paths)]
    library = card.get("library_name") if isinstance(card.get("library_name"), str) else None
    if library is None and ("sentence_bert_config.json" in paths or "modules.json" in paths):
        library = "sentence-transformers"
    if library is None and config is not None and ("model_type" in config or "architectures" in config):
        library = "transformers"
    pipeline = card.get("pipeline_tag") if isinstance(card.get("pipeline_tag"), str) else None
    if pipeline is None and library == "sentence-transformers":
        pipeline = "sentence-similarity"
    if pipeline is None and config is not None:
        pipeline = _task_from_architectures(config.get("architectures"))
    model_type = config.get("model_type") if config and isinstance(config.get("model_type"), str) else None
    facts.pipeline_tag, facts.library_name, facts.model_type = pipeline, library, model_type
    tags[:0] = [t for t in (library, *formats, model_type, pipeline) if t]
    if "model-index" in card:
        tags.append("model-index")
    for dataset in as_list(card.get("datasets")):
        tags.append(f"dataset:{dataset}")
    relation = card.get("base_model_relation") if isinstance(card.get("base_model_relation"), str) else None
    for base in as_list(card.get("base_model")):
        tags.append(f"base_model:{base}")
        if relation:
            tags.append(f"base_model:{relation}:{base}")
    for lang in as_list(card.get("language")):
        tags.append(lang)
    summary = {k: config[k] for k in ("model_type", "architectures") if k in config} if config else {}
    if summary:
        facts.file_facts["config"] = summary


def _dataset_facts(card: dict[str, Any], tags: list[str]) -> None:
    for name in DATASET_LIST_FIELDS:
        for value in as_list(card.get(name)):
            tags.append(f"{name}:{value}")
    for lang in as_list(card.get("language")):
        tags.append(f"language:{lang}")
    formats = card.get("configs")
    if isinstance(formats, list) and formats:
        tags.append("configs")


def _task_from_architectures(architectures: Any) -> str | None:
    for arch in as_list(architectures):
        for suffix, task in ARCHITECTURE_TASKS:
            if arch.endswith(suffix):
                return task
    return None


def parse_config(data: bytes) -> dict[str, Any] | None:
    try:
        config = bounded_json.loads(data, allow_constants=True)
    except ValueError:
        return None
    return config if isinstance(config, dict) else None


def safetensors_parameters(read_prefix: Callable[[int], bytes]) -> dict[str, int] | None:
    """Parameter counts by dtype from a safetensors header; ``read_prefix(n)`` returns the first n bytes."""
    head = read_prefix(8)
    if len(head) < 8:
        return None
    (length,) = struct.unpack("<Q", head)
    if length > MAX_SAFETENSORS_HEADER:
        return None
    try:
        header = bounded_json.loads(read_prefix(8 + length)[8:], allow_constants=True)
    except ValueError:
        return None
    if not isinstance(header, dict):
        return None
    counts: dict[str, int] = {}
    for name, tensor in header.items():
        if name == "__metadata__" or not isinstance(tensor, dict):
            continue
        dtype, shape = tensor.get("dtype"), tensor.get("shape")
        if dtype not in SAFETENSORS_DTYPES or not isinstance(shape, list):
            return None
        numel = 1
        for dim in shape:
            if not isinstance(dim, int) or dim < 0:
                return None
            numel *= dim
        counts[dtype] = counts.get(dtype, 0) + numel
    return counts
