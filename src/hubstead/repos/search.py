"""Listing and searching repos: filters over indexed columns and tags, sorts with keyset pagination,
substring search on ids through FTS5 (SQLite) or a trigram index (PostgreSQL)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, column, exists, false, or_, select, text, true
from sqlalchemy.orm import Session

from hubstead.accounts.models import Account
from hubstead.accounts.permissions import Actor
from hubstead.errors import InvalidInputError
from hubstead.repos.models import Repo, RepoTag, RepoType

MAX_LIMIT = 1000
DEFAULT_LIMIT = 1000
SORTS = {
    "downloads": Repo.downloads,
    "likes": Repo.likes,
    "trendingScore": Repo.trending_score,
    "trending_score": Repo.trending_score,
    "trending": Repo.trending_score,
    "createdAt": Repo.created_at,
    "created_at": Repo.created_at,
    "lastModified": Repo.last_modified,
    "last_modified": Repo.last_modified,
    "modified": Repo.last_modified,
    "id": Repo.id_key,
}
MIN_TRIGRAM = 3


@dataclass(frozen=True)
class RepoQuery:
    repo_type: RepoType
    search: list[str] = field(default_factory=list)
    author: str | None = None
    tags: list[str] = field(default_factory=list)  # every one must match
    pipeline_tag: str | None = None
    gated: bool | None = None
    sort: str | None = None
    ascending: bool = False
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


@dataclass(frozen=True)
class RepoPage:
    repos: list[Repo]
    next_cursor: str | None


class SearchService:
    """Read-only queries over the repo index; private repos appear only to those who may read them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def list_repos(self, query: RepoQuery, actor: Actor) -> RepoPage:
        if query.sort is not None and query.sort not in SORTS:
            raise InvalidInputError(
                f"Invalid sort {query.sort!r}: use one of downloads, likes, trendingScore, createdAt, lastModified"
            )
        if not 1 <= query.limit <= MAX_LIMIT:
            raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}")
        column = SORTS[query.sort or "trendingScore"]
        stmt = select(Repo).where(Repo.type == query.repo_type, self._visible(actor), *self._filters(query))
        stmt = self._after_cursor(stmt, column, query)
        order = (column.asc(), Repo.id.asc()) if query.ascending else (column.desc(), Repo.id.desc())
        rows = list(self.session.scalars(stmt.order_by(*order).limit(query.limit + 1)))
        if len(rows) <= query.limit:
            return RepoPage(rows, None)
        last = rows[query.limit - 1]
        return RepoPage(rows[: query.limit], _encode_cursor(query, getattr(last, column.key), last.id))

    @staticmethod
    def _visible(actor: Actor) -> ColumnElement[bool]:
        if actor.is_admin:
            return true()
        if actor.account is None:
            return Repo.private.is_(false())
        names = [actor.account.name.lower(), *actor.org_roles]
        owners = select(Account.id).where(Account.name_key.in_(names))
        return or_(Repo.private.is_(false()), Repo.owner_id.in_(owners))

    def _filters(self, query: RepoQuery) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if query.author:
            owner = select(Account.id).where(Account.name_key == query.author.lower()).scalar_subquery()
            clauses.append(Repo.owner_id == owner)
        if query.pipeline_tag:
            clauses.append(Repo.pipeline_tag == query.pipeline_tag)
        if query.gated is not None:
            clauses.append(Repo.gated.is_not(None) if query.gated else Repo.gated.is_(None))
        for tag in dict.fromkeys(t.lower() for t in query.tags if t):
            clauses.append(exists().where(RepoTag.repo_id == Repo.id, RepoTag.tag == tag))
        for term in query.search:
            if term:
                clauses.append(self._search_clause(term.lower()))
        return clauses

    def _search_clause(self, term: str) -> ColumnElement[bool]:
        dialect = self.session.get_bind().dialect.name
        if dialect == "sqlite" and len(term) >= MIN_TRIGRAM:
            phrase = '"' + term.replace('"', '""') + '"'
            matches = text("SELECT rowid FROM repo_search WHERE repo_search MATCH :phrase").bindparams(phrase=phrase)
            return Repo.id.in_(matches.columns(column("rowid", Integer)))
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return Repo.id_key.like(f"%{escaped}%", escape="\\")

    @staticmethod
    def _after_cursor(stmt: Select[Repo], column: Any, query: RepoQuery) -> Select[Repo]:
        if not query.cursor:
            return stmt
        value, last_id = _decode_cursor(query, column)
        if query.ascending:
            return stmt.where(or_(column > value, and_(column == value, Repo.id > last_id)))
        return stmt.where(or_(column < value, and_(column == value, Repo.id < last_id)))


def _encode_cursor(query: RepoQuery, value: Any, last_id: int) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([query.sort or "trendingScore", query.ascending, value, last_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(query: RepoQuery, column: Any) -> tuple[Any, int]:
    try:
        padded = query.cursor + "=" * (-len(query.cursor or "") % 4) if query.cursor else ""
        sort, ascending, value, last_id = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error, TypeError):
        raise InvalidInputError("Invalid cursor") from None
    if sort != (query.sort or "trendingScore") or ascending != query.ascending or not isinstance(last_id, int):
        raise InvalidInputError("The cursor belongs to another query")
    if isinstance(value, dict) and "dt" in value:
        value = datetime.fromisoformat(value["dt"])
    return value, last_id
