"""ScanService: the status of files and revisions (derived from the results of their contents), scan requests,
and which downloads a finding blocks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session

from hubstead.accounts.permissions import Actor
from hubstead.config import ScanningSettings
from hubstead.db.base import utcnow
from hubstead.db.upsert import insert_ignoring_duplicates
from hubstead.errors import UnsafeFileError
from hubstead.gitstore import GitRepo
from hubstead.jobs.services import JobQueue
from hubstead.repos.files import FileService, RepoEntry
from hubstead.repos.models import Repo
from hubstead.scanning.content import ContentKey, content_keys
from hubstead.scanning.formats import scan_format
from hubstead.scanning.models import ContentKind, ScanFormat, ScanRequest, ScanResult, Verdict
from hubstead.storage import BlobStore
from hubstead.xet.models import XetLfsConversion
from hubstead.xet.services import CasService

log = logging.getLogger("hubstead.scanning")
QUEUED = "queued"
# how a file's statuses combine when it has two contents (the worst wins)
RANK = {"safe": 0, "unscanned": 1, QUEUED: 2, "error": 3, "suspicious": 4, "unsafe": 5}
QUERY_CHUNK = 300
DISABLED = "Scanning is turned off on this hub"


SCAN_JOB = "scan.revision"  # the background job that scans a revision (scanning/tasks.py)


@dataclass(frozen=True)
class FileStatus:
    """What is known of one file: ``status`` is a verdict, ``queued`` or ``unscanned``. ``imports`` lists the
    globals its pickles import (None for formats without imports)."""

    path: str
    format: ScanFormat
    status: str
    scanner: str | None = None
    version: str | None = None
    imports: list[dict[str, Any]] | None = None
    message: str | None = None

    @property
    def has_issue(self) -> bool:
        return self.status not in ("safe", QUEUED)


@dataclass(frozen=True)
class RevisionStatus:
    scans_done: bool
    files: list[FileStatus] = field(default_factory=list)

    @property
    def files_with_issues(self) -> list[FileStatus]:
        return [f for f in self.files if f.has_issue]


class ScanService:
    """Reads results and records requests; never scans (see ``tasks.scan_revision``)."""

    def __init__(self, files: FileService, settings: ScanningSettings, queue: JobQueue | None = None) -> None:
        self.files = files
        self.session: Session = files.repos.session
        self.blobs: BlobStore = files.blobs
        self.settings = settings
        self.queue = queue

    # --- requests -----------------------------------------------------------------------------

    def request_scan(self, repo_pk: int, sha: str) -> None:
        """Ask for revision ``sha`` to be scanned: a ``scan.revision`` job queued in this unit of work (nothing if
        it rolls back). A revision already waiting is not asked for twice."""
        if not self.settings.enabled:
            return
        row = self.session.get(ScanRequest, (repo_pk, sha))
        if row is not None and row.finished_at is None:
            return
        if row is None:
            insert_ignoring_duplicates(
                self.session,
                ScanRequest,
                [{"repo_id": repo_pk, "commit_sha": sha, "requested_at": utcnow(), "attempts": 0}],
            )
        else:
            row.finished_at, row.requested_at, row.attempts = None, utcnow(), 0
        self.session.flush()
        if self.queue is not None:
            payload = {"repo": repo_pk, "sha": sha}
            self.queue.enqueue(
                self.session, SCAN_JOB, payload, dedup_key=f"{SCAN_JOB}:{repo_pk}:{sha}", repo_id=repo_pk
            )

    # --- statuses -----------------------------------------------------------------------------

    def may_read_files(self, repo: Repo, actor: Actor) -> bool:
        """Whether ``actor`` may see what a scan found inside the files (the imports of a pickle are its
        content): what downloads need. Anyone who may see the repo sees each file's status."""
        return self.files.repos.may_download(repo, actor)

    def unscanned(self, repo_pk: int, entries: Iterable[RepoEntry]) -> list[tuple[RepoEntry, ScanFormat, ContentKey]]:
        """The contents of scannable files among ``entries`` that have no result yet (each content once)."""
        scannable, keys, results = self._lookup(repo_pk, entries)
        missing = {(k, fmt): e for e, fmt in scannable for k in keys[e.path] if (k, fmt) not in results}
        return [(e, fmt, k) for (k, fmt), e in missing.items()]

    def file_statuses(self, repo: Repo, sha: str, entries: Iterable[RepoEntry]) -> dict[str, FileStatus]:
        """The status of each scannable file among ``entries`` (files of revision ``sha``), by path."""
        scannable, keys, results = self._lookup(repo.id, entries)
        out = {e.path: self._status(e, fmt, keys[e.path], results) for e, fmt in scannable}
        if any(s.status == QUEUED for s in out.values()):
            self.request_scan(repo.id, sha)  # content this hub has not scanned yet (older than scanning, or new)
        return out

    def revision_status(
        self, repo: Repo, git: GitRepo, sha: str, entries: Sequence[RepoEntry] | None = None
    ) -> RevisionStatus:
        """The status of revision ``sha``; ``entries``: its files, if the caller has them already."""
        if entries is None:
            entries = self.scannable_files(git, sha)
        files = [e for e in entries if scan_format(e.path)]
        statuses = sorted(self.file_statuses(repo, sha, files).values(), key=lambda s: s.path)
        return RevisionStatus(scans_done=all(s.status != QUEUED for s in statuses), files=statuses)

    def scannable_files(self, git: GitRepo, sha: str) -> list[RepoEntry]:
        """The files of revision ``sha`` a scanner reads (only their LFS pointers are read to tell)."""
        tree = git.iter_tree(sha, "", recursive=True)
        return [self.files.describe(git, e) for e in tree if e.type == "file" and scan_format(e.path)]

    def _lookup(
        self, repo_pk: int, entries: Iterable[RepoEntry]
    ) -> tuple[
        list[tuple[RepoEntry, ScanFormat]],
        dict[str, tuple[ContentKey, ...]],
        dict[tuple[ContentKey, ScanFormat], ScanResult],
    ]:
        scannable = [(e, fmt) for e in entries if e.entry.type == "file" and (fmt := scan_format(e.path))]
        if not scannable:
            return [], {}, {}
        keys = content_keys(self.session, self.blobs, repo_pk, [e for e, _ in scannable])
        return scannable, keys, self._results({(k, fmt) for e, fmt in scannable for k in keys[e.path]})

    def _status(
        self,
        entry: RepoEntry,
        fmt: ScanFormat,
        keys: Sequence[ContentKey],
        results: dict[tuple[ContentKey, ScanFormat], ScanResult],
    ) -> FileStatus:
        if not keys:
            return FileStatus(entry.path, fmt, "error", message="The repository holds no bytes for this file")
        found = [results.get((k, fmt)) for k in keys]
        if any(r is None for r in found):
            if not self.settings.enabled:
                return FileStatus(entry.path, fmt, "unscanned", message=DISABLED)
            return FileStatus(entry.path, fmt, QUEUED)
        done = [r for r in found if r is not None]
        worst = max(done, key=lambda r: RANK[r.verdict.value])
        imports = {(i["module"], i["name"]): i for r in done for i in (r.imports or [])}
        return FileStatus(
            entry.path,
            fmt,
            worst.verdict.value,
            worst.scanner,
            worst.scanner_version,
            [imports[k] for k in sorted(imports)] if fmt is ScanFormat.PICKLE else None,
            worst.message,
        )

    def _results(self, wanted: set[tuple[ContentKey, ScanFormat]]) -> dict[tuple[ContentKey, ScanFormat], ScanResult]:
        """The results for ``wanted``; a result of a file that was too large then and fits now is no result."""
        out: dict[tuple[ContentKey, ScanFormat], ScanResult] = {}
        items = sorted(wanted)
        for start in range(0, len(items), QUERY_CHUNK):
            chunk = items[start : start + QUERY_CHUNK]
            condition = tuple_(ScanResult.kind, ScanResult.digest, ScanResult.format).in_(
                [(k.kind, k.digest, fmt) for k, fmt in chunk]
            )
            for row in self.session.scalars(select(ScanResult).where(condition)):
                if row.too_large and row.size <= self.settings.max_file_size:
                    continue
                out[(ContentKey(row.kind, row.digest), row.format)] = row
        return out

    # --- blocking downloads -------------------------------------------------------------------

    def check_download(self, repo_pk: int, entry: RepoEntry) -> None:
        """UnsafeFileError if downloads of unsafe files are blocked and this file's content is one."""
        if not self.settings.block_unsafe_downloads:
            return
        fmt = scan_format(entry.path)
        if fmt is None:
            return
        keys = content_keys(self.session, self.blobs, repo_pk, [entry])[entry.path]
        self._refuse_unsafe([(k, fmt) for k in keys], entry.path)

    def check_lfs_download(self, repo_pk: int, oid: str) -> None:
        """The same for an LFS object fetched by its sha256 (git-lfs), whatever format its files have."""
        if not self.settings.block_unsafe_downloads:
            return
        keys = [ContentKey(ContentKind.LFS, oid)]
        keys += [ContentKey(ContentKind.XET, h) for h in self._xet_files_of(repo_pk, oid)]
        self._refuse_unsafe([(k, fmt) for k in keys for fmt in ScanFormat], f"LFS object {oid}")

    def refuse_unsafe_lfs_objects(self, repo_pk: int, batch: dict[str, Any]) -> dict[str, Any]:
        """An LFS batch download answer in which each object found unsafe is an error (403) instead of a link,
        when the hub blocks unsafe downloads."""
        if not self.settings.block_unsafe_downloads:
            return batch
        objects = []
        for item in batch.get("objects", []):
            if "actions" in item:
                try:
                    self.check_lfs_download(repo_pk, item["oid"])
                except UnsafeFileError as exc:
                    item = {"oid": item["oid"], "size": item["size"], "error": {"code": 403, "message": exc.message}}
            objects.append(item)
        return batch | {"objects": objects}

    def check_xet_download(self, file_hash: str) -> None:
        """The same for a Xet file: unsafe itself, or the checked conversion of an unsafe LFS object."""
        if not self.settings.block_unsafe_downloads:
            return
        shas = self.session.scalars(select(XetLfsConversion.sha256).where(XetLfsConversion.file_hash == file_hash))
        keys = [ContentKey(ContentKind.XET, file_hash)] + [ContentKey(ContentKind.LFS, s) for s in shas]
        self._refuse_unsafe([(k, fmt) for k in keys for fmt in ScanFormat], f"Xet file {file_hash}")

    def _xet_files_of(self, repo_pk: int, oid: str) -> list[str]:
        ref = CasService(self.session, self.blobs).find_for_repo(repo_pk, oid)
        return [ref.file_hash] if ref is not None else []

    def _refuse_unsafe(self, wanted: list[tuple[ContentKey, ScanFormat]], what: str) -> None:
        if not wanted:
            return
        condition = or_(
            *(
                (ScanResult.kind == k.kind) & (ScanResult.digest == k.digest) & (ScanResult.format == fmt)
                for k, fmt in wanted
            )
        )
        unsafe = self.session.scalars(select(ScanResult).where(condition, ScanResult.verdict == Verdict.UNSAFE)).first()
        if unsafe is None:
            return
        dangerous = [i for i in (unsafe.imports or []) if i.get("safety") == "dangerous"]
        found = ", ".join(f"{i['module']}.{i['name']}" for i in dangerous)
        detail = f" (it imports {found})" if found else f" ({unsafe.message})" if unsafe.message else ""
        raise UnsafeFileError(
            f"{what} was found unsafe by this hub's file scanner{detail}: downloads of unsafe files are blocked"
        )
