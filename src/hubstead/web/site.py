"""What the website shares between requests: the template environment, the Markdown renderer, the CSRF key."""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from hubstead import __version__
from hubstead.repos.models import Repo, RepoType
from hubstead.web.highlight import highlight_block, highlight_lines
from hubstead.web.markdown import MarkdownRenderer
from hubstead.web.repo_view import SizeCache

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def repo_path(repo_type: RepoType, repo_id: str) -> str:
    """The web address of a repo: ``/ns/name``, ``/datasets/ns/name`` or ``/spaces/ns/name``."""
    return f"/{repo_type.url_prefix}{repo_id}"


def rev_path(revision: str) -> str:
    """A revision in a URL path segment: ``refs/pr/1`` must stay one segment."""
    return quote(revision, safe="")


def file_size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("Bytes", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "Bytes" else f"{size:.1f} {unit}".replace(".0 ", " ")
        size /= 1000
    return f"{n} Bytes"


def compact_number(n: int | None) -> str:
    if not n:
        return "0"
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if n >= limit:
            value = f"{n / limit:.1f}".rstrip("0").rstrip(".")
            return f"{value}{suffix}"
    return str(n)


def time_ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    for limit, unit in ((60, "second"), (3600, "minute"), (86400, "hour"), (86400 * 30, "day"), (86400 * 365, "month")):
        if seconds < limit:
            size = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "month": 86400 * 30}[unit]
            count = max(1, int(seconds // size))
            return "just now" if unit == "second" else f"{count} {unit}{'s' if count > 1 else ''} ago"
    years = int(seconds // (86400 * 365))
    return f"{years} year{'s' if years > 1 else ''} ago"


def query_string(params: dict[str, Any], **changes: Any) -> str:
    """``params`` with ``changes`` applied (``None`` removes a key), as ``?a=b``; empty values dropped."""
    merged = {**params, **changes}
    items = [(k, v) for k, v in merged.items() if v not in (None, "")]
    return "?" + urlencode(items) if items else "?"


def repo_url(repo: Repo) -> str:
    return repo_path(repo.type, repo.repo_id)


@functools.cache
def template_environment() -> Environment:
    """The templates, compiled once per process (they and their helpers hold no per-app state), and the
    highlighter's lexers loaded: a server's first page costs no more than the next."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(filesize=file_size, compact=compact_number, ago=time_ago, rev=rev_path)
    env.globals.update(
        repo_path=repo_path,
        repo_url=repo_url,
        query_string=query_string,
        version=__version__,
        RepoType=RepoType,
    )
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    highlight_block("import os", "python")
    highlight_lines("warm.py", "import os\n")
    return env


@dataclass
class Site:
    """Built once per app by ``hubstead.web.install``."""

    templates: Environment
    markdown: MarkdownRenderer
    csrf_key: bytes
    signup_enabled: bool
    sizes: SizeCache

    @classmethod
    def build(cls, secret: str, signup_enabled: bool) -> Site:
        key = hmac.new(secret.encode(), b"hubstead-web-csrf", hashlib.sha256).digest()
        return cls(
            templates=template_environment(),
            markdown=MarkdownRenderer(),
            csrf_key=key,
            signup_enabled=signup_enabled,
            sizes=SizeCache(),
        )

    def csrf_token(self, cookie: str) -> str:
        return hmac.new(self.csrf_key, cookie.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        return hmac.compare_digest(self.csrf_token(cookie), token)
