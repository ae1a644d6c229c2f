"""Blob storage: bytes by key, nothing else. See ``base.BlobStore``."""

from hubstead.storage.base import BlobStore, BlobWriter, StoredBlob
from hubstead.storage.local import LocalBlobStore, page_aligned_buffer
from hubstead.storage.memory import InMemoryBlobStore

__all__ = ["BlobStore", "BlobWriter", "InMemoryBlobStore", "LocalBlobStore", "StoredBlob", "page_aligned_buffer"]
