"""Account names: what huggingface.co accepts for user and organisation names."""

from __future__ import annotations

import re

from hubstead.errors import InvalidInputError

ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$")
RESERVED = frozenset(
    {
        "api",
        "datasets",
        "spaces",
        "models",
        "settings",
        "login",
        "logout",
        "join",
        "new",
        "docs",
        "static",
        "organizations",
        "admin",
        "hubstead",
        "resolve",
        "tree",
        "blob",
        "lfs",
        "jobs",  # training job pages: /jobs/{owner}/{id}, as on huggingface.co
        "training",
        "_",
    }
)


def validate_account_name(name: str) -> str:
    if not ACCOUNT_NAME.fullmatch(name) or "--" in name or ".." in name:
        raise InvalidInputError(
            f"Invalid name {name!r}: use letters, digits, '-', '_' or '.', start with a letter or digit, "
            "at most 96 characters, no '--' or '..'"
        )
    if name.lower() in RESERVED:
        raise InvalidInputError(f"The name {name!r} is reserved")
    return name
