"""A user changes their own password, knowing the current one (a site admin's reset is in admin/services.py).
It ends the user's other website sessions; tokens are separate credentials and keep working."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from hubstead.accounts.models import Account
from hubstead.accounts.permissions import Actor
from hubstead.accounts.services import MAX_PASSWORD, MIN_PASSWORD, AccountService
from hubstead.accounts.sessions import SessionService
from hubstead.accounts.signin import SignInService
from hubstead.audit.services import AuditLog
from hubstead.config import RateLimitSettings
from hubstead.errors import AuthenticationError, InvalidInputError, PermissionDeniedError
from hubstead.ratelimit import RateLimiter


@dataclass(frozen=True)
class PasswordChange:
    """Done (``changed``, and how many other sessions ended), refused for a wrong current password, or refused
    for too many wrong ones (``retry_after`` seconds)."""

    changed: bool = False
    sessions_ended: int = 0
    retry_after: int | None = None
    limit: int = 0
    window: int = 0


class PasswordService:
    """Never commits, and never raises for a wrong current password (the caller's unit of work keeps its audit
    event): the result says what happened. Wrong current passwords count as failed sign-ins."""

    def __init__(self, session: Session, limiter: RateLimiter, limits: RateLimitSettings) -> None:
        self.session = session
        self.accounts = AccountService(session)
        self.signin = SignInService(session, limiter, limits)
        self.limiter = limiter
        self.limits = limits

    def change_password(
        self, actor: Actor, current: str, new: str, *, keep_session: int | None = None
    ) -> PasswordChange:
        """``actor`` (signed in with a full credential) sets a new password; every website session of theirs
        but ``keep_session`` (the one this request came with) ends."""
        user = _self(actor)
        if not MIN_PASSWORD <= len(new) <= MAX_PASSWORD:
            raise InvalidInputError(f"A password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        window = self.limits.login_window_seconds
        keys = self.signin.failure_keys(user.name, actor.ip)
        for key, limit in keys:
            decision = self.limiter.peek(key, limit, window)
            if not decision.allowed:
                return PasswordChange(retry_after=decision.reset, limit=limit, window=window)
        audit = AuditLog(self.session)
        if not self.accounts.check_password(user, current):
            for key, limit in keys:
                self.limiter.hit(key, limit, window)
            audit.record("signin.failure", actor, "user", user.name, reason="password change")
            return PasswordChange()
        self.accounts.set_password(user, new)
        ended = SessionService(self.session).delete_user_sessions(user, keep=keep_session)
        audit.record("user.password.change", actor, "user", user.name, sessionsEnded=ended)
        return PasswordChange(changed=True, sessions_ended=ended)


def _self(actor: Actor) -> Account:
    if actor.account is None:
        raise AuthenticationError("You must be signed in to change your password")
    if not actor.uses_full_credential:
        raise PermissionDeniedError("Changing a password needs a write token or a signed-in session")
    return actor.account
