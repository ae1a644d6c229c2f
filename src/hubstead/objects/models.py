"""ORM models of verified large objects and the repos they were uploaded to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hubstead.db.base import Base, UTCDateTime, utcnow


class LfsObject(Base):
    """A large file stored whole in the BlobStore by its sha256, written only after the server hashed the bytes
    itself: its size is a fact, never a client's claim."""

    __tablename__ = "lfs_objects"

    oid: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RepoLfsObject(Base):
    """Repo ``repo_id`` may read (and commit pointers to) the verified object ``oid``: it was uploaded to it."""

    __tablename__ = "repo_lfs_objects"
    __table_args__ = (UniqueConstraint("repo_id", "oid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    oid: Mapped[str] = mapped_column(ForeignKey("lfs_objects.oid"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
