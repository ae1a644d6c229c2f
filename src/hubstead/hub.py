"""The adapters one running Hubstead shares between requests, built from settings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from anyio import CapacityLimiter
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from hubstead.accounts.delegation import DelegatedTokens
from hubstead.accounts.services import record_token_uses
from hubstead.config import Settings
from hubstead.datasets.duck import DuckPool
from hubstead.db import migrate
from hubstead.db.engine import make_engine, make_session_factory
from hubstead.gitstore import GitStore
from hubstead.gitstore.transport import GitTransport
from hubstead.inference.client import WorkerClient
from hubstead.jobs.services import DbJobQueue, Doorbell
from hubstead.jobs.tasks import Adapters, TaskRegistry, build_registry
from hubstead.jobs.worker import Worker
from hubstead.objects.signing import UrlSigner
from hubstead.ratelimit import InMemoryRateLimiter, RateLimiter
from hubstead.repos.lfs import LfsLimits
from hubstead.repos.reconcile import Finding, Reconciler
from hubstead.repos.services import RepoService
from hubstead.repos.stats import RecentRequesters
from hubstead.storage import BlobStore, LocalBlobStore
from hubstead.xet.services import RecentXetHashes
from hubstead.xet.tasks import queue_conversion
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
    recent_xet_hashes: RecentXetHashes = field(default_factory=RecentXetHashes)
    doorbell: Doorbell = field(default_factory=Doorbell)
    worker: Worker | None = None  # the in-process one, while it runs
    inference_client: WorkerClient | None = None  # to the inference worker, made on first use

    @classmethod
    def from_settings(cls, settings: Settings, *, blobs: BlobStore | None = None, migrate_db: bool = True) -> Hub:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        if migrate_db:
            migrate.upgrade(engine)
        sessions = make_session_factory(engine)
        event.listen(sessions, "before_commit", record_token_uses)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            git=GitStore(settings.data_dir / "repos"),
            blobs=blobs if blobs is not None else LocalBlobStore(settings.data_dir / "blobs"),
            signer=UrlSigner(settings.resolved_secret_key(), settings.signed_url_ttl_seconds),
        )

    @cached_property
    def delegated_tokens(self) -> DelegatedTokens:
        """Tokens for compute workers: read one repo for the caller they serve, for a few minutes."""
        return DelegatedTokens(self.settings.resolved_secret_key(), self.settings.inference.token_ttl_seconds)

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

    # --- background jobs ---------------------------------------------------------------------------------

    @cached_property
    def tasks(self) -> TaskRegistry:
        """Every job kind this process knows (the features' and HUBSTEAD_JOBS__TASK_MODULES')."""
        return build_registry(self.settings.jobs.task_modules)

    @cached_property
    def jobs(self) -> DbJobQueue:
        return DbJobQueue(self.sessions, self.tasks, self.settings.jobs, doorbell=self.doorbell)

    @cached_property
    def duckdb(self) -> DuckPool:
        """The dataset viewer's open index files (read-only DuckDB connections)."""
        return DuckPool(self.settings)

    @property
    def adapters(self) -> Adapters:
        return Adapters(settings=self.settings, sessions=self.sessions, blobs=self.blobs, git=self.git)

    def make_worker(self, kinds: Sequence[str] | None = None, concurrency: int | None = None) -> Worker:
        """A worker over this hub's queue (not started): ``kinds`` are pools or job kinds (default: the settings')."""
        return Worker(
            self.jobs, self.tasks, self.adapters, self.settings.jobs,
            kinds=kinds, concurrency=concurrency, doorbell=self.doorbell,
        )  # fmt: skip

    def start_worker(self) -> Worker:
        """Start the in-process worker (``hubstead serve`` does, unless told not to)."""
        if self.worker is None:
            self.worker = self.make_worker().start()
        return self.worker

    def stop_worker(self, grace: float | None = None) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop(grace)

    def wait_for_jobs(self, timeout: float | None = None) -> None:
        """Run the queued jobs of every kind in this thread, and wait for those running elsewhere, until none is
        left that may run now (tests; jobs waiting out a retry's back-off are not waited for)."""
        worker = self.make_worker(kinds=self.tasks.pools)
        try:
            worker.drain(timeout)
        finally:
            worker.close()

    def reconcile(self, *, repair: bool = True, remove_orphans: bool = False) -> list[Finding]:
        """Bring the database into agreement with git after a crash (``hubstead serve`` does before it serves;
        ``hubstead admin check``): what disagreed, and what was repaired (hubstead.repos.reconcile)."""
        with self.sessions.begin() as session:
            repos = RepoService(session, self.git, self.blobs)
            return Reconciler(repos, self.git).check(repair=repair, remove_orphans=remove_orphans)

    def convert_to_xet(self, session: Session, oid: str, repo_pk: int | None = None) -> None:
        """Queue the chunking of a newly uploaded LFS object into xorbs, in the unit of work that records it (it
        stays downloadable through LFS meanwhile, and if the conversion fails)."""
        if self.settings.xet.convert_lfs:
            queue_conversion(self.jobs, session, oid, repo_pk)

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
        self.stop_worker()
        if "rate_limiter" in self.__dict__:
            self.rate_limiter.close()
        if "duckdb" in self.__dict__:
            self.duckdb.close()
        self.engine.dispose()
