"""Ids named outside the database (in CAS tokens, signed URLs, job payloads, admin URLs) are never given to a
second row: SQLite hands the largest id to the next row once that row is deleted, unless the table has
AUTOINCREMENT (migration 0012); PostgreSQL sequences never go back. Issue 13, defect 4."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from hubstead.accounts.models import Account, AccountType, Token, TokenRole, WebSession
from hubstead.db import migrate
from hubstead.db.base import utcnow
from hubstead.db.engine import make_engine
from hubstead.jobs.models import Job
from hubstead.repos.models import Repo, RepoType

_serial = count()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _account(owner: Account) -> Account:
    name = f"user{next(_serial)}"
    return Account(name=name, name_key=name, type=AccountType.USER)


def _repo(owner: Account) -> Repo:
    name = f"repo{next(_serial)}"
    return Repo(type=RepoType.MODEL, namespace=owner.name, name=name, id_key=f"{owner.name}/{name}", owner_id=owner.id)


def _token(owner: Account) -> Token:
    return Token(user_id=owner.id, name="t", role=TokenRole.READ, token_hash=f"{next(_serial):064x}")


def _session(owner: Account) -> WebSession:
    return WebSession(user_id=owner.id, secret_hash=f"{next(_serial):064x}", expires_at=utcnow() + timedelta(days=1))


def _job(owner: Account) -> Job:
    return Job(kind="test", payload={}, max_attempts=1)


MAKERS: dict[str, Callable[[Account], Any]] = {
    "repos": _repo,
    "accounts": _account,
    "tokens": _token,
    "web_sessions": _session,
    "jobs": _job,
}


@pytest.mark.parametrize("table", list(MAKERS))
def test_the_id_of_a_deleted_row_is_never_given_again(engine: Engine, table: str) -> None:
    make = MAKERS[table]
    with Session(engine) as session:
        owner = Account(name="owner", name_key="owner", type=AccountType.USER)
        session.add(owner)
        session.flush()
        first, last = make(owner), make(owner)
        session.add_all([first, last])
        session.commit()
        deleted = last.id
        session.delete(last)
        session.commit()

        successor = make(owner)
        session.add(successor)
        session.commit()

        assert successor.id > deleted


def test_sqlite_tables_named_outside_the_database_are_autoincrement(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL sequences never hand out an id twice")
    with engine.connect() as db:
        plain = [
            name
            for name in MAKERS
            if "AUTOINCREMENT" not in db.scalar(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name})
        ]
    assert plain == []
