"""Listing and searching repos: filters over indexed columns and tags, sorts with keyset pagination,
substring search on ids through FTS5 (SQLite) or a trigram index (PostgreSQL)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, text, true
from sqlalchemy.orm import Session

from hubstead import bounded_json
from hubstead.accounts.models import Account
from hubstead.accounts.permissions import Actor, private_reach
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
CANDIDATE_LIMIT = 1000


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
    """Read-only queries over the repo index; private repos appear only to those who may read them.

    On SQLite, selective filters (rare tags, rare search terms) are first resolved through FTS5 indexes
    into a small set of candidate ids, which are then filtered and sorted; dense filters (matching more
    than ``CANDIDATE_LIMIT`` repos) are checked row by row while walking the sort index, which finds a page
    quickly precisely because matches are dense."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.sqlite = session.get_bind().dialect.name == "sqlite"

    def list_repos(self, query: RepoQuery, actor: Actor) -> RepoPage:
        if query.sort is not None and query.sort not in SORTS:
            raise InvalidInputError(
                f"Invalid sort {query.sort!r}: use one of downloads, likes, trendingScore, createdAt, lastModified"
            )
        if not 1 <= query.limit <= MAX_LIMIT:
            raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}")
        column = SORTS[query.sort or "trendingScore"]
        clauses = [Repo.type == query.repo_type, self._visible(actor), *self._filters(query)]
        if query.cursor:
            clauses.append(_after_cursor(column, query))
        candidates = self._candidates(query) if self.sqlite else None
        if candidates is not None:
            rows = self._page_of_candidates(candidates, clauses, column, query)
        else:
            order = (column.asc(), Repo.id.asc()) if query.ascending else (column.desc(), Repo.id.desc())
            rows = list(self.session.scalars(select(Repo).where(*clauses).order_by(*order).limit(query.limit + 1)))
        if len(rows) <= query.limit:
            return RepoPage(rows, None)
        last = rows[query.limit - 1]
        return RepoPage(rows[: query.limit], _encode_cursor(query, getattr(last, column.key), last.id))

    def _page_of_candidates(
        self, candidates: set[int], clauses: list[ColumnElement[bool]], column: Any, query: RepoQuery
    ) -> list[Repo]:
        if not candidates:
            return []
        keyed = list(self.session.execute(select(Repo.id, column).where(Repo.id.in_(sorted(candidates)), *clauses)))
        keyed.sort(key=lambda row: (row[1], row[0]), reverse=not query.ascending)
        page_ids = [row[0] for row in keyed[: query.limit + 1]]
        repos = {r.id: r for r in self.session.scalars(select(Repo).where(Repo.id.in_(page_ids)))}
        return [repos[i] for i in page_ids]

    def _candidates(self, query: RepoQuery) -> set[int] | None:
        """Ids of the repos matching the selective filters, or None if no filter is selective."""
        found: set[int] | None = None
        tags = list(dict.fromkeys(t.lower() for t in query.tags if t))
        sources = []
        if tags:
            expr = " AND ".join(tag_token(t) for t in tags)
            sources.append(
                text("SELECT rowid FROM repo_tag_search WHERE repo_tag_search MATCH :q LIMIT :n").bindparams(
                    q=expr, n=CANDIDATE_LIMIT + 1
                )
            )
        for term in query.search:
            if len(term) >= MIN_TRIGRAM:
                sources.append(
                    text("SELECT rowid FROM repo_search WHERE repo_search MATCH :q LIMIT :n").bindparams(
                        q=_fts_phrase(term.lower()), n=CANDIDATE_LIMIT + 1
                    )
                )
        for source in sources:
            ids = set(self.session.scalars(source))
            if len(ids) > CANDIDATE_LIMIT:
                continue  # dense: checked row by row instead
            found = ids if found is None else found & ids
        return found

    @staticmethod
    def _visible(actor: Actor) -> ColumnElement[bool]:
        reach = private_reach(actor)
        if reach.everything:
            return true()
        visible: list[ColumnElement[bool]] = [Repo.private.is_(false())]
        if reach.namespaces:
            owners = select(Account.id).where(Account.name_key.in_(sorted(reach.namespaces)))
            visible.append(Repo.owner_id.in_(owners))
        for repo_type in RepoType:  # a fine-grained token's single-repo scopes
            ids = sorted(repo_id for kind, repo_id in reach.repos if kind == repo_type.value)
            if ids:
                visible.append(and_(Repo.type == repo_type, Repo.id_key.in_(ids)))
        return or_(*visible)

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
                escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                clauses.append(Repo.id_key.like(f"%{escaped}%", escape="\\"))
        return clauses

    def reindex_tags(self, repo_pk: int, tags: set[str]) -> None:
        """Keep the SQLite tag index in step with ``repo_tags`` (call after changing a repo's tags)."""
        if not self.sqlite:
            return
        self.session.execute(text("DELETE FROM repo_tag_search WHERE rowid = :id").bindparams(id=repo_pk))
        if tags:
            tokens = " ".join(sorted({tag_token(t.lower()) for t in tags}))
            self.session.execute(
                text("INSERT INTO repo_tag_search(rowid, tokens) VALUES (:id, :tokens)").bindparams(
                    id=repo_pk, tokens=tokens
                )
            )


def tag_token(tag: str) -> str:
    """One FTS token per tag: tags hold ':', '/', '<' and other characters tokenizers split on."""
    return "t" + hashlib.sha1(tag.encode()).hexdigest()[:20]


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _after_cursor(column: Any, query: RepoQuery) -> ColumnElement[bool]:
    value, last_id = _decode_cursor(query, column)
    if query.ascending:
        return or_(column > value, and_(column == value, Repo.id > last_id))
    return or_(column < value, and_(column == value, Repo.id < last_id))


def _encode_cursor(query: RepoQuery, value: Any, last_id: int) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([query.sort or "trendingScore", query.ascending, value, last_id])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(query: RepoQuery, column: Any) -> tuple[Any, int]:
    try:
        padded = query.cursor + "=" * (-len(query.cursor or "") % 4) if query.cursor else ""
        sort, ascending, value, last_id = bounded_json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error, TypeError):
        raise InvalidInputError("Invalid cursor") from None
    if sort != (query.sort or "trendingScore") or ascending != query.ascending or not isinstance(last_id, int):
        raise InvalidInputError("The cursor belongs to another query")
    if isinstance(value, dict) and "dt" in value:
        value = datetime.fromisoformat(value["dt"])
    return value, last_id
