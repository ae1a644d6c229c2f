"""Alembic environment: the engine is handed in through ``config.attributes`` (see db/migrate.py)."""

from __future__ import annotations

from alembic import context

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
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # batch mode rebuilds tables on SQLite; a rebuild of "repos" drops the FTS triggers of
            # migration 0002, so migrations on "repos" use plain ADD COLUMN / CREATE INDEX where they can
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
