"""DuckDB connections of the viewer: bounded memory, spilling to the configured temp directory, no access to
files or the network beyond the one database file they open, settings locked."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import duckdb

from hubstead.config import Settings


def temp_directory(settings: Settings) -> Path:
    path = settings.datasets.duckdb_temp_directory or settings.data_dir / "tmp" / "duckdb"
    path.mkdir(parents=True, exist_ok=True)
    return path


def connect(settings: Settings, database: Path, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection to ``database``; queries cannot read or write any other file (``enable_external_access``
    off), nor change these settings."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": settings.datasets.duckdb_memory_limit,
        "temp_directory": str(temp_directory(settings)),
        "threads": settings.datasets.duckdb_threads,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    con = duckdb.connect(str(database), read_only=read_only, config=config)
    con.execute("SET enable_external_access = false")  # after temp_directory, which it would refuse to set
    con.execute("SET lock_configuration = true")
    return con


class DuckPool:
    """Read-only connections to the viewer's index files, kept open between requests (opening one costs more
    than a query of 100 rows); each query gets its own cursor. Holds at most ``size`` databases: the least
    recently used is dropped (closed once its last cursor is gone)."""

    def __init__(self, settings: Settings, size: int = 32) -> None:
        self.settings = settings
        self.size = size
        self._lock = threading.Lock()
        self._open: OrderedDict[Path, duckdb.DuckDBPyConnection] = OrderedDict()

    def cursor(self, database: Path) -> duckdb.DuckDBPyConnection:
        with self._lock:
            con = self._open.get(database)
            if con is None:
                con = connect(self.settings, database, read_only=True)
                self._open[database] = con
                while len(self._open) > self.size:
                    self._open.popitem(last=False)
            self._open.move_to_end(database)
            return con.cursor()

    def close(self) -> None:
        with self._lock:
            for con in self._open.values():
                con.close()
            self._open.clear()
