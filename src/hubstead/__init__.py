"""Hubstead: a self-hosted machine-learning hub that speaks the Hugging Face Hub API.

``from hubstead import HfApi, ModelFilter, DatasetFilter`` gives the SDK (see ``hubstead.sdk``); it is
imported on first use, so running the server does not load the client library.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["DatasetFilter", "HfApi", "ModelFilter", "__version__"]

_SDK_NAMES = frozenset({"HfApi", "ModelFilter", "DatasetFilter"})


def __getattr__(name: str) -> Any:
    if name in _SDK_NAMES:
        from hubstead import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'hubstead' has no attribute {name!r}")
