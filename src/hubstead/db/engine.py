"""Engine and session factory. SQLite gets WAL mode and a busy timeout; PostgreSQL is used as is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from hubstead.db import outcomes

SQLITE_POOL_SIZE = 20  # connections kept open: more than the requests a server usually runs at once


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        if "poolclass" not in kwargs and ":memory:" not in url and url.rstrip("/") != "sqlite:":
            # every request thread may hold a connection: past the pool, each one would be opened (with its
            # pragmas) and closed again per request
            kwargs = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 2 * SQLITE_POOL_SIZE} | kwargs
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    outcomes.install(factory)  # what a unit of work does to git and files once it knows how it ended
    return factory
