"""The adapters one running Hubstead shares between requests, built from settings."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from anyio import CapacityLimiter
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hubstead.config import Settings
from hubstead.db import migrate
from hubstead.db.engine import make_engine, make_session_factory
from hubstead.gitstore import GitStore
from hubstead.gitstore.transport import GitTransport
from hubstead.objects.signing import UrlSigner
from hubstead.ratelimit import InMemoryRateLimiter, RateLimiter
from hubstead.repos.lfs import LfsLimits
from hubstead.repos.stats import RecentRequesters
from hubstead.scanning.tasks import resume_scans, scan_revision
from hubstead.storage import BlobStore, LocalBlobStore
from hubstead.xet.convert import convert_in_background
from hubstead.xet.services import RecentXetHashes
from hubstead.xet.tokens import CasTokens

COMMIT_THREADS = 8  # commits are short: a few threads keep up with a full pool of requests


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    git: GitStore
    blobs: BlobStore
    signer: UrlSigner
    recent_requesters: RecentRequesters = field(default_factory=RecentRequesters)
    stats_rolled_on: date | None = None
    _conversions: list[Future[None]] = field(default_factory=list)
    recent_xet_hashes: RecentXetHashes = field(default_factory=RecentXetHashes)
    _scans: list[Future[int]] = field(default_factory=list)
    _scans_lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def from_settings(cls, settings: Settings, *, blobs: BlobStore | None = None, migrate_db: bool = True) -> Hub:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        if migrate_db:
            migrate.upgrade(engine)
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_session_factory(engine),
            git=GitStore(settings.data_dir / "repos"),
            blobs=blobs if blobs is not None else LocalBlobStore(settings.data_dir / "blobs"),
            signer=UrlSigner(settings.resolved_secret_key(), settings.signed_url_ttl_seconds),
        )

    @property
    def lfs_limits(self) -> LfsLimits:
        return LfsLimits(
            multipart_threshold=self.settings.lfs_multipart_threshold,
            multipart_chunk_size=self.settings.lfs_multipart_chunk_size,
        )

    @cached_property
    def git_transport(self) -> GitTransport:
        """git clone/fetch/push over HTTP; its receive hooks live next to the repos."""
        return GitTransport(self.git, self.settings.data_dir / "git-hooks")

    @cached_property
    def _xet_converter(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(1, thread_name_prefix="xet-convert")

    def convert_to_xet(self, oid: str) -> Future[None] | None:
        """Chunk a newly uploaded LFS object into xorbs, one object at a time in the background (it stays
        downloadable through LFS meanwhile, and if it fails)."""
        if not self.settings.xet.convert_lfs:
            return None
        future = self._xet_converter.submit(convert_in_background, self.sessions, self.blobs, oid)
        self._conversions.append(future)
        self._conversions = [f for f in self._conversions if not f.done()]
        return future

    def wait_for_conversions(self, timeout: float | None = None) -> None:
        for future in list(self._conversions):
            future.result(timeout)

    # --- scanning: in-process until background jobs take it over (the seam is scan_revision) ----------------

    @cached_property
    def _scanner(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(1, thread_name_prefix="scan")

    def submit_scan(self, repo_pk: int, sha: str) -> Future[int]:
        """Scan revision ``sha`` of a repo in the background, one revision at a time (``ScanQueue``; called
        once the unit of work that asked for it has committed)."""
        future = self._scanner.submit(scan_revision, self, repo_pk, sha, self._stopping.is_set)
        with self._scans_lock:
            self._scans = [f for f in self._scans if not f.done()] + [future]
        return future

    def resume_scans(self) -> int:
        """Queue the scans a previous run of the hub left unfinished (at start-up)."""
        return resume_scans(self, self.submit_scan)

    def wait_for_scans(self, timeout: float | None = None) -> None:
        """Wait until every scan queued so far (and any queued meanwhile) has finished; raises what one raised."""
        while True:
            with self._scans_lock:
                pending = [f for f in self._scans if not f.done()]
            if not pending:
                return
            for future in pending:
                future.result(timeout)

    @cached_property
    def commit_limiter(self) -> CapacityLimiter:
        """Threads that end requests' units of work, apart from the pool routes run in (see api/deps.py);
        created on first use, inside the server's event loop."""
        return CapacityLimiter(COMMIT_THREADS)

    @cached_property
    def cas_tokens(self) -> CasTokens:
        """Tokens for the Xet CAS (xet-read-token / xet-write-token)."""
        return CasTokens(self.settings.resolved_secret_key(), self.settings.xet.token_ttl_seconds)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Request and sign-in counters (see config.RateLimitSettings)."""
        limits = self.settings.rate_limit
        if limits.backend == "redis":
            from hubstead.ratelimit.redis import RedisRateLimiter

            return RedisRateLimiter(limits.redis_url or "")
        return InMemoryRateLimiter()

    def close(self) -> None:
        self._stopping.set()  # a scan under way stops after its current file; the next start resumes it
        if "_scanner" in self.__dict__:
            self._scanner.shutdown(wait=True, cancel_futures=True)
        if "_xet_converter" in self.__dict__:
            self._xet_converter.shutdown(wait=True, cancel_futures=True)
        if "rate_limiter" in self.__dict__:
            self.rate_limiter.close()
        self.engine.dispose()
