"""Tiny base models and datasets for training jobs, built in the test and pushed to the live server: random-weight
configs, a WordPiece tokenizer trained with `tokenizers` on a few sentences, datasets pushed with `datasets`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from hubstead.config import RateLimitSettings, Settings, TrainingSettings

# transformers and datasets are imported inside the helpers: this conftest loads before the root one points
# huggingface_hub at the live server (HF_ENDPOINT is read when huggingface_hub is first imported)

POSITIVE = ["the movie was great", "i loved this wonderful film", "a great and warm ending", "wonderful actors"]
NEGATIVE = ["the food was terrible", "a boring waste of time", "slow and terrible service", "boring slow film"]
WORDS = sorted({w for s in POSITIVE + NEGATIVE for w in s.split()})


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The shared settings, with training workers pointed at the live server."""
    return Settings(
        data_dir=tmp_path / "hub",
        database_url=database_url,
        secret_key="test-secret",
        rate_limit=RateLimitSettings(enabled=False),
        training=TrainingSettings(hub_url=os.environ["HF_ENDPOINT"]),
    )


def make_tokenizer() -> Any:
    import transformers
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(POSITIVE + NEGATIVE, trainers.WordPieceTrainer(vocab_size=120, special_tokens=special))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", eos_token="[SEP]", model_max_length=64,
    )  # fmt: skip


def push_bert(repo_id: str, token: str) -> None:
    """A tiny BERT (random weights) with its tokenizer."""
    import torch
    import transformers

    tokenizer = make_tokenizer()
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=37, max_position_embeddings=64,
    )  # fmt: skip
    transformers.BertModel(config).push_to_hub(repo_id, token=token)
    tokenizer.push_to_hub(repo_id, token=token)


def push_gpt2(repo_id: str, token: str) -> None:
    import torch
    import transformers

    tokenizer = make_tokenizer()
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=len(tokenizer), n_embd=32, n_layer=1, n_head=2, n_positions=64,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id,
    )  # fmt: skip
    transformers.GPT2LMHeadModel(config).push_to_hub(repo_id, token=token)
    tokenizer.push_to_hub(repo_id, token=token)


def push_vit(repo_id: str, token: str) -> None:
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.ViTConfig(
        image_size=16, patch_size=8, num_channels=3, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=37,
    )  # fmt: skip
    transformers.ViTModel(config).push_to_hub(repo_id, token=token)
    processor = transformers.ViTImageProcessor(size={"height": 16, "width": 16})
    processor.push_to_hub(repo_id, token=token)


def push_sentiment(repo_id: str, token: str, *, rows: int = 16, eval_labels: list[str] | None = None) -> None:
    import datasets

    texts = [(POSITIVE + NEGATIVE)[i % 8] for i in range(rows)]
    labels = ["positive" if t in POSITIVE else "negative" for t in texts]
    test_labels = eval_labels or ["positive", "negative", "positive", "negative"]
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"text": texts, "label": labels}),
            "test": datasets.Dataset.from_dict({"text": POSITIVE[:2] + NEGATIVE[:2], "label": test_labels}),
        }
    ).push_to_hub(repo_id, token=token)


def push_ner(repo_id: str, token: str) -> None:
    import datasets

    sentences = [s.split() for s in POSITIVE + NEGATIVE]
    tags = [
        ["ADJ" if w in {"great", "wonderful", "terrible", "boring", "slow", "warm"} else "O" for w in s]
        for s in sentences
    ]
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"tokens": sentences * 2, "tags": tags * 2}),
            "test": datasets.Dataset.from_dict({"tokens": sentences[:4], "tags": tags[:4]}),
        }
    ).push_to_hub(repo_id, token=token)


def push_images(repo_id: str, token: str) -> None:
    import datasets
    from PIL import Image

    def image(colour: tuple[int, int, int]) -> Any:
        return Image.new("RGB", (16, 16), colour)

    images = [image((255, 0, 0)), image((0, 0, 255))] * 6
    labels = ["red", "blue"] * 6
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(names=["blue", "red"])})
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"image": images, "label": labels}, features=features),
            "test": datasets.Dataset.from_dict({"image": images[:4], "label": labels[:4]}, features=features),
        }
    ).push_to_hub(repo_id, token=token)
