"""Signing in with a user name and password (the API's ``/api/hubstead/login``, and the website's form):
failed attempts are counted per user name and IP and per IP, and refused past the limit before the password
is even checked; every attempt is in the audit log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from hubstead.accounts.models import Account
from hubstead.accounts.services import AccountService
from hubstead.accounts.sessions import SessionService
from hubstead.audit.services import AuditLog
from hubstead.config import RateLimitSettings
from hubstead.errors import AuthenticationError
from hubstead.ratelimit import RateLimiter

MAX_NAME = 96
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte password would only cost us time


@dataclass(frozen=True)
class SignInResult:
    """A signed-in ``user`` and the ``secret`` of their new session; or a refusal, with ``retry_after`` seconds
    if it was for too many failed attempts."""

    user: Account | None = None
    secret: str | None = None
    retry_after: int | None = None
    limit: int = 0
    window: int = 0


class SignInService:
    """Never commits, and never raises for a refused attempt (the caller's unit of work must keep its audit
    event): the result says what happened."""

    def __init__(self, session: Session, limiter: RateLimiter, limits: RateLimitSettings) -> None:
        self.session = session
        self.limiter = limiter
        self.limits = limits

    def failure_keys(self, username: str, ip: str | None) -> list[tuple[str, int]]:
        """The counters of failed attempts (per user name and IP, per IP), with their limits."""
        return [
            (f"login:{ip or '-'}:{username.lower()[:MAX_NAME]}", self.limits.login_failures),
            (f"login-ip:{ip or '-'}", self.limits.login_ip_failures),
        ]

    def sign_in(self, username: str, password: str, ip: str | None) -> SignInResult:
        window = self.limits.login_window_seconds
        for key, limit in self.failure_keys(username, ip):
            decision = self.limiter.peek(key, limit, window)
            if not decision.allowed:
                return SignInResult(retry_after=decision.reset, limit=limit, window=window)
        audit = AuditLog(self.session)
        try:
            if len(username) > MAX_NAME or len(password) > MAX_PASSWORD or "\x00" in username + password:
                raise AuthenticationError("Invalid username or password")
            user = AccountService(self.session).verify_password(username, password)
        except AuthenticationError:
            for key, limit in self.failure_keys(username, ip):
                self.limiter.hit(key, limit, window)
            audit.record("signin.failure", None, "user", username[:MAX_NAME], ip=ip)
            return SignInResult()
        self.limiter.reset(self.failure_keys(username, ip)[0][0], window)
        secret = SessionService(self.session).create_session(user)
        audit.record("signin.success", None, "user", user.name, actor_name=user.name, ip=ip)
        return SignInResult(user=user, secret=secret)

    def sign_out(self, secret: str, ip: str | None) -> None:
        sessions = SessionService(self.session)
        found = sessions.find_session(secret)
        if found is None:
            return
        name = found.user.name
        sessions.delete_session(secret)
        AuditLog(self.session).record("signout", None, "user", name, actor_name=name, ip=ip)
