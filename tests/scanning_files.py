"""Files for the scanning tests, built in the test run: malicious pickles (a ``__reduce__`` that calls
``os.system``; nothing here ever loads them), clean PyTorch checkpoints, and safetensors files, honest or not."""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
from typing import Any


class RunsACommand:
    """Unpickling this runs a shell command: what a malicious checkpoint does."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("echo pwned-by-a-pickle",))


def evil_pickle(protocol: int = 4) -> bytes:
    return pickle.dumps({"weights": [0.5, 1.5], "payload": RunsACommand()}, protocol=protocol)


def clean_pickle() -> bytes:
    """What joblib writes for plain Python objects: a pickle importing nothing."""
    return pickle.dumps({"coefficients": [0.25, -1.0, 3.5], "intercept": 0.1, "classes": ["a", "b"]})


def torch_bytes(obj: Any, *, zip_format: bool = True) -> bytes:
    import torch

    out = io.BytesIO()
    torch.save(obj, out, _use_new_zipfile_serialization=zip_format)
    return out.getvalue()


def evil_torch(*, zip_format: bool = True) -> bytes:
    import torch

    return torch_bytes({"weight": torch.zeros(4), "payload": RunsACommand()}, zip_format=zip_format)


def clean_torch() -> bytes:
    import torch

    torch.manual_seed(0)
    return torch_bytes(torch.nn.Linear(4, 2).state_dict())


def safetensors_bytes() -> bytes:
    import torch
    from safetensors.torch import save

    return save({"weight": torch.ones(2, 3), "bias": torch.zeros(2)}, metadata={"format": "pt"})


def lying_safetensors() -> bytes:
    """A header that promises 1024 floats where the file holds 4: a loader trusting it reads past the end."""
    header = json.dumps({"weight": {"dtype": "F32", "shape": [1024], "data_offsets": [0, 4096]}}).encode()
    return struct.pack("<Q", len(header)) + header + b"\x00" * 16


def npy_with_objects() -> bytes:
    import numpy as np

    out = io.BytesIO()
    np.save(out, np.array([RunsACommand(), 1], dtype=object), allow_pickle=True)
    return out.getvalue()
