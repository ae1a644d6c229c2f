"""Account service: users, organisations, memberships, tokens, and turning a token into an Actor."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
import string
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hubstead.accounts import scopes
from hubstead.accounts.models import Account, AccountType, Membership, OrgRole, Token, TokenRole, WebSession
from hubstead.accounts.naming import validate_account_name
from hubstead.accounts.permissions import ANONYMOUS, Actor
from hubstead.accounts.scopes import FineGrained
from hubstead.audit.services import AuditLog
from hubstead.db.base import utcnow
from hubstead.errors import (
    AccountAlreadyExistsError,
    AccountNotFoundError,
    AuthenticationError,
    InvalidInputError,
    TokenNotFoundError,
)

TOKEN_PREFIX = "hf_"
TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_BODY_LENGTH = 34
MAX_TOKEN_LENGTH = 256  # longer credentials are refused before any lookup
MAX_TOKEN_NAME = 100
TOKEN_USES = "hubstead.token_uses"  # Session.info key: token id -> when it was used, written at commit
_hasher = PasswordHasher()


MAX_EMAIL = 320
MAX_FULLNAME = 200
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte password would only cost us time


@functools.cache
def _timing_hash() -> str:
    return _hasher.hash("not anybody's password")


def _waste_a_verification(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hasher.verify(_timing_hash(), password)


def _check_profile(email: str | None, fullname: str | None) -> None:
    if email is not None and (
        len(email) > MAX_EMAIL or email.count("@") != 1 or not email.isprintable() or any(c.isspace() for c in email)
    ):
        raise InvalidInputError(f"Invalid email address {email[:100]!r}")
    if fullname is not None and (len(fullname) > MAX_FULLNAME or not fullname.isprintable()):
        raise InvalidInputError(f"A full name has at most {MAX_FULLNAME} printable characters")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    """Creates and finds accounts and tokens. Raises only Hubstead errors; never commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- accounts -----------------------------------------------------------------------------

    def find_account(self, name: str) -> Account | None:
        if "\x00" in name:  # no account name holds one, and PostgreSQL refuses NUL in a query parameter
            return None
        return self.session.scalar(select(Account).where(Account.name_key == name.lower()))

    def get_account(self, name: str) -> Account:
        account = self.find_account(name)
        if account is None:
            raise AccountNotFoundError(f"No user or organization named {name}")
        return account

    def get_user(self, name: str) -> Account:
        account = self.get_account(name)
        if account.type != AccountType.USER:
            raise AccountNotFoundError(f"No user named {name}")
        return account

    def get_org(self, name: str) -> Account:
        account = self.get_account(name)
        if account.type != AccountType.ORG:
            raise AccountNotFoundError(f"No organization named {name}")
        return account

    def _create_account(self, account: Account) -> Account:
        if self.find_account(account.name) is not None:
            raise AccountAlreadyExistsError(f"The name {account.name} is already taken")
        self.session.add(account)
        try:
            self.session.flush()
        except IntegrityError:
            raise AccountAlreadyExistsError(f"The name {account.name} is already taken") from None
        return account

    def create_user(
        self,
        name: str,
        *,
        password: str | None = None,
        email: str | None = None,
        fullname: str | None = None,
        is_admin: bool = False,
        by: Actor | None = None,
    ) -> Account:
        validate_account_name(name)
        if password is not None and len(password) < 8:
            raise InvalidInputError("A password needs at least 8 characters")
        _check_profile(email, fullname)
        user = Account(
            name=name,
            name_key=name.lower(),
            type=AccountType.USER,
            fullname=fullname or name,
            email=email,
            password_hash=_hasher.hash(password) if password else None,
            is_admin=is_admin,
        )
        self._create_account(user)
        AuditLog(self.session).record("user.create", by, "user", user.name, isAdmin=is_admin or None)
        return user

    def set_password(self, user: Account, password: str) -> None:
        """Replace ``user``'s password (no audit event: the caller records why, a change or a reset)."""
        if user.type != AccountType.USER:
            raise AccountNotFoundError(f"No user named {user.name}")
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InvalidInputError(f"A password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters")
        user.password_hash = _hasher.hash(password)
        self.session.flush()

    def check_password(self, user: Account, password: str) -> bool:
        """Whether ``password`` is ``user``'s (False for a user without one)."""
        if user.password_hash is None or len(password) > MAX_PASSWORD:
            _waste_a_verification(password[:MAX_PASSWORD])
            return False
        try:
            return _hasher.verify(user.password_hash, password)
        except VerificationError:
            return False

    def verify_password(self, name: str, password: str) -> Account:
        user = self.find_account(name)
        if user is None or user.password_hash is None or user.disabled:
            _waste_a_verification(password)  # as long as a real check: no telling which names exist
            raise AuthenticationError("Invalid username or password")
        try:
            _hasher.verify(user.password_hash, password)
        except VerificationError:
            raise AuthenticationError("Invalid username or password") from None
        return user

    def create_org(self, name: str, *, fullname: str | None = None, by: Actor | None = None) -> Account:
        validate_account_name(name)
        _check_profile(None, fullname)
        org = Account(name=name, name_key=name.lower(), type=AccountType.ORG, fullname=fullname or name)
        self._create_account(org)
        AuditLog(self.session).record("org.create", by, "org", org.name)
        return org

    def set_membership(self, org: Account, user: Account, role: OrgRole, *, by: Actor | None = None) -> Membership:
        if org.type != AccountType.ORG or user.type != AccountType.USER:
            raise InvalidInputError("Only users can be members, and only of organizations")
        membership = self.session.scalar(
            select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
        )
        previous = membership.role.value if membership is not None else None
        if membership is None:
            membership = Membership(org_id=org.id, user_id=user.id, role=role)
            self.session.add(membership)
        else:
            membership.role = role
        self.session.flush()
        if previous != role.value:
            AuditLog(self.session).record(
                "org.member.set", by, "org", org.name, user=user.name, role=role.value, previous=previous
            )
        return membership

    def remove_membership(self, org: Account, user: Account, *, by: Actor | None = None) -> None:
        membership = self.session.scalar(
            select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
        )
        if membership is None:
            raise AccountNotFoundError(f"{user.name} is not a member of {org.name}")
        role = membership.role.value
        self.session.delete(membership)
        self.session.flush()
        AuditLog(self.session).record("org.member.remove", by, "org", org.name, user=user.name, role=role)

    def list_members(self, org: Account) -> list[Membership]:
        query = select(Membership).where(Membership.org_id == org.id).order_by(Membership.id)
        return list(self.session.scalars(query))

    def list_accounts(self, account_type: AccountType, *, after: str | None = None, limit: int = 100) -> list[Account]:
        """Accounts of one type by name (case-insensitive), from after the name ``after``."""
        query = select(Account).where(Account.type == account_type).order_by(Account.name_key).limit(limit)
        if after:
            query = query.where(Account.name_key > after.lower())
        return list(self.session.scalars(query))

    def update_user(
        self, user: Account, *, disabled: bool | None = None, is_admin: bool | None = None, by: Actor | None = None
    ) -> Account:
        """Disable (every token and session stops working at once) or enable a user; make or unmake an admin."""
        if user.type != AccountType.USER:
            raise AccountNotFoundError(f"No user named {user.name}")
        changes: dict[str, bool] = {}
        if disabled is not None and disabled != user.disabled:
            user.disabled = changes["disabled"] = disabled
        if is_admin is not None and is_admin != user.is_admin:
            user.is_admin = changes["isAdmin"] = is_admin
        if changes:
            self.session.flush()
            AuditLog(self.session).record(
                "user.update", by, "user", user.name, disabled=changes.get("disabled"), isAdmin=changes.get("isAdmin")
            )
        return user

    def delete_account(self, account: Account, *, by: Actor | None = None) -> None:
        """Delete a user or an organisation with its tokens, sessions and memberships. Whoever calls this
        deals with the repos it owns first (they would go with it)."""
        action = "user.delete" if account.type == AccountType.USER else "org.delete"
        AuditLog(self.session).record(action, by, account.type.value, account.name)
        # the foreign keys cascade too; deleting here does not depend on it, and leaves no row in this session
        for model in (Token, WebSession):
            self.session.execute(delete(model).where(model.user_id == account.id))
        self.session.execute(
            delete(Membership).where((Membership.user_id == account.id) | (Membership.org_id == account.id))
        )
        self.session.delete(account)
        self.session.flush()

    def list_memberships(self, user: Account) -> list[Membership]:
        return list(self.session.scalars(select(Membership).where(Membership.user_id == user.id)))

    # --- tokens -------------------------------------------------------------------------------

    def create_token(
        self,
        user: Account,
        name: str,
        role: TokenRole,
        fine_grained: Any = None,
        *,
        by: Actor | None = None,
    ) -> tuple[Token, str]:
        """Create a token; returns the row and the clear token, which is never shown again.

        ``fine_grained`` (the whoami-v2 shape, see scopes.py) is required for, and only for, fineGrained tokens.
        ``by`` is who asked, for the audit log (None: the admin CLI)."""
        if user.type != AccountType.USER or user.disabled:
            raise InvalidInputError(f"{user.name} cannot hold tokens")
        name = name.strip()
        if not name or len(name) > MAX_TOKEN_NAME or not name.isprintable():
            raise InvalidInputError(f"A token name needs 1 to {MAX_TOKEN_NAME} printable characters")
        rights = self._fine_grained_rights(user, fine_grained) if role == TokenRole.FINE_GRAINED else None
        if role != TokenRole.FINE_GRAINED and fine_grained is not None:
            raise InvalidInputError("fineGrained permissions need the role 'fineGrained'")
        clear = TOKEN_PREFIX + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_BODY_LENGTH))
        token = Token(user_id=user.id, name=name, role=role, token_hash=hash_token(clear), fine_grained=rights)
        self.session.add(token)
        self.session.flush()
        AuditLog(self.session).record(
            "token.create", by, "token", str(token.id), owner=user.name, name=name, role=role.value
        )
        return token, clear

    def _fine_grained_rights(self, user: Account, data: Any) -> dict[str, Any]:
        """Validated rights of a new fine-grained token: a user scope is the owner's own; an org scope one of
        the owner's organisations (any, for a site admin). Repo scopes are not checked for existence: that
        would tell whether a private repo exists."""
        global_permissions, requests, gated = scopes.parse_request(data if data is not None else {})
        memberships = {m.org.name.lower(): m.org for m in self.list_memberships(user)}
        scoped: list[dict[str, Any]] = []
        for request in requests:
            entity: dict[str, Any] = {"type": request.entity_type, "name": request.name}
            if request.entity_type == "user":
                if request.name.lower() != user.name.lower():
                    raise InvalidInputError(f"A token of {user.name} cannot be scoped to another user")
                entity |= {"name": user.name, "_id": f"{user.id:024x}"}
            elif request.entity_type == "org":
                org = memberships.get(request.name.lower())
                if org is None and user.is_admin:
                    found = self.find_account(request.name)
                    org = found if found is not None and found.type == AccountType.ORG else None
                if org is None:
                    raise InvalidInputError(f"{user.name} is not a member of an organization named {request.name}")
                entity |= {"name": org.name, "_id": f"{org.id:024x}"}
            scoped.append({"entity": entity, "permissions": request.permissions})
        return {"global": global_permissions, "scoped": scoped, "canReadGatedRepos": gated}

    def list_tokens(self, user: Account) -> list[Token]:
        """The user's tokens that still work, newest first."""
        query = select(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None))
        return list(self.session.scalars(query.order_by(Token.created_at.desc(), Token.id.desc())))

    def revoke_token(self, user: Account, token_id: int, *, by: Actor | None = None) -> None:
        """Revoke one of ``user``'s own tokens; another user's token is as good as missing."""
        token = self.session.get(Token, token_id)
        if token is None or token.user_id != user.id or token.revoked_at is not None:
            raise TokenNotFoundError(f"No token {token_id}")
        token.revoked_at = utcnow()
        self.session.flush()
        AuditLog(self.session).record("token.revoke", by, "token", str(token.id), owner=user.name, name=token.name)

    def actor_for_token(self, clear: str | None) -> Actor:
        """The Actor a bearer token stands for; ``None`` is anonymous; a bad token is refused."""
        if not clear:
            return ANONYMOUS
        if len(clear) > MAX_TOKEN_LENGTH or not (clear.isascii() and clear.isprintable()):
            raise AuthenticationError("Invalid credentials in Authorization header")
        token = self.session.scalar(select(Token).where(Token.token_hash == hash_token(clear)))
        if token is None or token.revoked_at is not None or token.user.disabled:
            raise AuthenticationError("Invalid credentials in Authorization header")
        now = utcnow()
        # a write per request would serialise reads on SQLite: record use at most once a minute, and only when the
        # unit of work commits (record_token_uses): written now, it would hold SQLite's one write lock for the
        # whole request, and a burst of requests with a fresh token would run one at a time
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            self.session.info.setdefault(TOKEN_USES, {})[token.id] = now
        return self.actor_for_account(token.user, token)

    def actor_for_account(self, account: Account, token: Token | None = None) -> Actor:
        roles = {m.org.name.lower(): m.role for m in self.list_memberships(account)}
        fine_grained = None
        if token is not None and token.role == TokenRole.FINE_GRAINED:
            fine_grained = FineGrained.from_stored(token.fine_grained)
        return Actor(account=account, token=token, org_roles=roles, scopes=fine_grained)


def record_token_uses(session: Session) -> None:
    """A ``before_commit`` hook of the hub's sessions: write the token uses ``actor_for_token`` noted."""
    uses: dict[int, datetime] = session.info.pop(TOKEN_USES, None) or {}
    for token_id, when in uses.items():
        session.execute(update(Token).where(Token.id == token_id).values(last_used_at=when))
