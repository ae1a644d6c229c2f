"""``hubstead admin``: create users, tokens and organisations from scripts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from hubstead.accounts.models import OrgRole, TokenRole
from hubstead.accounts.services import AccountService
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


def create_token(args: argparse.Namespace) -> int:
    def work(service: AccountService) -> str:
        user = service.get_user(args.name)
        _, clear = service.create_token(user, args.token_name, TokenRole(args.role))
        return clear

    print(_run(args, work))
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
    token.set_defaults(func=create_token)

    org = commands.add_parser("create-org", help="create an organisation")
    org.add_argument("org")
    org.add_argument("--member", action="append", help="NAME[:ROLE], role one of read, contributor, write, admin")
    org.add_argument("--fullname")
    org.set_defaults(func=create_org)
