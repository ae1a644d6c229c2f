"""Xet's background jobs: converting LFS uploads into xorbs (``xet.convert``, queued with the upload's own
transaction) and garbage collection (``xet.gc``, also run by ``hubstead xet gc``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from hubstead.db.base import utcnow
from hubstead.errors import JobFailedError
from hubstead.jobs.services import JobQueue
from hubstead.jobs.tasks import JobContext, Task, TaskRegistry
from hubstead.objects import LfsObject
from hubstead.repos.lfs_pointer import SHA256
from hubstead.storage import BlobStore
from hubstead.xet.convert import convert_lfs_object
from hubstead.xet.services import CasService, GarbageReport

CONVERT = "xet.convert"
GC = "xet.gc"
CONVERT_ATTEMPTS = 3
GC_TIMEOUT_SECONDS = 6 * 3600


def register(registry: TaskRegistry) -> None:
    registry.add(Task(CONVERT, convert_task, max_attempts=CONVERT_ATTEMPTS))
    registry.add(Task(GC, gc_task, max_attempts=1, timeout_seconds=GC_TIMEOUT_SECONDS, priority=-1))


def queue_conversion(queue: JobQueue, session: Session, oid: str, repo_pk: int | None = None) -> None:
    """Queue the conversion of LFS object ``oid`` in ``session``, the unit of work that records the object: it
    is converted if, and only if, the upload is committed; uploads of one object to several repos share one job."""
    queue.enqueue(session, CONVERT, {"oid": oid}, dedup_key=f"{CONVERT}:{oid}", repo_id=repo_pk)


def convert_task(ctx: JobContext) -> None:
    """Chunk one LFS object into xorbs (see ``convert_lfs_object``): an attempt that stops half-way leaves xorbs
    that the next one reuses; a converted object is not converted again."""
    oid = ctx.payload.get("oid")
    if not isinstance(oid, str) or not SHA256.fullmatch(oid):
        raise JobFailedError(f"Not an LFS object id: {oid!r}")
    adapters = ctx.adapters
    with adapters.sessions() as session:
        obj = session.get(LfsObject, oid)
        size = max(1, obj.size) if obj is not None else 1

    def on_xorb(done: int) -> None:
        ctx.check_cancelled()
        ctx.progress(done / size, f"{done:,} of {size:,} bytes")

    name = convert_lfs_object(adapters.sessions, adapters.blobs, oid, on_xorb)
    ctx.log(f"converted to Xet file {name}" if name else "already converted, or not stored (whole): nothing to do")


@dataclass(frozen=True)
class GcSummary:
    report: GarbageReport
    abandoned: int

    def __str__(self) -> str:
        report = self.report
        return (
            f"removed {report.files} file(s), {report.xorbs} xorb(s) and {report.orphans} orphaned blob(s), "
            f"{report.bytes} bytes; {self.abandoned} abandoned upload(s)"
        )


def collect_garbage(sessions: sessionmaker[Session], blobs: BlobStore, grace: timedelta) -> GcSummary:
    """Remove the xorbs and files nothing references any more, the bytes of xorbs whose rows never came, and
    abandoned upload temp files; anything used within ``grace`` stays. Bytes go only once their rows are gone."""
    with sessions.begin() as session:
        report = CasService(session, blobs).collect_garbage(grace)
    for key in report.keys:
        blobs.delete(key)
    abandoned = blobs.drop_abandoned_writes((utcnow() - grace).timestamp())
    return GcSummary(report, abandoned)


def gc_task(ctx: JobContext) -> None:
    hours = ctx.payload.get("grace_hours", ctx.adapters.settings.xet.gc_grace_hours)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours < 0:
        raise JobFailedError(f"grace_hours must be a number of hours: {hours!r}")
    ctx.log(str(collect_garbage(ctx.adapters.sessions, ctx.adapters.blobs, timedelta(hours=hours))))
