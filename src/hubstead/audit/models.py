"""ORM model of the audit log. Names are copied, not referenced: the log outlives the accounts and repos
it mentions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hubstead.db.base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)  # e.g. "token.create", "repo.delete"
    actor: Mapped[str | None] = mapped_column(String(96), nullable=True)  # account name; None: system or CLI
    token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the token the actor used, if any
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    target_type: Mapped[str] = mapped_column(String(16))  # user, org, token, model, dataset, space
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
