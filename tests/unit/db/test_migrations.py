"""The Alembic migrations build exactly the schema the ORM models describe, on every backend."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, inspect, text

import hubstead
from hubstead.config import Settings
from hubstead.db import migrate
from hubstead.db.base import Base
from hubstead.db.engine import make_engine
from hubstead.hub import Hub


def orm_metadata() -> MetaData:
    """Base.metadata with every domain's ``models`` module imported, including ones added later."""
    for package in pkgutil.iter_modules(hubstead.__path__):
        if package.ispkg and importlib.util.find_spec(f"hubstead.{package.name}.models") is not None:
            importlib.import_module(f"hubstead.{package.name}.models")
    return Base.metadata


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def hand_made_search_objects(connection: Connection) -> set[str]:
    """Search indexes that migrations create in raw SQL because the ORM cannot declare them: SQLite
    virtual tables (FTS5) with their shadow tables, and PostgreSQL GIN/GiST indexes (pg_trgm)."""
    if connection.dialect.name == "sqlite":
        virtual = connection.scalars(
            text("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")
        ).all()
        tables = connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")).all()
        return {t for t in tables for v in virtual if t == v or t.startswith(f"{v}_")}
    if connection.dialect.name == "postgresql":
        # the catalogs only: pg_indexes calls pg_get_indexdef on every index, which fails ("could not open
        # relation") when a concurrent test drops its schema meanwhile
        query = (
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_am a ON a.oid = c.relam "
            "WHERE c.relkind = 'i' AND n.nspname = current_schema() AND a.amname IN ('gin', 'gist')"
        )
        return set(connection.scalars(text(query)).all())
    return set()


def schema_differences(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        skipped = hand_made_search_objects(connection)
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_name": lambda name, type_, parents: name not in skipped,
            },
        )
        return [_describe(diff) for diff in compare_metadata(context, orm_metadata())]


def _describe(diff: Any) -> str:
    """One readable line per difference: ``add_column repos.likes`` or ``modify_default repos.likes: None -> 0``."""
    if isinstance(diff, list):  # column changes come as a list of (op, schema, table, column, info, old, new)
        return "; ".join(
            f"{op} {table}.{column}: {_show(old)} -> {_show(new)}" for op, _, table, column, _, old, new in diff
        )
    op, obj = diff[0], diff[-1]
    table = getattr(obj, "table", None)
    name = getattr(obj, "name", obj)
    return f"{op} {table.name}.{name}" if table is not None else f"{op} {name}"


def _show(value: Any) -> str:
    return str(getattr(value, "arg", value))  # a server default shows its SQL text


def test_migrations_produce_exactly_the_orm_schema(engine: Engine) -> None:
    migrate.upgrade(engine)

    assert schema_differences(engine) == []


def test_an_empty_database_differs_from_the_orm_schema(engine: Engine) -> None:
    # guards the test above: the comparison does see missing tables
    assert schema_differences(engine) != []


def test_migrations_are_idempotent(engine: Engine) -> None:
    migrate.upgrade(engine)
    migrate.upgrade(engine)

    with engine.connect() as connection:
        head = MigrationContext.configure(connection).get_current_heads()
    assert len(head) == 1


def test_downgrade_to_base_removes_every_table(engine: Engine) -> None:
    migrate.upgrade(engine)
    command.downgrade(migrate.alembic_config(engine), "base")

    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


@pytest.mark.parametrize(("pragma", "expected"), [("journal_mode", "wal"), ("foreign_keys", 1)])
def test_sqlite_hub_runs_with_wal_and_foreign_keys(tmp_path: Path, pragma: str, expected: object) -> None:
    hub = Hub.from_settings(Settings(data_dir=tmp_path, database_url=None, secret_key="test"))
    try:
        with hub.engine.connect() as connection:
            assert connection.execute(text(f"PRAGMA {pragma}")).scalar() == expected
    finally:
        hub.close()
