"""Download counts and likes: what a repo's ``downloads``, ``downloadsAllTime``, ``likes`` and
``trendingScore`` are made of.

A download is counted on a GET of one of a repo's counted files that starts at byte 0 (HEADs, and range
requests that resume or seek, are not downloads): for a model its ``config.json`` (or, without one, its
weight files); for a dataset its data files, at most once a minute per requester (one ``load_dataset``
fetches many files). ``downloads`` covers the last 30 UTC days. ``trendingScore`` is the last 7 days'
activity: 10 points per like plus 1 per download."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hubstead.accounts.models import Account
from hubstead.db.base import utcnow
from hubstead.repos.models import Repo, RepoDownloadDay, RepoInferenceCalls, RepoLike, RepoType

WINDOW_DAYS = 30
TRENDING_DAYS = 7
LIKE_WEIGHT = 10
MODEL_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".onnx", ".pt", ".pth", ".h5", ".msgpack", ".ckpt")
NOT_DATA = frozenset({"README.md", ".gitattributes", ".gitignore"})
DATASET_DEDUPE_SECONDS = 60.0


def is_counted_file(repo_type: RepoType, path: str, file_exists: Callable[[str], bool]) -> bool:
    if repo_type is RepoType.MODEL:
        if path == "config.json":
            return True
        return path.endswith(MODEL_WEIGHT_SUFFIXES) and not file_exists("config.json")
    if repo_type is RepoType.DATASET:
        name = path.rsplit("/", 1)[-1]
        return path not in NOT_DATA and not name.endswith((".py", ".md")) and not name.startswith(".")
    return False


class RecentRequesters:
    """Remembers (requester, repo) pairs for a short time, so many files of one load count once."""

    def __init__(self, ttl_seconds: float = DATASET_DEDUPE_SECONDS) -> None:
        self.ttl = ttl_seconds
        self._seen: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def first_time(self, requester: str, repo_pk: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 100_000:
                self._seen = {k: t for k, t in self._seen.items() if now - t < self.ttl}
            last = self._seen.get((requester, repo_pk))
            self._seen[(requester, repo_pk)] = now
        return last is None or now - last >= self.ttl


class StatsService:
    """Counts downloads, records likes, and keeps the denormalised counters on ``repos`` current."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def count_download(
        self, repo: Repo, path: str, file_exists: Callable[[str], bool], requester: str, recent: RecentRequesters
    ) -> bool:
        """Count a whole-file GET of ``path`` if it is one of the repo's counted files."""
        if not is_counted_file(repo.type, path, file_exists):
            return False
        if repo.type is RepoType.DATASET and not recent.first_time(requester, repo.id):
            return False
        self.record_download(repo)
        return True

    def record_download(self, repo: Repo, today: date | None = None) -> None:
        day = today or utcnow().date()
        self._upsert_day(repo.id, day)
        self.session.execute(
            update(Repo)
            .where(Repo.id == repo.id)
            .values(downloads=Repo.downloads + 1, downloads_all_time=Repo.downloads_all_time + 1)
        )
        self._refresh_trending(repo.id, day)

    def _upsert_day(self, repo_pk: int, day: date) -> None:
        dialect = self.session.get_bind().dialect.name
        values = {"repo_id": repo_pk, "day": day, "count": 1}
        if dialect in ("sqlite", "postgresql"):
            insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(RepoDownloadDay).values(**values)
            self.session.execute(
                insert.on_conflict_do_update(
                    index_elements=["repo_id", "day"], set_={"count": RepoDownloadDay.count + 1}
                )
            )
            return
        changed = self.session.execute(
            update(RepoDownloadDay)
            .where(RepoDownloadDay.repo_id == repo_pk, RepoDownloadDay.day == day)
            .values(count=RepoDownloadDay.count + 1)
        )
        if getattr(changed, "rowcount", 0) == 0:
            try:
                with self.session.begin_nested():
                    self.session.add(RepoDownloadDay(**values))
            except IntegrityError:
                self._upsert_day(repo_pk, day)

    def count_inference_call(self, repo: Repo) -> None:
        """One more call of the inference API on ``repo`` (an upsert: no read, no race between replicas)."""
        now = utcnow()
        dialect = self.session.get_bind().dialect.name
        module = sqlite if dialect == "sqlite" else postgresql
        insert = module.insert(RepoInferenceCalls).values(repo_id=repo.id, calls=1, last_called_at=now)
        self.session.execute(
            insert.on_conflict_do_update(
                index_elements=["repo_id"], set_={"calls": RepoInferenceCalls.calls + 1, "last_called_at": now}
            )
        )

    def inference_calls(self, repo: Repo) -> int:
        return self.session.scalar(select(RepoInferenceCalls.calls).where(RepoInferenceCalls.repo_id == repo.id)) or 0

    def roll_windows(self, today: date | None = None) -> int:
        """Recompute 30-day and trending counters of repos whose old activity fell out of the windows."""
        day = today or utcnow().date()
        window_start = day - timedelta(days=WINDOW_DAYS - 1)
        trending_start = day - timedelta(days=TRENDING_DAYS - 1)
        stale = set(
            self.session.scalars(
                select(RepoDownloadDay.repo_id).where(
                    RepoDownloadDay.day < trending_start, RepoDownloadDay.day >= window_start - timedelta(days=3)
                )
            )
        )
        stale |= set(
            self.session.scalars(
                select(RepoLike.repo_id).where(
                    RepoLike.created_at < _midnight(trending_start),
                    RepoLike.created_at >= _midnight(trending_start - timedelta(days=3)),
                )
            )
        )
        for repo_pk in stale:
            recent = self.session.scalar(
                select(func.coalesce(func.sum(RepoDownloadDay.count), 0)).where(
                    RepoDownloadDay.repo_id == repo_pk, RepoDownloadDay.day >= window_start
                )
            )
            self.session.execute(update(Repo).where(Repo.id == repo_pk).values(downloads=recent))
            self._refresh_trending(repo_pk, day)
        return len(stale)

    def _refresh_trending(self, repo_pk: int, day: date) -> None:
        start = day - timedelta(days=TRENDING_DAYS - 1)
        downloads = self.session.scalar(
            select(func.coalesce(func.sum(RepoDownloadDay.count), 0)).where(
                RepoDownloadDay.repo_id == repo_pk, RepoDownloadDay.day >= start
            )
        )
        likes = self.session.scalar(
            select(func.count()).where(RepoLike.repo_id == repo_pk, RepoLike.created_at >= _midnight(start))
        )
        score = int(downloads or 0) + LIKE_WEIGHT * int(likes or 0)
        self.session.execute(update(Repo).where(Repo.id == repo_pk).values(trending_score=score))

    # --- likes --------------------------------------------------------------------------------

    def like(self, user: Account, repo: Repo) -> None:
        exists = self.session.get(RepoLike, (user.id, repo.id))
        if exists is not None:
            return
        self.session.add(RepoLike(user_id=user.id, repo_id=repo.id))
        self.session.flush()
        self._recount_likes(repo)

    def has_liked(self, user: Account, repo: Repo) -> bool:
        return self.session.get(RepoLike, (user.id, repo.id)) is not None

    def unlike(self, user: Account, repo: Repo) -> None:
        self.session.execute(delete(RepoLike).where(RepoLike.user_id == user.id, RepoLike.repo_id == repo.id))
        self.session.flush()
        self._recount_likes(repo)

    def _recount_likes(self, repo: Repo) -> None:
        count = self.session.scalar(select(func.count()).where(RepoLike.repo_id == repo.id)) or 0
        self.session.execute(update(Repo).where(Repo.id == repo.id).values(likes=count))
        self._refresh_trending(repo.id, utcnow().date())
        self.session.flush()
        self.session.refresh(repo)

    def forget_likes(self, user: Account) -> int:
        """Remove every like of ``user`` (whose account goes) and recount the repos they liked; returns how many."""
        liked = list(self.session.scalars(select(RepoLike.repo_id).where(RepoLike.user_id == user.id)))
        self.session.execute(delete(RepoLike).where(RepoLike.user_id == user.id))
        today = utcnow().date()
        for repo_pk in liked:
            count = select(func.count()).where(RepoLike.repo_id == repo_pk).scalar_subquery()
            self.session.execute(update(Repo).where(Repo.id == repo_pk).values(likes=count))
            self._refresh_trending(repo_pk, today)
        self.session.flush()
        return len(liked)

    def list_likes(self, user: Account) -> list[tuple[RepoLike, Repo]]:
        rows = self.session.execute(
            select(RepoLike, Repo)
            .join(Repo, Repo.id == RepoLike.repo_id)
            .where(RepoLike.user_id == user.id)
            .order_by(RepoLike.created_at.desc())
        )
        return [(like, repo) for like, repo in rows.all()]

    def list_likers(self, repo: Repo) -> list[Account]:
        return list(
            self.session.scalars(
                select(Account)
                .join(RepoLike, RepoLike.user_id == Account.id)
                .where(RepoLike.repo_id == repo.id)
                .order_by(RepoLike.created_at.desc())
            )
        )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
