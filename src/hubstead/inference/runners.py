"""What each task does with a loaded model: blocking functions over a batch of inputs, run in the model's executor.

Every function takes a list of inputs that share their parameters and returns one result per input, in
huggingface.co's response shapes. Tokenisation happens here, once per batch (fast tokenizers encode a batch
in Rust), with padding to the batch's longest item only (the batcher groups similar lengths)."""

from __future__ import annotations

import io
import threading
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubstead.errors import InvalidInputError, ModelNotRunnableError, UnsupportedTaskError
from hubstead.inference.loading import ModelFiles

GENERATION_KEYS = {"max_new_tokens", "do_sample", "temperature", "top_k", "top_p", "repetition_penalty"}
MAX_NEW_TOKENS = 512
DEFAULT_NEW_TOKENS = 32


@dataclass
class LoadedModel:
    """Everything one model needs to run: its task, tokenizer/processor, model or pipeline, and device."""

    task: str
    device: str
    files: ModelFiles
    tokenizer: Any = None
    model: Any = None
    pipeline: Any = None
    pooling: str = "mean"
    normalize: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load(files: ModelFiles, task: str) -> LoadedModel:
    """Build what ``task`` needs from the downloaded files (never with remote code)."""
    try:
        return _load(files, task)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelNotRunnableError(f"The model cannot be loaded for {task}: {exc}".splitlines()[0]) from exc


def _load(files: ModelFiles, task: str) -> LoadedModel:
    import transformers

    where = device()
    path = str(files.path)
    if task in ("feature-extraction", "sentence-similarity"):
        pooling, normalize = _sentence_config(files.path)
        model = transformers.AutoModel.from_pretrained(path, trust_remote_code=False).to(where).eval()
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        return LoadedModel(task, where, files, tokenizer, model, pooling=pooling, normalize=normalize)
    if task in ("text-generation", "summarization", "translation", "text2text-generation"):
        auto = transformers.AutoModelForCausalLM if task == "text-generation" else transformers.AutoModelForSeq2SeqLM
        model = auto.from_pretrained(path, trust_remote_code=False).to(where).eval()  # type: ignore[arg-type]
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left" if task == "text-generation" else "right"
        return LoadedModel(task, where, files, tokenizer, model)
    if task == "question-answering":
        model = transformers.AutoModelForQuestionAnswering.from_pretrained(path, trust_remote_code=False)
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=False)
        return LoadedModel(task, where, files, tokenizer, model.to(where).eval())
    if task not in PIPELINE_RUNNERS:
        raise UnsupportedTaskError(f"Hubstead does not run the task {task!r}")
    make_pipeline: Any = transformers.pipeline  # typed per literal task; ours is a runtime string
    pipe = make_pipeline(task, model=path, device=where, trust_remote_code=False)
    return LoadedModel(task, where, files, pipe.tokenizer, pipe.model, pipeline=pipe)


def _sentence_config(path: Path) -> tuple[str, bool]:
    """Pooling and normalisation of a sentence-transformers model (modules.json); mean pooling otherwise."""
    import json

    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return "none", False
    modules = json.loads(modules_file.read_text())
    normalize = any(str(m.get("type", "")).endswith("Normalize") for m in modules)
    pooling = "mean"
    for module in modules:
        if str(module.get("type", "")).endswith("Pooling"):
            config_file = path / str(module.get("path", "")) / "config.json"
            if config_file.is_file():
                config = json.loads(config_file.read_text())
                pooling = "cls" if config.get("pooling_mode_cls_token") else "mean"
    return pooling, normalize


def unload(model: LoadedModel) -> None:
    model.model = model.pipeline = model.tokenizer = None
    if model.device == "cuda":
        import torch

        torch.cuda.empty_cache()


def size_of(model: LoadedModel) -> int:
    if model.model is None:
        return model.files.weights_bytes
    return int(sum(p.numel() * p.element_size() for p in model.model.parameters()))


# --- embeddings -------------------------------------------------------------------------------


def embed(model: LoadedModel, texts: list[str], pooled: bool = True) -> list[Any]:
    """Sentence embeddings (pooled, normalised as the model's modules.json says) or token embeddings."""
    import torch

    encoded = model.tokenizer(texts, padding=True, truncation=True, return_tensors="pt").to(model.device)
    with torch.inference_mode():
        hidden = model.model(**encoded).last_hidden_state
        if not pooled and model.pooling == "none":
            lengths = encoded["attention_mask"].sum(dim=1).tolist()
            return [hidden[i, : int(n)].float().cpu().tolist() for i, n in enumerate(lengths)]
        if model.pooling == "cls":
            vectors = hidden[:, 0]
        else:
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            vectors = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        if model.normalize:
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
        return list(vectors.float().cpu().tolist())


