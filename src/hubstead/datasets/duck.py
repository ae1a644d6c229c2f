"""DuckDB connections of the viewer: bounded memory, spilling to the configured temp directory, no access to
files or the network beyond the one database file they open, settings locked."""

from __future__ import annotations

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
