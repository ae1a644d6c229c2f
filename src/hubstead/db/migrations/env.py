"""Alembic environment: the engine is handed in through ``config.attributes`` (see db/migrate.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import hubstead.accounts.models
import hubstead.audit.models
import hubstead.discussions.models
import hubstead.jobs.models
import hubstead.objects.models
import hubstead.repos.models
import hubstead.scanning.models
import hubstead.xet.models  # noqa: F401
from hubstead.db.base import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # batch mode rebuilds a table by dropping it: with foreign keys on, that would delete (cascade) the
            # rows of every table referencing it. The pragma only takes effect outside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                _migrate(connection, sqlite)
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def _migrate(connection: Connection, sqlite: bool) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # batch mode rebuilds tables on SQLite; a rebuild of "repos" drops its triggers (the search indexes
        # of migrations 0002 and 0004), so a migration that rebuilds it makes them again (see 0012)
        render_as_batch=sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"The migrations left rows whose foreign keys point nowhere: {broken[:10]}")


run_migrations()
