"""ORM models for repositories, their tags, likes, downloads and access requests (large objects: hubstead.objects)."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
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


def new_repo_uid() -> str:
    return uuid.uuid4().hex


class Repo(Base):
    __tablename__ = "repos"
    __table_args__ = (
        UniqueConstraint("type", "id_key"),
        # listings sort within a repo type; the id breaks ties for keyset pagination
        Index("ix_repos_type_downloads", "type", "downloads", "id"),
        Index("ix_repos_type_likes", "type", "likes", "id"),
        Index("ix_repos_type_trending", "type", "trending_score", "id"),
        Index("ix_repos_type_created", "type", "created_at", "id"),
        Index("ix_repos_type_modified", "type", "last_modified", "id"),
        Index("ix_repos_type_namespace", "type", "namespace"),
        # ids are never reused (SQLite would hand a deleted repo's id to the next one without it)
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # which repo this is, for good: a new repo under a deleted one's name (or id) has another uid, so what was
    # handed out for the old one (CAS tokens, signed URLs) does not open the new one. Added by migration 0012.
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=new_repo_uid)
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
    # indexed card and file facts (see repos/indexing.py); tags live in repo_tags
    pipeline_tag: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    library_name: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    model_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tags: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    file_facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # server defaults as in migration 0002, which added these columns to existing rows
    downloads: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))  # last 30 days
    downloads_all_time: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    likes: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    trending_score: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # branch protection, added by migration 0003: refuse non-fast-forward pushes to main
    protect_main: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"


class RepoTag(Base):
    """One tag of a repo (from its card and files, derived tags included): what ``filter=`` matches."""

    __tablename__ = "repo_tags"
    __table_args__ = (Index("ix_repo_tags_tag_repo", "tag", "repo_id"),)

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(200), primary_key=True)


class RepoLike(Base):
    __tablename__ = "repo_likes"

    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RepoDownloadDay(Base):
    """Counted downloads of a repo on one UTC day."""

    __tablename__ = "repo_download_days"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class RepoInferenceCalls(Base):
    """Calls of the inference API on a model (shown on its page)."""

    __tablename__ = "repo_inference_calls"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    last_called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AccessRequestStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class AccessRequest(Base):
    """A user's request to download the files of a gated repo, and the decision on it (see repos/gating.py)."""

    __tablename__ = "access_requests"
    __table_args__ = (
        UniqueConstraint("repo_id", "user_id"),
        Index("ix_access_requests_repo_status", "repo_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    status: Mapped[AccessRequestStatus] = mapped_column(str_enum(AccessRequestStatus))
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # what the gate form asked
    rejection_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(96), nullable=True)  # who accepted or rejected it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
