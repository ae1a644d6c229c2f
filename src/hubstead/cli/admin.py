"""``hubstead admin``: manage users, organisations, members and tokens, and export the audit log, from scripts
on the server (with the server's own rights; every change lands in the audit log)."""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hubstead.accounts.models import AccountType, OrgRole, TokenRole
from hubstead.accounts.services import AccountService
from hubstead.admin.services import AdminService
from hubstead.audit.services import event_dict
from hubstead.config import Settings
from hubstead.errors import HubsteadError
from hubstead.hub import Hub


class CliError(Exception):
    pass


def _run(args: argparse.Namespace, work: Callable[[AccountService], Any]) -> Any:
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    hub = Hub.from_settings(settings)
    try:
        with hub.sessions.begin() as session:
            return work(AccountService(session))
    except HubsteadError as exc:
        raise CliError(exc.message) from None
    finally:
        hub.close()


def create_user(args: argparse.Namespace) -> int:
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input")
    _run(
        args,
        lambda s: s.create_user(
            args.name, password=password, email=args.email, fullname=args.fullname, is_admin=args.admin
        ),
    )
    print(f"created user {args.name}", file=sys.stderr)
    return 0


def _run_admin(args: argparse.Namespace, work: Callable[[AdminService], Any]) -> Any:
    return _run(args, lambda accounts: work(AdminService(accounts.session, None)))


def _scopes(args: argparse.Namespace) -> dict[str, Any] | None:
    """``--scope TYPE:NAME:PERM[,PERM]``, ``--global PERM`` and ``--gated``, as a fineGrained object."""
    if args.role != TokenRole.FINE_GRAINED.value:
        if args.scope or args.global_permission or args.gated:
            raise CliError("--scope, --global and --gated go with --role fineGrained")
        return None
    scoped = []
    for spec in args.scope or []:
        entity_type, _, rest = spec.partition(":")
        name, _, permissions = rest.rpartition(":")
        if not entity_type or not name or not permissions:
            raise CliError(f"bad --scope {spec!r}: use TYPE:NAME:PERMISSION[,PERMISSION...]")
        scoped.append({"entity": {"type": entity_type, "name": name}, "permissions": permissions.split(",")})
    return {"global": args.global_permission or [], "scoped": scoped, "canReadGatedRepos": args.gated}


def create_token(args: argparse.Namespace) -> int:
    rights = _scopes(args)

    def work(admin: AdminService) -> str:
        _, clear = admin.create_token(args.name, args.token_name, TokenRole(args.role), rights)
        return clear

    print(_run_admin(args, work))
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    rows = _run_admin(
        args,
        lambda admin: [
            (
                str(t.id),
                t.name,
                t.role.value,
                t.created_at.isoformat(),
                t.last_used_at.isoformat() if t.last_used_at else "-",
            )
            for t in admin.list_tokens(args.name)
        ],
    )
    for row in rows:
        print("\t".join(row))
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    _run_admin(args, lambda admin: admin.revoke_token(args.token_id))
    print(f"revoked token {args.token_id}", file=sys.stderr)
    return 0


def list_accounts(args: argparse.Namespace) -> int:
    kind = AccountType.USER if args.admin_command == "list-users" else AccountType.ORG

    def work(admin: AdminService) -> list[str]:
        lines, after = [], None
        while page := admin.list_accounts(kind, after=after, limit=1000):
            for account in page:
                flags = [f for f, on in (("admin", account.is_admin), ("disabled", account.disabled)) if on]
                lines.append("\t".join([account.name, account.email or "-", ",".join(flags) or "-"]))
            after = page[-1].name
        return lines

    for line in _run_admin(args, work):
        print(line)
    return 0


def set_disabled(args: argparse.Namespace) -> int:
    disabled = args.admin_command == "disable-user"
    _run_admin(args, lambda admin: admin.update_user(args.name, disabled=disabled))
    print(f"{'disabled' if disabled else 'enabled'} user {args.name}", file=sys.stderr)
    return 0


