"""Xet storage metadata: xorbs (stored in the BlobStore), files as lists of chunk ranges of xorbs, which repo
may reference which file, and the global-dedup index of chunk hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hubstead.db.base import Base, UTCDateTime, utcnow


class XetXorb(Base):
    """A xorb whose every chunk was decompressed and hashed on upload. ``chunks`` packs, per chunk, its hash
    (32 bytes), where it ends in the stored bytes and its uncompressed length (two little-endian u32)."""

    __tablename__ = "xet_xorbs"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # where the bytes are in the BlobStore: unique per upload, so that garbage collection removing an old copy
    # can never remove the bytes of a new upload of the same xorb
    storage_key: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)  # stored (serialized) bytes
    unpacked_size: Mapped[int] = mapped_column(BigInteger)
    num_chunks: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # last time an upload or a shard counted on it: garbage collection leaves recently used xorbs alone
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class XetFile(Base):
    """A file as the concatenation of chunk ranges of xorbs. ``terms`` packs, per term, the xorb hash (32
    bytes), the chunk range [start, end) and the term's uncompressed length (three little-endian u32)."""

    __tablename__ = "xet_files"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    terms: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class XetFileXorb(Base):
    """Which xorbs a file needs: what garbage collection follows."""

    __tablename__ = "xet_file_xorbs"

    file_hash: Mapped[str] = mapped_column(ForeignKey("xet_files.hash", ondelete="CASCADE"), primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(ForeignKey("xet_xorbs.hash"), primary_key=True, index=True)


class XetRepoFile(Base):
    """Repo ``repo_id`` may reference the LFS object ``sha256``, whose bytes are the Xet file ``file_hash``.

    Written when a shard is uploaded with a write token for the repo (the sha256 is the uploader's claim, so
    the mapping serves only that repo), and when an LFS upload is converted to Xet (the sha256 was checked)."""

    __tablename__ = "xet_repo_files"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_hash: Mapped[str] = mapped_column(ForeignKey("xet_files.hash"), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class XetLfsConversion(Base):
    """An LFS object (stored whole, its sha256 checked on upload) also chunked into xorbs."""

    __tablename__ = "xet_lfs_conversions"

    sha256: Mapped[str] = mapped_column(ForeignKey("lfs_objects.oid", ondelete="CASCADE"), primary_key=True)
    file_hash: Mapped[str] = mapped_column(ForeignKey("xet_files.hash"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class XetDedupChunk(Base):
    """Chunks clients may ask about for global deduplication (the first chunk of each file and the chunks
    whose hash makes them eligible), and a xorb that holds each."""

    __tablename__ = "xet_dedup_chunks"

    chunk_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(ForeignKey("xet_xorbs.hash", ondelete="CASCADE"), index=True)
