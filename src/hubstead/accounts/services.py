"""Account service: users, organisations, memberships, tokens, and turning a token into an Actor."""

from __future__ import annotations

import hashlib
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hubstead.accounts.models import Account, AccountType, Membership, OrgRole, Token, TokenRole
from hubstead.accounts.naming import validate_account_name
from hubstead.accounts.permissions import ANONYMOUS, Actor
from hubstead.db.base import utcnow
from hubstead.errors import (
    AccountAlreadyExistsError,
    AccountNotFoundError,
    AuthenticationError,
    InvalidInputError,
)

TOKEN_PREFIX = "hf_"
TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_BODY_LENGTH = 34
_hasher = PasswordHasher()


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
    ) -> Account:
        validate_account_name(name)
        if password is not None and len(password) < 8:
            raise InvalidInputError("A password needs at least 8 characters")
        user = Account(
            name=name,
            name_key=name.lower(),
            type=AccountType.USER,
            fullname=fullname or name,
            email=email,
            password_hash=_hasher.hash(password) if password else None,
            is_admin=is_admin,
        )
        return self._create_account(user)

    def verify_password(self, name: str, password: str) -> Account:
        user = self.find_account(name)
        if user is None or user.password_hash is None or user.disabled:
            raise AuthenticationError("Invalid username or password")
        try:
            _hasher.verify(user.password_hash, password)
        except VerificationError:
            raise AuthenticationError("Invalid username or password") from None
        return user

    def create_org(self, name: str, *, fullname: str | None = None) -> Account:
        validate_account_name(name)
        org = Account(name=name, name_key=name.lower(), type=AccountType.ORG, fullname=fullname or name)
        return self._create_account(org)

    def set_membership(self, org: Account, user: Account, role: OrgRole) -> Membership:
        membership = self.session.scalar(
            select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
        )
        if membership is None:
            membership = Membership(org_id=org.id, user_id=user.id, role=role)
            self.session.add(membership)
        else:
            membership.role = role
        self.session.flush()
        return membership

    def list_memberships(self, user: Account) -> list[Membership]:
        return list(self.session.scalars(select(Membership).where(Membership.user_id == user.id)))

    # --- tokens -------------------------------------------------------------------------------

    def create_token(self, user: Account, name: str, role: TokenRole) -> tuple[Token, str]:
        """Create a token; returns the row and the clear token, which is never shown again."""
        clear = TOKEN_PREFIX + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_BODY_LENGTH))
        token = Token(user_id=user.id, name=name, role=role, token_hash=hash_token(clear))
        self.session.add(token)
        self.session.flush()
        return token, clear

    def actor_for_token(self, clear: str | None) -> Actor:
        """The Actor a bearer token stands for; ``None`` is anonymous; a bad token is refused."""
        if not clear:
            return ANONYMOUS
        token = self.session.scalar(select(Token).where(Token.token_hash == hash_token(clear)))
        if token is None or token.revoked_at is not None or token.user.disabled:
            raise AuthenticationError("Invalid credentials in Authorization header")
        now = utcnow()
        # a write per request would serialise reads on SQLite: record use at most once a minute
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            token.last_used_at = now
        return self.actor_for_account(token.user, token)

    def actor_for_account(self, account: Account, token: Token | None = None) -> Actor:
        roles = {m.org.name.lower(): m.role for m in self.list_memberships(account)}
        return Actor(account=account, token=token, org_roles=roles)
