"""Downloading a model through the hub's public API and checking it can run here, before anything is loaded.

Only what a pipeline needs is fetched (configs, tokenizer files, safetensors weights). Refused with a clear
``ModelNotRunnableError``: no config, custom code (``trust_remote_code`` is never set), an architecture this
transformers does not know, no safetensors weights (pickled weights are not loaded), weights beyond the budget."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubstead.errors import ModelNotRunnableError, RepoNotFoundError, UnsupportedTaskError

ALLOW_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "merges.txt", "*.py"]
SENTENCE_TASKS = ("feature-extraction", "sentence-similarity")

# pipeline_tag by the head of the model's first architecture, when the card names no task
ARCHITECTURE_TASKS = {
    "ForSequenceClassification": "text-classification",
    "ForTokenClassification": "token-classification",
    "ForMaskedLM": "fill-mask",
    "ForQuestionAnswering": "question-answering",
    "ForCausalLM": "text-generation",
    "LMHeadModel": "text-generation",
    "ForConditionalGeneration": "summarization",
    "ForImageClassification": "image-classification",
    "ForCTC": "automatic-speech-recognition",
    "ForSpeechSeq2Seq": "automatic-speech-recognition",
    "Model": "feature-extraction",
}


@dataclass(frozen=True)
class ModelFiles:
    path: Path
    config: dict[str, Any]
    weights_bytes: int
    sentence_transformers: bool


def download(hub_url: str, repo_id: str, revision: str, token: str | None, cache_dir: Path) -> Path:
    """The model's files at ``revision``, through the hub's public API with the given token."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        folder = snapshot_download(
            repo_id,
            revision=revision,
            endpoint=hub_url,
            token=token or False,
            cache_dir=cache_dir,
            allow_patterns=ALLOW_PATTERNS,
        )
    except (RepositoryNotFoundError, RevisionNotFoundError, GatedRepoError) as exc:
        raise RepoNotFoundError(f"Model {repo_id} is not available to this worker") from exc
    return Path(folder)


def inspect(path: Path, budget_bytes: int) -> ModelFiles:
    """Refuse what cannot run here, with the reason; no model code is imported or run."""
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelNotRunnableError("The model has no config.json: it cannot be loaded with transformers")
    config = json.loads(config_file.read_text())
    if config.get("auto_map") or any(path.glob("*.py")):
        raise ModelNotRunnableError("The model needs custom code (trust_remote_code), which Hubstead never runs")
    _check_architecture(config)
    weights = [f for f in path.rglob("*.safetensors") if f.is_file()]
    if not weights:
        raise ModelNotRunnableError("The model has no safetensors weights (pickled weights are never loaded)")
    size = sum(f.stat().st_size for f in weights)
    if size > budget_bytes:
        raise ModelNotRunnableError(
            f"The model's weights ({size / 2**20:.0f} MiB) exceed this worker's memory budget "
            f"({budget_bytes / 2**20:.0f} MiB)"
        )
    return ModelFiles(path, config, size, (path / "modules.json").is_file())


def _check_architecture(config: dict[str, Any]) -> None:
    from transformers import CONFIG_MAPPING

    model_type = config.get("model_type")
    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING:
        raise ModelNotRunnableError(f"Unknown model architecture {model_type!r}: this transformers cannot load it")


def task_of(files: ModelFiles, pipeline_tag: str | None) -> str:
    """The card's pipeline_tag, else a guess from the architecture."""
    if pipeline_tag:
        return pipeline_tag
    if files.sentence_transformers:
        return "feature-extraction"
    architectures = files.config.get("architectures") or []
    if architectures:
        for suffix, task in ARCHITECTURE_TASKS.items():
            if str(architectures[0]).endswith(suffix):
                return task
    raise UnsupportedTaskError("The model names no pipeline_tag and its architecture suggests none")
