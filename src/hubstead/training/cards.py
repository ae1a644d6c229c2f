"""The model card a training job pushes with its result: base model, datasets, ``model-index`` metrics, the
training arguments and a link to the job."""

from __future__ import annotations

import math
from typing import Any

import yaml

from hubstead.training.config import TrainingConfig, TrainingTask

PIPELINE_TAGS = {
    TrainingTask.TEXT_CLASSIFICATION: "text-classification",
    TrainingTask.TOKEN_CLASSIFICATION: "token-classification",
    TrainingTask.CAUSAL_LM: "text-generation",
    TrainingTask.IMAGE_CLASSIFICATION: "image-classification",
}
TASK_NAMES = {
    TrainingTask.TEXT_CLASSIFICATION: "Text Classification",
    TrainingTask.TOKEN_CLASSIFICATION: "Token Classification",
    TrainingTask.CAUSAL_LM: "Text Generation",
    TrainingTask.IMAGE_CLASSIFICATION: "Image Classification",
}
CARD_ARGS = (
    "task", "epochs", "learning_rate", "batch_size", "max_steps", "max_length", "weight_decay", "warmup_steps",
    "seed", "early_stopping_patience", "train_split", "eval_split", "text_column", "label_column",
)  # fmt: skip
LORA_ARGS = ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules", "merge_adapter")


def card_metrics(metrics: dict[str, float]) -> list[dict[str, Any]]:
    """``eval_accuracy`` -> ``{"type": "accuracy", "value": ..., "name": "Accuracy"}``; run statistics left out."""
    skipped = {"runtime", "samples_per_second", "steps_per_second", "epoch"}
    out = []
    for key, value in sorted(metrics.items()):
        name = key.removeprefix("eval_")
        if name in skipped or not isinstance(value, int | float) or not math.isfinite(value):
            continue
        out.append({"type": name, "value": round(float(value), 6), "name": name.replace("_", " ").title()})
    return out


def render_card(config: TrainingConfig, metrics: dict[str, float], job_url: str, *, adapter: bool) -> str:
    """README.md of the pushed model."""
    pipeline = PIPELINE_TAGS[config.task]
    metadata: dict[str, Any] = {
        "base_model": config.base_model,
        "datasets": [config.dataset],
        "library_name": "peft" if adapter else "transformers",
        "pipeline_tag": pipeline,
        "tags": ["hubstead", "hubstead-training", pipeline] + (["lora"] if config.uses_lora else []),
        "model-index": [
            {
                "name": config.output_repo.split("/")[1],
                "results": [
                    {
                        "task": {"type": pipeline, "name": TASK_NAMES[config.task]},
                        "dataset": {
                            "name": config.dataset,
                            "type": config.dataset,
                            **({"config": config.dataset_config} if config.dataset_config else {}),
                            "split": config.eval_split or config.train_split,
                        },
                        "metrics": card_metrics(metrics),
                    }
                ],
            }
        ],
    }
    args = {name: getattr(config, name) for name in CARD_ARGS}
    if config.uses_lora:
        args |= {name: getattr(config, name) for name in LORA_ARGS}
    rows = "\n".join(f"| `{name}` | `{value}` |" for name, value in args.items())
    results = "\n".join(f"| {m['name']} | {m['value']} |" for m in card_metrics(metrics)) or "| (none) | |"
    what = "a LoRA adapter for" if adapter else "a fine-tuned version of"
    return (
        f"---\n{yaml.safe_dump(metadata, sort_keys=False)}---\n\n"
        f"# {config.output_repo.split('/')[1]}\n\n"
        f"This model is {what} [{config.base_model}](/{config.base_model}) on the "
        f"[{config.dataset}](/datasets/{config.dataset}) dataset, trained by [a Hubstead training job]({job_url}).\n\n"
        f"## Evaluation\n\n| metric | value |\n|---|---|\n{results}\n\n"
        f"## Training arguments\n\n| argument | value |\n|---|---|\n{rows}\n"
    )
