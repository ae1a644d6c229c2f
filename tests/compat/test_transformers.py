"""transformers against a live Hubstead: push_to_hub, from_pretrained and pipeline round trips.

Everything is built in the test (a tiny BERT with random weights and a WordPiece tokenizer trained on
a few sentences); nothing is downloaded from the internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from huggingface_hub import HfApi  # noqa: E402
from huggingface_hub.errors import RepositoryNotFoundError  # noqa: E402

pytestmark = pytest.mark.slow

ID2LABEL = {0: "NEGATIVE", 1: "POSITIVE"}
SENTENCES = [
    "the movie was great and the actors were wonderful",
    "the food was terrible and the service was slow",
    "i loved every minute of this wonderful film",
    "what a boring and terrible waste of time",
    "the weather today is sunny and warm",
    "a slow start but a great ending",
]
SAMPLE = "the film was wonderful but slow"


def make_tokenizer() -> Any:
    """A WordPiece tokenizer trained on SENTENCES, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(SENTENCES, trainers.WordPieceTrainer(vocab_size=100, special_tokens=special))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=64,
    )


def make_model(vocab_size: int) -> Any:
    """A tiny BertForSequenceClassification with random weights, in eval mode (no dropout)."""
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        num_labels=2,
        id2label=ID2LABEL,
        label2id={label: i for i, label in ID2LABEL.items()},
    )
    return transformers.BertForSequenceClassification(config).eval()


def logits_of(model: Any, tokenizer: Any, text: str) -> Any:
    with torch.no_grad():
        return model(**tokenizer(text, return_tensors="pt")).logits


@pytest.fixture
def tokenizer() -> Any:
    return make_tokenizer()


@pytest.fixture
def model(tokenizer: Any) -> Any:
    return make_model(len(tokenizer))


def test_pushed_model_and_tokenizer_load_back_with_identical_outputs(
    live_server: str, user: Any, tmp_path: Path, model: Any, tokenizer: Any
) -> None:
    repo_id = f"{user.name}/tiny-bert"
    model.push_to_hub(repo_id, token=user.token)
    tokenizer.push_to_hub(repo_id, token=user.token)

    files = set(HfApi(endpoint=live_server, token=user.token).list_repo_files(repo_id))
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= files

    cache = tmp_path / "tf-cache"
    loaded_tokenizer = transformers.AutoTokenizer.from_pretrained(repo_id, cache_dir=cache)
    loaded_model = transformers.AutoModelForSequenceClassification.from_pretrained(repo_id, cache_dir=cache).eval()

    assert type(loaded_model) is transformers.BertForSequenceClassification
    assert loaded_model.config.id2label == ID2LABEL
    assert loaded_tokenizer(SAMPLE)["input_ids"] == tokenizer(SAMPLE)["input_ids"]
    assert loaded_tokenizer.convert_ids_to_tokens(loaded_tokenizer(SAMPLE)["input_ids"])[0] == "[CLS]"
    torch.testing.assert_close(logits_of(loaded_model, loaded_tokenizer, SAMPLE), logits_of(model, tokenizer, SAMPLE))
    # the weights really came over the wire into the fresh cache, not from memory
    assert any(cache.rglob("model.safetensors"))


def test_pipeline_runs_on_pushed_model_and_returns_its_labels(
    live_server: str, user: Any, tmp_path: Path, model: Any, tokenizer: Any
) -> None:
    repo_id = f"{user.name}/tiny-classifier"
    model.push_to_hub(repo_id, token=user.token)
    tokenizer.push_to_hub(repo_id, token=user.token)

    classifier = transformers.pipeline(
        "text-classification",
        model=repo_id,
        tokenizer=repo_id,
        device="cpu",
        model_kwargs={"cache_dir": tmp_path / "tf-cache"},
    )
    results = classifier(SENTENCES[:3])

    assert len(results) == 3
    expected = logits_of(model, tokenizer, SENTENCES[0]).argmax(-1).item()
    assert results[0]["label"] == ID2LABEL[expected]
    for result in results:
        assert result["label"] in ID2LABEL.values()
        assert 0.0 < result["score"] <= 1.0