def feature_extraction(model: LoadedModel, items: list[str], params: dict[str, Any]) -> list[Any]:
    return embed(model, items, pooled=False)


# --- pipelines --------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """numpy scalars and arrays to JSON values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            return value.item()
        except (ValueError, AttributeError):
            return value.tolist()
    return value


def _pick(params: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: params[k] for k in names if params.get(k) is not None}


def _each(model: LoadedModel, items: list[Any], options: dict[str, Any]) -> list[Any]:
    """One pipeline result per item (pipelines unwrap a one-item list; here it is always a list)."""
    if len(items) == 1:
        return [_plain(model.pipeline(items[0], **options))]
    return [_plain(r) for r in model.pipeline(items, batch_size=len(items), **options)]


def text_classification(model: LoadedModel, items: list[str], params: dict[str, Any]) -> list[Any]:
    options = {"top_k": params.get("top_k")} | _pick(params, "function_to_apply")
    return [r if isinstance(r, list) else [r] for r in _each(model, items, options)]


def token_classification(model: LoadedModel, items: list[str], params: dict[str, Any]) -> list[Any]:
    options = {"aggregation_strategy": params.get("aggregation_strategy") or "simple"}
    options |= _pick(params, "ignore_labels", "stride")
    return _each(model, items, options)


def fill_mask(model: LoadedModel, items: list[str], params: dict[str, Any]) -> list[Any]:
    mask = model.tokenizer.mask_token
    for text in items:
        if mask not in text:
            raise InvalidInputError(f"The input must contain the mask token {mask}")
    return _each(model, items, _pick(params, "top_k", "targets"))


def question_answering(model: LoadedModel, items: list[dict[str, str]], params: dict[str, Any]) -> list[Any]:
    """Extractive answers: the best span of the context (start <= end, at most max_answer_len tokens), with its
    probability (transformers 5 has no question-answering pipeline any more)."""
    import torch

    questions, contexts = [i["question"] for i in items], [i["context"] for i in items]
    encoded = model.tokenizer(
        questions, contexts, padding=True, truncation="only_second", return_offsets_mapping=True, return_tensors="pt"
    )
    offsets = encoded.pop("offset_mapping")
    longest = int(params.get("max_answer_len") or 15)
    with torch.inference_mode():
        out = model.model(**encoded.to(model.device))
    results = []
    for row in range(len(items)):
        context_tokens = [i for i, seq in enumerate(encoded.sequence_ids(row)) if seq == 1]
        start_p = out.start_logits[row].float().softmax(-1).cpu()
        end_p = out.end_logits[row].float().softmax(-1).cpu()
        best = (-1.0, context_tokens[0], context_tokens[0])
        for s in context_tokens:
            for e in context_tokens:
                if s <= e < s + longest and float(start_p[s] * end_p[e]) > best[0]:
                    best = (float(start_p[s] * end_p[e]), s, e)
        score, s, e = best
        start, end = int(offsets[row][s][0]), int(offsets[row][e][1])
        results.append({"score": score, "start": start, "end": end, "answer": contexts[row][start:end]})
    return results


def zero_shot(model: LoadedModel, items: list[str], params: dict[str, Any]) -> list[Any]:
    labels = params.get("candidate_labels")
    if not labels:
        raise InvalidInputError("parameters.candidate_labels is required")
    options = {"candidate_labels": labels} | _pick(params, "multi_label", "hypothesis_template")
    results = []
    for text in items:
        out = model.pipeline(text, **options)
        results.append([{"label": lab, "score": float(s)} for lab, s in zip(out["labels"], out["scores"], strict=True)])
    return results


def image_classification(model: LoadedModel, items: list[bytes], params: dict[str, Any]) -> list[Any]:
    from PIL import Image, UnidentifiedImageError

    try:
        images = [Image.open(io.BytesIO(data)).convert("RGB") for data in items]
    except UnidentifiedImageError as exc:
        raise InvalidInputError("The input is not an image this worker can read") from exc
    return _each(model, images, _pick(params, "top_k", "function_to_apply"))


def speech_recognition(model: LoadedModel, items: list[bytes], params: dict[str, Any]) -> list[Any]:
    rate = int(model.pipeline.feature_extractor.sampling_rate)
    return [{"text": model.pipeline({"raw": _wav(data, rate), "sampling_rate": rate})["text"]} for data in items]