def delete_account(args: argparse.Namespace) -> int:
    kind = AccountType.USER if args.admin_command == "delete-user" else AccountType.ORG
    _run_admin(args, lambda admin: admin.delete_account(args.name, kind))
    print(f"deleted {kind.value} {args.name}", file=sys.stderr)
    return 0


def list_members(args: argparse.Namespace) -> int:
    rows = _run_admin(args, lambda admin: [(m.user.name, m.role.value) for m in admin.list_members(args.org)])
    for row in rows:
        print("\t".join(row))
    return 0


def add_member(args: argparse.Namespace) -> int:
    _run_admin(args, lambda admin: admin.set_member(args.org, args.user, OrgRole(args.role)))
    print(f"{args.user} is a member of {args.org} ({args.role})", file=sys.stderr)
    return 0


def remove_member(args: argparse.Namespace) -> int:
    _run_admin(args, lambda admin: admin.remove_member(args.org, args.user))
    print(f"{args.user} is no longer a member of {args.org}", file=sys.stderr)
    return 0


def audit_export(args: argparse.Namespace) -> int:
    """Every audit event (oldest first) as JSON lines, to standard output or a file."""
    since = None
    if args.since:
        try:
            since = datetime.fromisoformat(args.since.replace("Z", "+00:00"))
        except ValueError:
            raise CliError(f"bad --since {args.since!r}: use ISO 8601, e.g. 2026-01-31T00:00:00Z") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)

    def work(admin: AdminService) -> int:
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
        count = 0
        try:
            for event in admin.export_audit(since=since, action=args.action):
                out.write(json.dumps(event_dict(event)) + "\n")
                count += 1
        finally:
            if out is not sys.stdout:
                out.close()
        return count

    count = _run_admin(args, work)
    print(f"exported {count} event(s)", file=sys.stderr)
    return 0


def reset_password(args: argparse.Namespace) -> int:
    """Set a user's password (read from standard input, or generated and printed); ends their web sessions."""
    generated = not args.password_stdin
    if generated:
        password = secrets.token_urlsafe(15)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input")
    ended = _run_admin(args, lambda admin: admin.reset_password(args.name, password))
    if generated:
        print(password)
    print(f"reset the password of {args.name}; ended {ended} website session(s)", file=sys.stderr)
    return 0


def audit_prune(args: argparse.Namespace) -> int:
    """Delete the audit events older than --days (default: the audit_retention_days setting)."""
    days = args.days
    if days is None:
        days = Settings(**({"data_dir": args.data_dir} if args.data_dir else {})).audit_retention_days
        if days == 0:
            print("audit_retention_days is 0 (keep everything): nothing pruned", file=sys.stderr)
            return 0
    pruned = _run_admin(args, lambda admin: admin.prune_audit(days))
    print(f"deleted {pruned} audit event(s) older than {days} days", file=sys.stderr)
    return 0


def create_org(args: argparse.Namespace) -> int:
    members: list[tuple[str, OrgRole]] = []
    for spec in args.member or []:
        name, _, role = spec.partition(":")
        try:
            members.append((name, OrgRole(role or "admin")))
        except ValueError:
            raise CliError(f"unknown role {role!r}: use one of {', '.join(r.value for r in OrgRole)}") from None

    def work(service: AccountService) -> None:
        org = service.create_org(args.org, fullname=args.fullname)
        for name, role in members:
            service.set_membership(org, service.get_user(name), role)

    _run(args, work)
    print(f"created organization {args.org}", file=sys.stderr)
    return 0


def check(args: argparse.Namespace) -> int:
    """Compare every repo's database row with its git repository; exit 1 while something is left unrepaired."""
    settings = Settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    hub = Hub.from_settings(settings)
    try:
        findings = hub.reconcile(repair=args.repair, remove_orphans=args.repair)
    finally:
        hub.close()
    for finding in findings:
        print(finding)
    left = sum(not f.repaired for f in findings)
    print(f"{len(findings)} found, {len(findings) - left} repaired", file=sys.stderr)
    return 1 if left else 0


