"""An organisation's members managed by the organisation's own admins (role ``admin``), and its member list as
huggingface.co shows it to anybody. Site admins may do the same anywhere (and more, through admin/services.py).

Who may do what, on members of an organisation:

- list with roles: its members and site admins, with a password, browser session, read or write token, or a
  fine-grained token scoped to the organisation with ``org.members.read`` (or ``org.members.write``);
- add, change a role, remove: its admins and site admins, with a write token (or a fine-grained token scoped to
  the organisation with ``org.members.write``); any member may remove themselves (leave).

An organisation keeps at least one admin: removing or demoting the last one is refused.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hubstead.accounts.models import Account, Membership, OrgRole
from hubstead.accounts.permissions import Actor
from hubstead.accounts.services import AccountService
from hubstead.errors import AuthenticationError, ConflictError, PermissionDeniedError

MEMBERS_READ = frozenset({"org.members.read", "org.members.write"})
MEMBERS_WRITE = frozenset({"org.members.write"})


class OrgMemberService:
    """Raises only Hubstead errors; never commits. Every change lands in the audit log (``org.member.*``)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.accounts = AccountService(session)

    def list_members(self, actor: Actor, org_name: str) -> list[Membership]:
        """Every member with their role, for the organisation's members (and site admins)."""
        org = self.accounts.get_org(org_name)
        self._require(actor, org, manage=False)
        return self.accounts.list_members(org)

    def list_public_members(self, org_name: str, *, after: str | None, limit: int) -> list[Membership]:
        """Members by name (case-insensitive) from after ``after``: what anybody may see, as on huggingface.co."""
        org = self.accounts.get_org(org_name)
        query = select(Membership).join(Account, Account.id == Membership.user_id).where(Membership.org_id == org.id)
        if after:
            query = query.where(Account.name_key > after.lower())
        return list(self.session.scalars(query.order_by(Account.name_key).limit(limit)))

    def may_see_roles(self, actor: Actor, org_name: str) -> bool:
        if actor.account is None:
            return False
        return actor.is_admin or org_name.lower() in actor.org_roles

    def set_member(self, actor: Actor, org_name: str, user_name: str, role: OrgRole) -> Membership:
        """Add ``user_name`` to the organisation with ``role``, or change their role."""
        org = self.accounts.get_org(org_name)
        self._require(actor, org, manage=True)
        user = self.accounts.get_user(user_name)
        self._lock(org)
        current = self._membership(org, user)
        if current is not None and current.role == OrgRole.ADMIN and role != OrgRole.ADMIN:
            self._keep_an_admin(org, user, "demote")
        return self.accounts.set_membership(org, user, role, by=actor)

    def remove_member(self, actor: Actor, org_name: str, user_name: str) -> None:
        """Remove a member (an admin may remove anybody; any member, themselves)."""
        org = self.accounts.get_org(org_name)
        leaving = actor.account is not None and actor.account.name.lower() == user_name.lower()
        if not leaving or actor.org_roles.get(org.name.lower()) is None:
            self._require(actor, org, manage=True)
        elif not actor.may_write_at_all or (actor.scopes is not None and not self._scoped(actor, org, MEMBERS_WRITE)):
            raise PermissionDeniedError("Leaving an organization needs a write token")
        user = self.accounts.get_user(user_name)
        self._lock(org)
        current = self._membership(org, user)
        if current is not None and current.role == OrgRole.ADMIN:
            self._keep_an_admin(org, user, "remove")
        self.accounts.remove_membership(org, user, by=actor)

    # --- helpers ------------------------------------------------------------------------------

    def _require(self, actor: Actor, org: Account, *, manage: bool) -> None:
        if actor.account is None:
            raise AuthenticationError("You must be authenticated to see or manage an organization's members")
        role = actor.org_roles.get(org.name.lower())
        if manage:
            allowed = actor.is_admin or role == OrgRole.ADMIN
            what = "manage the members of"
        else:
            allowed = actor.is_admin or role is not None
            what = "see the members and roles of"
        if not allowed:
            raise PermissionDeniedError(f"You may not {what} {org.name}")
        if actor.scopes is not None:
            if not self._scoped(actor, org, MEMBERS_WRITE if manage else MEMBERS_READ):
                raise PermissionDeniedError(f"This token may not {what} {org.name}")
        elif manage and not actor.may_write_at_all:
            raise PermissionDeniedError("A read token cannot change anything")

    @staticmethod
    def _scoped(actor: Actor, org: Account, wanted: frozenset[str]) -> bool:
        return actor.scopes is not None and bool(actor.scopes.namespace_permissions(org.name) & wanted)

    def _membership(self, org: Account, user: Account) -> Membership | None:
        return self.session.scalar(select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id))

    def _lock(self, org: Account) -> None:
        """Serialise member changes of one organisation (PostgreSQL; SQLite runs one writer at a time anyway), so
        that two admins demoting each other at once cannot leave it without one."""
        self.session.execute(select(Account.id).where(Account.id == org.id).with_for_update())

    def _keep_an_admin(self, org: Account, user: Account, what: str) -> None:
        admins = self.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.org_id == org.id, Membership.role == OrgRole.ADMIN, Membership.user_id != user.id)
        )
        if not admins:
            raise ConflictError(f"Cannot {what} {user.name}, the last admin of {org.name}: make another member admin")
