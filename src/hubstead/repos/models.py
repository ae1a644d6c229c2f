"""ORM models for repositories and the LFS objects they may reference."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hubstead.db.base import Base, UTCDateTime, str_enum, utcnow


class RepoType(enum.StrEnum):
    MODEL = "model"
    DATASET = "dataset"
    SPACE = "space"

    @property
    def url_prefix(self) -> str:
        """Prefix of web and resolve URLs: ``""``, ``"datasets/"`` or ``"spaces/"``."""
        return "" if self is RepoType.MODEL else f"{self.value}s/"


class Repo(Base):
    __tablename__ = "repos"
    __table_args__ = (UniqueConstraint("type", "id_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[RepoType] = mapped_column(str_enum(RepoType, 8), index=True)
    namespace: Mapped[str] = mapped_column(String(96), index=True)
    name: Mapped[str] = mapped_column(String(96))
    # lower-cased "namespace/name": ids are unique regardless of case, as on huggingface.co
    id_key: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    gated: Mapped[str | None] = mapped_column(String(16), nullable=True)
    sdk: Mapped[str | None] = mapped_column(String(32), nullable=True)
    head_sha: Mapped[str | None] = mapped_column(String(40), nullable=True)
    card_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"


class LfsObject(Base):
    """A large file stored once in the BlobStore by its sha256, after its hash was checked."""

    __tablename__ = "lfs_objects"

    oid: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RepoLfsObject(Base):
    """Which repo may reference which LFS object: uploaded to it, or carried over by a move."""

    __tablename__ = "repo_lfs_objects"
    __table_args__ = (UniqueConstraint("repo_id", "oid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    oid: Mapped[str] = mapped_column(ForeignKey("lfs_objects.oid"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
