"""ORM models for accounts. Users and organisations share one namespace table."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hubstead.db.base import Base, UTCDateTime, str_enum, utcnow


class AccountType(enum.StrEnum):
    USER = "user"
    ORG = "org"


class OrgRole(enum.StrEnum):
    READ = "read"
    CONTRIBUTOR = "contributor"
    WRITE = "write"
    ADMIN = "admin"


class TokenRole(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    FINE_GRAINED = "fineGrained"  # rights listed in Token.fine_grained (see accounts/scopes.py)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused (migration 0012)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(96), unique=True, index=True)
    # lower-cased name: two accounts may not differ only by case
    name_key: Mapped[str] = mapped_column(String(96), unique=True)
    type: Mapped[AccountType] = mapped_column(str_enum(AccountType, 8))
    fullname: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    role: Mapped[OrgRole] = mapped_column(str_enum(OrgRole))

    org: Mapped[Account] = relationship(foreign_keys=[org_id], lazy="joined")
    user: Mapped[Account] = relationship(foreign_keys=[user_id], lazy="joined")


class Token(Base):
    __tablename__ = "tokens"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused (migration 0012)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[TokenRole] = mapped_column(str_enum(TokenRole))
    # sha256 of the token: tokens are shown once and never stored in clear
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # fine-grained tokens only: {"global": [...], "scoped": [...], "canReadGatedRepos": bool}, added by 0006
    fine_grained: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    user: Mapped[Account] = relationship(lazy="joined")


class WebSession(Base):
    """A signed-in browser (see accounts/sessions.py)."""

    __tablename__ = "web_sessions"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused (migration 0012)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # sha256 of the cookie's value: a stolen database holds no usable session
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[Account] = relationship(lazy="joined")
