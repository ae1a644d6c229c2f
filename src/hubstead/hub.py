"""The adapters one running Hubstead shares between requests, built from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hubstead.config import Settings
from hubstead.db import migrate
from hubstead.db.engine import make_engine, make_session_factory
from hubstead.gitstore import GitStore
from hubstead.gitstore.transport import GitTransport
from hubstead.ratelimit import InMemoryRateLimiter, RateLimiter
from hubstead.repos.lfs import LfsLimits
from hubstead.repos.signing import UrlSigner
from hubstead.repos.stats import RecentRequesters
from hubstead.storage import BlobStore, LocalBlobStore


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
    def rate_limiter(self) -> RateLimiter:
        """Request and sign-in counters (see config.RateLimitSettings)."""
        limits = self.settings.rate_limit
        if limits.backend == "redis":
            from hubstead.ratelimit.redis import RedisRateLimiter

            return RedisRateLimiter(limits.redis_url or "")
        return InMemoryRateLimiter()

    def close(self) -> None:
        if "rate_limiter" in self.__dict__:
            self.rate_limiter.close()
        self.engine.dispose()
