"""Audit retention: events older than ``Settings.audit_retention_days`` are deleted when the app starts, then
once a day while it runs (every server process does it; a second delete finds nothing), and on demand with
``hubstead admin audit-prune``."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from hubstead.audit.services import AuditLog
from hubstead.db.base import utcnow

log = logging.getLogger("hubstead.audit")
PRUNE_INTERVAL_SECONDS = 24 * 3600


def prune_events(sessions: sessionmaker[Session], days: int) -> int:
    """Delete the events older than ``days`` days in a unit of work of its own; 0 days keeps everything."""
    if days <= 0:
        return 0
    with sessions.begin() as session:
        pruned = AuditLog(session).prune(utcnow() - timedelta(days=days))
    if pruned:
        log.info("deleted %d audit event(s) older than %d days", pruned, days)
    return pruned


async def prune_periodically(
    sessions: sessionmaker[Session], days: int, interval: float = PRUNE_INTERVAL_SECONDS
) -> None:
    """Prune now, then every ``interval`` seconds, until cancelled. A failure is logged, never raised: the log
    is pruned again next time."""
    while True:
        try:
            await asyncio.to_thread(prune_events, sessions, days)
        except Exception:
            log.exception("pruning the audit log failed")
        await asyncio.sleep(interval)
