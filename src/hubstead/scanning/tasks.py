"""The one seam through which scanning runs: ``scan_revision(hub, repo_pk, sha)`` scans what revision ``sha`` of
a repo holds that was never scanned. It is idempotent: content already scanned (here or in any other repo) is
skipped, and each file's result is recorded as soon as it is known, so a second run, or a run after a crash,
does only what is left. It is the handler of the ``scan.revision`` background job, which commits and pushes queue
in their own unit of work (``ScanService.request_scan``)."""

from __future__ import annotations

import logging
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from hubstead.config import Settings
from hubstead.db.base import utcnow
from hubstead.db.upsert import insert_ignoring_duplicates
from hubstead.errors import HubsteadError, JobFailedError
from hubstead.gitstore import GitRepo, GitStore
from hubstead.jobs.tasks import JobContext, Task, TaskRegistry
from hubstead.repos.files import FileService, ResolvedFile
from hubstead.repos.models import Repo
from hubstead.repos.services import RepoService
from hubstead.scanning import sandbox
from hubstead.scanning.content import ContentChangedError, ContentKey, read_content, write_content
from hubstead.scanning.formats import MAX_HEADER_SIZE
from hubstead.scanning.models import ScanFormat, ScanRequest, ScanResult, Verdict
from hubstead.scanning.services import SCAN_JOB, ScanService
from hubstead.storage import BlobStore

log = logging.getLogger("hubstead.scanning")
MAX_ATTEMPTS = 3  # runs of one request that ended in a crash before its results are recorded as errors
SCAN_ATTEMPTS = 3
SCAN_TIMEOUT_SECONDS = 6 * 3600  # a revision of many large pickles; each file has its own limit too