def test_private_model_needs_a_token_to_load(
    live_server: str, user: Any, other_user: Any, tmp_path: Path, model: Any, tokenizer: Any
) -> None:
    repo_id = f"{user.name}/secret-bert"
    model.push_to_hub(repo_id, token=user.token, private=True)
    tokenizer.push_to_hub(repo_id, token=user.token, private=True)
    assert HfApi(endpoint=live_server, token=user.token).model_info(repo_id).private is True

    loaded = transformers.AutoModelForSequenceClassification.from_pretrained(
        repo_id, token=user.read_token, cache_dir=tmp_path / "with-token"
    ).eval()
    loaded_tokenizer = transformers.AutoTokenizer.from_pretrained(
        repo_id, token=user.read_token, cache_dir=tmp_path / "with-token"
    )
    torch.testing.assert_close(logits_of(loaded, loaded_tokenizer, SAMPLE), logits_of(model, tokenizer, SAMPLE))

    with pytest.raises(OSError, match="not a valid model identifier") as anonymous:
        transformers.AutoModelForSequenceClassification.from_pretrained(repo_id, cache_dir=tmp_path / "anonymous")
    assert isinstance(anonymous.value.__cause__, RepositoryNotFoundError)

    with pytest.raises(OSError, match="not a valid model identifier") as stranger:
        transformers.AutoModelForSequenceClassification.from_pretrained(
            repo_id, token=other_user.token, cache_dir=tmp_path / "stranger"
        )
    assert isinstance(stranger.value.__cause__, RepositoryNotFoundError)


def test_second_push_replaces_the_weights(live_server: str, user: Any, tmp_path: Path, tokenizer: Any) -> None:
    repo_id = f"{user.name}/retrained-bert"
    first = make_model(len(tokenizer))
    first.push_to_hub(repo_id, token=user.token)
    tokenizer.push_to_hub(repo_id, token=user.token)
    torch.manual_seed(1)
    second = transformers.BertForSequenceClassification(first.config).eval()
    second.push_to_hub(repo_id, token=user.token, commit_message="retrain")

    api = HfApi(endpoint=live_server, token=user.token)
    assert api.list_repo_commits(repo_id)[0].title == "retrain"
    loaded = transformers.AutoModelForSequenceClassification.from_pretrained(
        repo_id, cache_dir=tmp_path / "tf-cache"
    ).eval()
    torch.testing.assert_close(logits_of(loaded, tokenizer, SAMPLE), logits_of(second, tokenizer, SAMPLE))
    assert not torch.allclose(logits_of(loaded, tokenizer, SAMPLE), logits_of(first, tokenizer, SAMPLE))


def test_push_to_a_branch_loads_only_from_that_revision(
    live_server: str, user: Any, tmp_path: Path, model: Any, tokenizer: Any
) -> None:
    repo_id = f"{user.name}/branched-bert"
    HfApi(endpoint=live_server, token=user.token).create_repo(repo_id)
    model.push_to_hub(repo_id, token=user.token, revision="dev")
    tokenizer.push_to_hub(repo_id, token=user.token, revision="dev")

    loaded = transformers.AutoModelForSequenceClassification.from_pretrained(
        repo_id, revision="dev", cache_dir=tmp_path / "dev"
    ).eval()
    loaded_tokenizer = transformers.AutoTokenizer.from_pretrained(repo_id, revision="dev", cache_dir=tmp_path / "dev")
    torch.testing.assert_close(logits_of(loaded, loaded_tokenizer, SAMPLE), logits_of(model, tokenizer, SAMPLE))

    api = HfApi(endpoint=live_server, token=user.token)
    assert api.file_exists(repo_id, "config.json", revision="dev")
    assert not api.file_exists(repo_id, "config.json")
    # transformers 5 turns a config.json missing on the Hub into "Unrecognized model ... config.json" (ValueError),
    # exactly as for a local folder without one; older releases raised OSError
    with pytest.raises((OSError, ValueError), match=r"config\.json"):
        transformers.AutoModelForSequenceClassification.from_pretrained(repo_id, cache_dir=tmp_path / "main")
