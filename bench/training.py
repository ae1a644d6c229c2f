"""Training throughput: a small text classifier trained through a Hubstead training job (a `hubstead worker --kinds
train` process, downloading and pushing through the API of a live `hubstead serve`) against the same
`transformers.Trainer` run directly in this process on the same data, in the same run. Also: the time from
submitting the job to its first logged training step.

    .venv/bin/python bench/training.py [--rows 2048] [--epochs 2] [--batch-size 16]

Throughput is Trainer's own `train_samples_per_second` in both cases (evaluation and checkpoints each epoch
included in both). Target: the job at 0.9x the direct run or better.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from hubstead.accounts.models import TokenRole
from hubstead.accounts.services import AccountService
from hubstead.config import Settings
from hubstead.hub import Hub

POSITIVE = ["the movie was great", "i loved this wonderful film", "a great and warm ending", "wonderful actors"]
NEGATIVE = ["the food was terrible", "a boring waste of time", "slow and terrible service", "boring slow film"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_token(data_dir: Path) -> str:
    hub = Hub.from_settings(Settings(data_dir=data_dir))
    try:
        with hub.sessions.begin() as session:
            accounts = AccountService(session)
            user = accounts.create_user("bench", password="a long enough password", email="bench@example.org")
            return accounts.create_token(user, "bench", TokenRole.WRITE)[1]
    finally:
        hub.close()


def hubstead(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "hubstead"
    return subprocess.Popen([str(exe), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def push_inputs(token: str, rows: int) -> None:
    """A small BERT (random weights, 2 layers of 128) with a WordPiece tokenizer, and a sentiment dataset."""
    import datasets
    import torch
    import transformers
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(POSITIVE + NEGATIVE, trainers.WordPieceTrainer(vocab_size=200, special_tokens=special))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))],
    )
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=64,
    )  # fmt: skip
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(tokenizer), hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=256, max_position_embeddings=64,
    )  # fmt: skip
    transformers.BertModel(config).push_to_hub("bench/base", token=token)
    tokenizer.push_to_hub("bench/base", token=token)
    texts = [(POSITIVE + NEGATIVE)[i % 8] for i in range(rows)]
    labels = ["positive" if t in POSITIVE else "negative" for t in texts]
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"text": texts, "label": labels}),
            "test": datasets.Dataset.from_dict({"text": texts[:256], "label": labels[:256]}),
        }
    ).push_to_hub("bench/sentiment", token=token)


def run_direct(token: str, work: Path, epochs: float, batch_size: int) -> float:
    """The same Trainer setup a job uses, as a plain script would write it."""
    import datasets
    import numpy as np
    import transformers
    from huggingface_hub import snapshot_download

    data_dir = snapshot_download("bench/sentiment", repo_type="dataset", token=token, local_dir=work / "data")
    model_dir = snapshot_download("bench/base", token=token, local_dir=work / "model")
    splits = datasets.load_dataset(data_dir, cache_dir=str(work / "cache"))
    names = ["negative", "positive"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=2, id2label=dict(enumerate(names)), label2id={n: i for i, n in enumerate(names)}
    )

    def encode(batch: dict[str, list[Any]]) -> dict[str, Any]:
        out = tokenizer(batch["text"], truncation=True, max_length=128)
        out["labels"] = [names.index(v) for v in batch["label"]]
        return dict(out)

    train = splits["train"].map(encode, batched=True, remove_columns=["text", "label"])
    test = splits["test"].map(encode, batched=True, remove_columns=["text", "label"])
    total = math.ceil(epochs * math.ceil(len(train) / batch_size))
    args = transformers.TrainingArguments(
        output_dir=str(work / "checkpoints"), num_train_epochs=epochs, learning_rate=1e-3,
        per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size, eval_strategy="epoch",
        save_strategy="epoch", save_total_limit=2, load_best_model_at_end=True, metric_for_best_model="accuracy",
        logging_steps=max(1, total // 100), report_to=[], disable_tqdm=True,
    )  # fmt: skip

    def accuracy(pred: Any) -> dict[str, float]:
        return {"accuracy": float((np.argmax(pred[0], axis=-1) == pred[1]).mean())}

    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=train, eval_dataset=test, compute_metrics=accuracy,
        data_collator=transformers.DataCollatorWithPadding(tokenizer), processing_class=tokenizer,
    )  # fmt: skip
    return float(trainer.train().metrics["train_samples_per_second"])


def run_job(url: str, token: str, epochs: float, batch_size: int) -> tuple[float, float, float]:
    """(samples/s, seconds from submit to the first logged step, seconds from submit to the end)."""
    headers = {"authorization": f"Bearer {token}"}
    config = {
        "task": "text-classification", "base_model": "bench/base", "dataset": "bench/sentiment",
        "output_repo": "bench/out", "epochs": epochs, "batch_size": batch_size, "learning_rate": 1e-3,
    }  # fmt: skip
    started = time.monotonic()
    job = httpx.post(f"{url}/api/hubstead/training/jobs", json=config, headers=headers).raise_for_status().json()
    first_step = None
    while True:
        info = httpx.get(f"{url}/api/hubstead/training/jobs/{job['id']}", headers=headers).raise_for_status().json()
        if first_step is None and info["progressMessage"].startswith("step"):
            first_step = time.monotonic() - started
        if info["state"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.05)
    if info["state"] != "succeeded":
        raise RuntimeError(f"the job {info['state']}: {info['error']}\n{info['log']}")
    speed = next(p["train_samples_per_second"] for p in info["metrics"] if "train_samples_per_second" in p)
    return float(speed), first_step or math.nan, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2048)
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hubstead-bench-training-") as tmp:
        root = Path(tmp)
        token = make_token(root / "data")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = dict(
            os.environ, HUBSTEAD_DATA_DIR=str(root / "data"), HUBSTEAD_RATE_LIMIT__ENABLED="false",
            HUBSTEAD_TRAINING__HUB_URL=url, HF_ENDPOINT=url, HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1", TOKENIZERS_PARALLELISM="false",
        )  # fmt: skip
        os.environ.update({k: env[k] for k in ("HF_ENDPOINT", "HF_HUB_DISABLE_TELEMETRY", "TOKENIZERS_PARALLELISM")})
        server = hubstead(env, "serve", "--port", str(port), "--no-worker", "--log-level", "warning")
        worker = None
        try:
            wait_for(url)
            push_inputs(token, args.rows)
            direct = run_direct(token, root / "direct", args.epochs, args.batch_size)
            worker = hubstead(env, "worker", "--kinds", "train")
            time.sleep(3)  # an idle worker, as in production: its start-up is not the job's
            speed, first_step, total = run_job(url, token, args.epochs, args.batch_size)
        finally:
            for process in (worker, server):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=60)
    ratio = speed / direct
    print(json.dumps({"rows": args.rows, "epochs": args.epochs, "batch_size": args.batch_size}))
    print(f"{'direct Trainer':32} {direct:10.1f} samples/s")
    print(f"{'Hubstead job':32} {speed:10.1f} samples/s  ({ratio:.2f}x, target >= 0.9x)")
    print(f"{'submit -> first logged step':32} {first_step:10.2f} s")
    print(f"{'submit -> pushed':32} {total:10.2f} s")
    return 0 if ratio >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