def add_parser(sub: Any) -> None:
    admin = sub.add_parser("admin", help="manage users, tokens and organisations")
    commands = admin.add_subparsers(dest="admin_command", required=True)

    user = commands.add_parser("create-user", help="create a user")
    user.add_argument("name")
    user.add_argument("--admin", action="store_true", help="make the user a site administrator")
    user.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    user.add_argument("--email")
    user.add_argument("--fullname")
    user.set_defaults(func=create_user)

    token = commands.add_parser("create-token", help="create an access token; prints only the token")
    token.add_argument("name", help="the user the token belongs to")
    token.add_argument("--role", choices=[r.value for r in TokenRole], default="write")
    token.add_argument("--token-name", default="cli", help="a label for the token")
    token.add_argument(
        "--scope", action="append", help="fineGrained: TYPE:NAME:PERM[,PERM], e.g. org:acme:repo.content.read"
    )
    token.add_argument("--global", dest="global_permission", action="append", help="fineGrained: a global permission")
    token.add_argument("--gated", action="store_true", help="fineGrained: may read gated repos the user may access")
    token.set_defaults(func=create_token)

    tokens = commands.add_parser("list-tokens", help="a user's working tokens: id, name, role, created, last used")
    tokens.add_argument("name")
    tokens.set_defaults(func=list_tokens)

    revoke = commands.add_parser("revoke-token", help="revoke a token by id (see list-tokens)")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(func=revoke_token)

    for command, about in [("list-users", "users: name, email, flags"), ("list-orgs", "organisations: name")]:
        listing = commands.add_parser(command, help=about)
        listing.set_defaults(func=list_accounts)
    for command, about in [("disable-user", "stop a user's tokens and sessions at once"), ("enable-user", "undo")]:
        toggle = commands.add_parser(command, help=about)
        toggle.add_argument("name")
        toggle.set_defaults(func=set_disabled)
    for command, about in [
        ("delete-user", "delete a user that owns no repo"),
        ("delete-org", "delete an organisation that owns no repo"),
    ]:
        deletion = commands.add_parser(command, help=about)
        deletion.add_argument("name")
        deletion.set_defaults(func=delete_account)

    members = commands.add_parser("list-members", help="an organisation's members and roles")
    members.add_argument("org")
    members.set_defaults(func=list_members)
    add = commands.add_parser("add-member", help="add a member to an organisation, or change their role")
    add.add_argument("org")
    add.add_argument("user")
    add.add_argument("--role", choices=[r.value for r in OrgRole], default="read")
    add.set_defaults(func=add_member)
    remove = commands.add_parser("remove-member", help="remove a member from an organisation")
    remove.add_argument("org")
    remove.add_argument("user")
    remove.set_defaults(func=remove_member)

    audit = commands.add_parser("audit-export", help="the audit log as JSON lines (oldest first)")
    audit.add_argument("--since", help="only events from this time on (ISO 8601)")
    audit.add_argument("--action", help="only this action, or a family of them (e.g. token)")
    audit.add_argument("--output", help="write to this file instead of standard output")
    audit.set_defaults(func=audit_export)

    prune = commands.add_parser("audit-prune", help="delete audit events older than the retention period")
    prune.add_argument("--days", type=int, help="keep this many days (default: HUBSTEAD_AUDIT_RETENTION_DAYS, 365)")
    prune.set_defaults(func=audit_prune)

    reset = commands.add_parser(
        "reset-password", help="set a user's password (generated and printed, or --password-stdin); ends their sessions"
    )
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
    reset.set_defaults(func=reset_password)

    checking = commands.add_parser(
        "check", help="compare the database with git (as serve does at start-up); --repair makes the database follow"
    )
    checking.add_argument(
        "--repair",
        action="store_true",
        help="record git's tips in the database, and remove git repositories no repo names (older than an hour)",
    )
    checking.set_defaults(func=check)

    org = commands.add_parser("create-org", help="create an organisation")
    org.add_argument("org")
    org.add_argument("--member", action="append", help="NAME[:ROLE], role one of read, contributor, write, admin")
    org.add_argument("--fullname")
    org.set_defaults(func=create_org)
