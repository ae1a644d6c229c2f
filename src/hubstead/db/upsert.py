"""INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL: rows that may be written by racing requests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hubstead.db.base import Base


def insert_ignoring_duplicates(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows whose primary key (or unique key) is not taken yet; returns how many were inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = next(iter(model.__table__.primary_key.columns))  # type: ignore[attr-defined]
    statement = insert(model).values(list(rows)).on_conflict_do_nothing().returning(key)
    # RETURNING lists the rows actually inserted (rowcount is -1 with some drivers)
    return len(session.execute(statement).all())
