"""Browser sessions: what a signed-in visitor of the website holds in a cookie. Like tokens, only a hash of
the session secret is stored; unlike them, a session expires, and signing out deletes it."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hubstead.accounts.models import Account, AccountType, WebSession
from hubstead.accounts.permissions import ANONYMOUS, Actor
from hubstead.accounts.services import AccountService
from hubstead.audit.services import AuditLog
from hubstead.db.base import utcnow
from hubstead.errors import AuthenticationError, PermissionDeniedError, SessionNotFoundError

SESSION_LIFETIME = timedelta(days=30)
TOUCH_INTERVAL = timedelta(minutes=5)  # record activity at most this often: a write per page would serialise


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SessionService:
    """Creates, resolves and ends browser sessions. Never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create_session(self, user: Account, lifetime: timedelta = SESSION_LIFETIME) -> str:
        """A new session for ``user``; returns the secret for the cookie (never stored in clear)."""
        if user.type is not AccountType.USER:
            raise ValueError("only users sign in")
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        self.session.add(
            WebSession(
                user_id=user.id, secret_hash=_hash(secret), created_at=now, last_seen_at=now, expires_at=now + lifetime
            )
        )
        self.session.flush()
        return secret

    def find_session(self, secret: str) -> WebSession | None:
        if not secret or len(secret) > 200 or "\x00" in secret:
            return None
        row = self.session.scalar(select(WebSession).where(WebSession.secret_hash == _hash(secret)))
        if row is None or row.expires_at <= utcnow() or row.user.disabled:
            return None
        return row

    def actor_for_session(self, secret: str) -> Actor:
        """The signed-in user, with full rights as with a password; anonymous for an unknown or expired one."""
        row = self.find_session(secret)
        if row is None:
            return ANONYMOUS
        now = utcnow()
        if now - row.last_seen_at > TOUCH_INTERVAL:
            row.last_seen_at = now
        return AccountService(self.session).actor_for_account(row.user)

    def delete_session(self, secret: str) -> None:
        self.session.execute(delete(WebSession).where(WebSession.secret_hash == _hash(secret)))

    def delete_user_sessions(self, user: Account, *, keep: int | None = None) -> int:
        """End every session of ``user`` (but the one with id ``keep``); returns how many there were."""
        query = delete(WebSession).where(WebSession.user_id == user.id)
        if keep is not None:
            query = query.where(WebSession.id != keep)
        result = self.session.execute(query)
        return int(getattr(result, "rowcount", 0) or 0)

    def list_user_sessions(self, user: Account) -> list[WebSession]:
        """The user's sessions that have not expired, most recently used first."""
        query = select(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at > utcnow())
        return list(self.session.scalars(query.order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())))

    def delete_user_session(self, user: Account, session_id: int) -> None:
        """End one of ``user``'s sessions; another user's is as good as missing."""
        row = self.session.get(WebSession, session_id)
        if row is None or row.user_id != user.id or row.expires_at <= utcnow():
            raise SessionNotFoundError(f"No session {session_id}")
        self.session.delete(row)
        self.session.flush()

    # --- a signed-in user's own sessions (the API's /api/hubstead/sessions) ---------------------------

    def list_own_sessions(self, actor: Actor) -> list[WebSession]:
        return self.list_user_sessions(_owner(actor))

    def revoke_own_session(self, actor: Actor, session_id: int) -> None:
        user = _owner(actor)
        self.delete_user_session(user, session_id)
        AuditLog(self.session).record("session.revoke", actor, "user", user.name, count=1)

    def revoke_other_sessions(self, actor: Actor, keep: int | None) -> int:
        """End every session of the actor's user but ``keep`` (the one the request came with, if any)."""
        user = _owner(actor)
        ended = self.delete_user_sessions(user, keep=keep)
        AuditLog(self.session).record("session.revoke", actor, "user", user.name, count=ended)
        return ended

    def purge_expired(self) -> int:
        result = self.session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
        return int(getattr(result, "rowcount", 0) or 0)


def _owner(actor: Actor) -> Account:
    """Managing sessions needs a full credential: a write token, or the session cookie (on GET only)."""
    if actor.account is None:
        raise AuthenticationError("You must be signed in to manage your sessions")
    if not actor.uses_full_credential:
        raise PermissionDeniedError("Managing sessions needs a write token or a signed-in session")
    return actor.account
