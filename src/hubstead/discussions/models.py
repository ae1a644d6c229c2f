"""ORM models for discussions and pull requests, and the events of their timelines."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hubstead.db.base import Base, UTCDateTime, str_enum, utcnow


class DiscussionStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"  # pull requests only
    DRAFT = "draft"  # pull requests only: opened without changes yet


class EventType(enum.StrEnum):
    COMMENT = "comment"
    STATUS_CHANGE = "status-change"
    TITLE_CHANGE = "title-change"
    COMMIT = "commit"


class Discussion(Base):
    """A discussion or a pull request; both share one numbering per repo, from 1. A pull request's changes
    live on the git ref ``refs/pr/{num}``; ``target_branch`` is the full ref it merges into."""

    __tablename__ = "discussions"
    __table_args__ = (
        UniqueConstraint("repo_id", "num"),
        Index("ix_discussions_repo_status", "repo_id", "status", "num"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"))
    num: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    # a deleted account leaves its discussions behind, shown as by "deleted" (as huggingface.co does)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[DiscussionStatus] = mapped_column(str_enum(DiscussionStatus))
    is_pull_request: Mapped[bool] = mapped_column(Boolean, default=False)
    target_branch: Mapped[str | None] = mapped_column(String(255), nullable=True)
    merge_commit_oid: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def git_ref(self) -> str:
        return f"refs/pr/{self.num}"


class DiscussionEvent(Base):
    """One entry of a discussion's timeline. ``data`` holds what the type needs: a comment's versions
    (``history``, newest first: ``raw``, ``updatedAt``, ``author``), a status (``status``), a title change
    (``from``, ``to``) or a commit (``subject``, ``oid``)."""

    __tablename__ = "discussion_events"
    __table_args__ = (Index("ix_discussion_events_discussion", "discussion_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"))
    type: Mapped[EventType] = mapped_column(str_enum(EventType))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