class Adapters(Protocol):
    """What a scan needs of the hub (``hubstead.hub.Hub`` and a job's adapters have it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def git(self) -> GitStore: ...

    @property
    def blobs(self) -> BlobStore: ...


@dataclass(frozen=True)
class Pending:
    """One content of one file at the revision that has no result yet."""

    path: str
    format: ScanFormat
    size: int
    key: ContentKey


def scan_revision(hub: Adapters, repo_pk: int, sha: str, stop: Callable[[], bool] = lambda: False) -> int:
    """Scan what revision ``sha`` of repo ``repo_pk`` holds that has no result yet; returns how many contents
    were scanned. ``stop`` is asked between files (a hub shutting down leaves the rest to its next start)."""
    attempts, pending = _plan(hub, repo_pk, sha) if hub.settings.scanning.enabled else (0, [])
    if attempts > MAX_ATTEMPTS:
        for item in pending:  # this revision crashed the scan each time: say so rather than try forever
            _record(hub, item, sandbox.Finding("error", "hubstead", "", message="the scan failed repeatedly"))
        pending = []
    scanned = 0
    for item in pending:
        if stop():
            return scanned
        finding = _scan_one(hub, repo_pk, sha, item)
        if finding is not None:
            _record(hub, item, finding)
            scanned += 1
    with hub.sessions.begin() as session:
        request = session.get(ScanRequest, (repo_pk, sha))
        if request is not None:
            request.finished_at = utcnow()
    return scanned


def register(registry: TaskRegistry) -> None:
    registry.add(Task(SCAN_JOB, scan_task, max_attempts=SCAN_ATTEMPTS, timeout_seconds=SCAN_TIMEOUT_SECONDS))


def scan_task(ctx: JobContext) -> None:
    repo_pk, sha = ctx.payload.get("repo"), ctx.payload.get("sha")
    if not isinstance(repo_pk, int) or not isinstance(sha, str):
        raise JobFailedError(f"A scan job needs a repo id and a commit sha: {ctx.payload!r}")
    scanned = scan_revision(ctx.adapters, repo_pk, sha, ctx.cancelled)
    ctx.log(f"scanned {scanned} file content(s) of {sha}")


def _plan(hub: Adapters, repo_pk: int, sha: str) -> tuple[int, list[Pending]]:
    with hub.sessions.begin() as session:
        request = session.get(ScanRequest, (repo_pk, sha))
        attempts = 0
        if request is not None:
            request.attempts += 1
            attempts = request.attempts
        repo = session.get(Repo, repo_pk)
        if repo is None:
            return attempts, []
        files = _files(session, hub)
        try:
            git, commit = files.resolve(repo, sha)
        except HubsteadError:
            return attempts, []  # the commit is gone (a branch deleted before its scan ran): nothing to scan
        scans = ScanService(files, hub.settings.scanning)  # no queue: planning a scan requests none
        pending = [
            Pending(entry.path, fmt, entry.size, key)
            for entry, fmt, key in scans.unscanned(repo_pk, scans.scannable_files(git, commit))
        ]
    return attempts, list({(p.key, p.format): p for p in pending}.values())


def _files(session: Session, hub: Adapters) -> FileService:
    return FileService(RepoService(session, hub.git, hub.blobs), hub.blobs)


def _scan_one(hub: Adapters, repo_pk: int, sha: str, item: Pending) -> sandbox.Finding | None:
    """Read the content into a temp file and scan it in the sandbox; None if it cannot be read as planned."""
    settings = hub.settings.scanning
    if item.format is ScanFormat.PICKLE and item.size > settings.max_file_size:
        return sandbox.Finding(
            "unscanned",
            sandbox.PICKLESCAN,
            "",
            message=f"Not scanned: the file is larger than this hub scans ({settings.max_file_size} bytes)",
            extra={"too_large": True},
        )
    workdir = hub.settings.data_dir / "tmp" / "scanning"
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "content"
        try:
            with hub.sessions() as session:
                files = _files(session, hub)
                repo = session.get(Repo, repo_pk)
                if repo is None:
                    return None
                git, file = files.get_file(repo, sha, item.path)
                if item.format is ScanFormat.SAFETENSORS:
                    _write_header(files, git, file, item, path)
                else:
                    write_content(files, git, file, item.key, item.size, path)
        except (ContentChangedError, HubsteadError) as exc:
            # the stored bytes are damaged or gone: recorded as an error, not retried on every look
            log.warning("could not read %s at %s in repo %s: %s", item.path, sha, repo_pk, exc)
            return sandbox.Finding("error", "hubstead", "", message=f"The file's bytes could not be read: {exc}")
        limits = sandbox.Limits(settings.timeout_seconds, settings.memory_limit)
        return sandbox.run(item.format.value, path, item.size, limits)


def _write_header(files: FileService, git: GitRepo, file: ResolvedFile, item: Pending, path: Path) -> None:
    """A safetensors file's length and header (never its tensors), as far as the file has them."""
    head = b"".join(read_content(files, git, file, item.key, 0, min(8, item.size)))
    length = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
    if 0 < length <= MAX_HEADER_SIZE and 8 + length <= item.size:
        head = b"".join(read_content(files, git, file, item.key, 0, 8 + length))
    path.write_bytes(head)


def _record(hub: Adapters, item: Pending, finding: sandbox.Finding) -> None:
    row = {
        "kind": item.key.kind,
        "digest": item.key.digest,
        "format": item.format,
        "size": item.size,
        "verdict": Verdict(finding.verdict),
        "scanner": finding.scanner[:32],
        "scanner_version": finding.version[:32],
        "imports": finding.imports,
        "message": (finding.message or "")[:500] or None,
        "too_large": bool(finding.extra.get("too_large")),
        "scanned_at": utcnow(),
    }
    with hub.sessions.begin() as session:
        # a result kept because the file was too large then is replaced (the limit was raised)
        session.execute(
            delete(ScanResult).where(
                ScanResult.kind == item.key.kind,
                ScanResult.digest == item.key.digest,
                ScanResult.format == item.format,
                ScanResult.too_large.is_(True),
            )
        )
        insert_ignoring_duplicates(session, ScanResult, [row])
    log.info("scanned %s (%s %s): %s", item.path, item.key.kind.value, item.key.digest, finding.verdict)
