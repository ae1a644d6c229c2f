"""The Hubstead SDK: ``from hubstead import HfApi, ModelFilter, DatasetFilter``.

A thin layer over ``huggingface_hub.HfApi`` that talks to the configured Hubstead by default, accepts what
older Hugging Face code passes (``ModelFilter`` / ``DatasetFilter``, ``direction=-1``, ``task=`` …), returns
results that also carry the old attribute names (``modelId``, ``cardData``, ``lastModified``), and adds the
calls Hubstead offers beyond huggingface.co's client (``like``).
"""

from hubstead.sdk.api import HfApi, default_endpoint
from hubstead.sdk.filters import DatasetFilter, ModelFilter

__all__ = ["DatasetFilter", "HfApi", "ModelFilter", "default_endpoint"]
