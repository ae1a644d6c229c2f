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
from hubstead.db.base import utcnow

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

    def delete_user_sessions(self, user: Account) -> None:
        self.session.execute(delete(WebSession).where(WebSession.user_id == user.id))

    def purge_expired(self) -> int:
        result = self.session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
        return int(getattr(result, "rowcount", 0) or 0)
