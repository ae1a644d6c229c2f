"""AuditLog: records security-relevant events in the caller's unit of work (an event lands with the change
it describes, or not at all), lists them for site admins and exports them as JSON lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hubstead.audit.models import AuditEvent
from hubstead.db.base import utcnow

if TYPE_CHECKING:
    from hubstead.accounts.permissions import Actor

MAX_PAGE = 1000
EXPORT_BATCH = 1000

# what is recorded (details in parentheses)
ACTIONS = (
    "signin.success",
    "signin.failure",  # (reason)
    "signout",
    "token.create",  # (name, role, owner)
    "token.revoke",  # (name, owner)
    "user.create",
    "user.update",  # (disabled, isAdmin)
    "user.delete",
    "org.create",
    "org.delete",
    "org.member.set",  # (user, role, previous)
    "org.member.remove",  # (user, role)
    "user.password.change",  # (sessionsEnded)
    "user.password.reset",  # (sessionsEnded)
    "session.revoke",  # (count)
    "repo.visibility",  # (private)
    "repo.gated",  # (gated)
    "repo.delete",
    "repo.move",  # (to)
    "access_request.create",  # (status)
    "access_request.handle",  # (user, status, previous)
    "access_request.grant",  # (user)
    "job.cancel",  # (kind, state)
    "job.retry",  # (kind)
)


class AuditLog:
    """Never commits: an event is part of the unit of work that made the change."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        action: str,
        actor: Actor | None,
        target_type: str,
        target: str,
        *,
        actor_name: str | None = None,
        ip: str | None = None,
        **details: Any,
    ) -> AuditEvent:
        """Add one event. ``actor`` None is the system itself (the admin CLI, a job)."""
        event = AuditEvent(
            created_at=utcnow(),
            action=action,
            actor=actor_name or (actor.account.name if actor is not None and actor.account is not None else None),
            token_id=actor.token.id if actor is not None and actor.token is not None else None,
            ip=(ip or (actor.ip if actor is not None else None) or None),
            target_type=target_type,
            target=_storable(target)[:200],
            details={k: v for k, v in details.items() if v is not None} or None,
        )
        self.session.add(event)
        self.session.flush()
        return event

    def list_events(
        self,
        *,
        after: int | None = None,
        since: datetime | None = None,
        action: str | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """Oldest first, from after the event id ``after`` (a cursor) or from ``since``."""
        query = select(AuditEvent).order_by(AuditEvent.id).limit(max(1, min(limit, MAX_PAGE)))
        if after is not None:
            query = query.where(AuditEvent.id > after)
        if since is not None:
            query = query.where(AuditEvent.created_at >= since)
        if action:
            # "token" matches token.create and token.revoke; "token.create" only itself
            query = query.where((AuditEvent.action == action) | AuditEvent.action.startswith(action + "."))
        return list(self.session.scalars(query))

    def prune(self, before: datetime) -> int:
        """Delete the events older than ``before``; returns how many."""
        result = self.session.execute(delete(AuditEvent).where(AuditEvent.created_at < before))
        return int(getattr(result, "rowcount", 0) or 0)

    def iter_events(self, *, since: datetime | None = None, action: str | None = None) -> Iterator[AuditEvent]:
        """Every matching event, oldest first, read in batches."""
        after: int | None = None
        while True:
            batch = self.list_events(after=after, since=since, action=action, limit=EXPORT_BATCH)
            yield from batch
            if len(batch) < EXPORT_BATCH:
                return
            after = batch[-1].id


def event_dict(event: AuditEvent) -> dict[str, Any]:
    """One event as JSON (one line of an export)."""
    return {
        "id": event.id,
        "time": event.created_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{event.created_at.microsecond // 1000:03d}Z",
        "action": event.action,
        "actor": event.actor,
        "tokenId": event.token_id,
        "ip": event.ip,
        "target": {"type": event.target_type, "name": event.target},
        "details": event.details or {},
    }


def _storable(text: str) -> str:
    """``text`` as every backend stores it: PostgreSQL refuses NUL in text, and the target is often what a caller
    typed (a user name at a failed sign-in)."""
    return text.replace("\x00", "\ufffd")
