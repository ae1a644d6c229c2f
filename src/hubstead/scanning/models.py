"""ORM models: what a scan found in some bytes (keyed by the content, never by repo or path), and which
revisions were asked to be scanned (the in-process queue, and what a restart resumes)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hubstead.db.base import Base, UTCDateTime, str_enum, utcnow


class Verdict(enum.StrEnum):
    """A finished scan's outcome, in huggingface.co's words. ``unscanned`` is a file no scanner read (too large);
    ``error`` one the scanner could not finish (malformed, or past its time and memory limits)."""

    SAFE = "safe"
    SUSPICIOUS = "suspicious"
    UNSAFE = "unsafe"
    ERROR = "error"
    UNSCANNED = "unscanned"


class ContentKind(enum.StrEnum):
    """Whose hash ``digest`` is: a git blob (regular files), a whole LFS object whose sha256 was checked on
    upload, or a Xet file (chunks hashed on upload) that a repo serves in place of an LFS object it lacks."""

    GIT = "git"
    LFS = "lfs"
    XET = "xet"


class ScanFormat(enum.StrEnum):
    PICKLE = "pickle"  # pickles and what holds them: PyTorch (zip or legacy), joblib, numpy, zip archives
    SAFETENSORS = "safetensors"


class ScanResult(Base):
    """One scan of some bytes in one format. The same bytes are scanned once, whichever repo or path holds them."""

    __tablename__ = "scan_results"

    kind: Mapped[ContentKind] = mapped_column(str_enum(ContentKind, 8), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[ScanFormat] = mapped_column(str_enum(ScanFormat, 16), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    verdict: Mapped[Verdict] = mapped_column(str_enum(Verdict, 16), index=True)
    scanner: Mapped[str] = mapped_column(String(32))
    scanner_version: Mapped[str] = mapped_column(String(32))
    # [{"module", "name", "safety": innocuous | suspicious | dangerous}], for pickle formats
    imports: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    message: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # not scanned because of max_file_size: scanned again once the limit allows it
    too_large: Mapped[bool] = mapped_column(Boolean, default=False)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScanRequest(Base):
    """Revision ``commit_sha`` of a repo is to be scanned (``finished_at`` unset) or was. Written in the unit of
    work of the commit or push that made it; a hub that starts resumes the unfinished ones."""

    __tablename__ = "scan_requests"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    commit_sha: Mapped[str] = mapped_column(String(40), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