def _wav(data: bytes, rate: int) -> Any:
    """PCM WAV bytes to float32 mono samples at ``rate`` (no ffmpeg needed)."""
    import numpy as np

    try:
        with wave.open(io.BytesIO(data)) as reader:
            width, channels, source_rate = reader.getsampwidth(), reader.getnchannels(), reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise InvalidInputError("The audio must be PCM WAV") from exc
    if width != 2:
        raise InvalidInputError("The audio must be 16-bit PCM WAV")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    samples = samples.reshape(-1, channels).mean(axis=1)
    if source_rate != rate and len(samples):
        positions = np.linspace(0, len(samples) - 1, int(len(samples) * rate / source_rate))
        samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)
    return samples


# --- generation -------------------------------------------------------------------------------


def generation_options(params: dict[str, Any]) -> dict[str, Any]:
    options = {k: params[k] for k in GENERATION_KEYS if params.get(k) is not None}
    options.update(params.get("generate_parameters") or {})
    options = {k: v for k, v in options.items() if k in GENERATION_KEYS}
    options["max_new_tokens"] = min(int(options.get("max_new_tokens") or DEFAULT_NEW_TOKENS), MAX_NEW_TOKENS)
    if options.get("temperature") == 0:
        options.pop("temperature")
        options["do_sample"] = False
    options.setdefault("do_sample", "temperature" in options or "top_p" in options)
    return options


def _seed(params: dict[str, Any]) -> None:
    if params.get("seed") is not None:
        import torch

        torch.manual_seed(int(params["seed"]))


def text_generation(model: LoadedModel, items: list[str], params: dict[str, Any]) -> list[Any]:
    import torch

    _seed(params)
    encoded = model.tokenizer(items, padding=True, return_tensors="pt").to(model.device)
    with torch.inference_mode():
        out = model.model.generate(**encoded, **generation_options(params), pad_token_id=model.tokenizer.pad_token_id)
    width = encoded["input_ids"].shape[1]
    texts = model.tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)
    full = bool(params.get("return_full_text"))
    return [[{"generated_text": (prompt + text) if full else text}] for prompt, text in zip(items, texts, strict=True)]


def seq2seq(model: LoadedModel, items: list[str], params: dict[str, Any]) -> list[Any]:
    import torch

    key = "summary_text" if model.task == "summarization" else "translation_text"
    encoded = model.tokenizer(items, padding=True, truncation=True, return_tensors="pt").to(model.device)
    with torch.inference_mode():
        out = model.model.generate(**encoded, **generation_options(params))
    texts = model.tokenizer.batch_decode(out, skip_special_tokens=True)
    return [[{key: text.strip()}] for text in texts]


def stream_generation(
    model: LoadedModel, prompt_ids: Any, params: dict[str, Any], cancelled: threading.Event
) -> Iterator[tuple[int, str]]:
    """Token ids and their text as generated; stops soon after ``cancelled`` is set (the client went away)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

    class Cancelled(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
            return cancelled.is_set()

    streamer = TextIteratorStreamer(model.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
    ids: list[int] = []

    def run() -> None:
        _seed(params)
        with torch.inference_mode():
            model.model.generate(
                input_ids=prompt_ids.to(model.device),
                attention_mask=torch.ones_like(prompt_ids).to(model.device),
                streamer=streamer,
                stopping_criteria=StoppingCriteriaList([Cancelled()]),
                pad_token_id=model.tokenizer.pad_token_id,
                **generation_options(params),
            )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    for text in streamer:
        if text:
            ids.append(len(ids))
            yield len(ids), text
    thread.join()


def chat_prompt(model: LoadedModel, messages: list[dict[str, Any]]) -> Any:
    if not getattr(model.tokenizer, "chat_template", None):
        raise UnsupportedTaskError("The model has no chat template: use text-generation instead")
    try:
        ids = model.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
    except Exception as exc:  # a template error names the message it could not format
        raise InvalidInputError(f"The messages do not fit the model's chat template: {exc}") from exc
    return ids if not isinstance(ids, dict) and not hasattr(ids, "input_ids") else ids["input_ids"]


RunFn = Callable[[LoadedModel, list[Any], dict[str, Any]], list[Any]]
PIPELINE_RUNNERS: dict[str, RunFn] = {
    "text-classification": text_classification,
    "token-classification": token_classification,
    "fill-mask": fill_mask,
    "zero-shot-classification": zero_shot,
    "image-classification": image_classification,
    "automatic-speech-recognition": speech_recognition,
}
RUNNERS: dict[str, RunFn] = PIPELINE_RUNNERS | {
    "feature-extraction": feature_extraction,
    "question-answering": question_answering,
    "text-generation": text_generation,
    "summarization": seq2seq,
    "translation": seq2seq,
}
