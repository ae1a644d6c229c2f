"""The per-split DuckDB index built by the conversion job: table ``data`` (the rows, with their index in
``__hf_index_id``), table ``tokens`` (a full-text index: each lower-cased word of each string column, with its
row, as often as it occurs, sorted so that a word's rows are found by zone maps without a scan), and the
split's statistics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from hubstead.config import Settings
from hubstead.datasets import duck

ROW_ID = "__hf_index_id"
WORD = re.compile(r"[^\W_]+")
TOKEN_SPLIT = r"[^\pL\pN]+"  # the same words, in DuckDB's (RE2) syntax
HISTOGRAM_BINS = 10
MAX_FREQUENCIES = 1000


def quote(name: str) -> str:
    """A column name as a DuckDB identifier (names come from data files, never from a query's caller)."""
    return '"' + name.replace('"', '""') + '"'


class IndexBuilder:
    """Writes the index of one split to ``path`` as its rows arrive, batch by batch (never the whole split in
    memory); ``finish`` adds the full-text table and returns whether there is one, and the statistics."""

    def __init__(self, settings: Settings, path: Path) -> None:
        self.con = duck.connect(settings, path, read_only=False)
        self.rows = 0

    def add(self, batch: pa.RecordBatch) -> None:
        ids = pa.array(range(self.rows, self.rows + batch.num_rows), pa.int64())
        self.con.register("source", pa.Table.from_batches([batch]).append_column(ROW_ID, ids))
        if self.rows == 0 and not self._has_data():
            self.con.execute("CREATE TABLE data AS SELECT * FROM source")
        else:
            self.con.execute("INSERT INTO data SELECT * FROM source")
        self.con.unregister("source")
        self.rows += batch.num_rows

    def _has_data(self) -> bool:
        found = self.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'data'").fetchone()
        return bool(found and found[0])

    def finish(self, schema: pa.Schema, features: dict[str, Any]) -> tuple[bool, list[dict[str, Any]]]:
        try:
            if not self._has_data():
                self.add(_empty(schema))
            stats = statistics(self.con, schema, self.rows, features)
            texts = [f.name for f in schema if _is_text(f.type)]
            if not texts:
                return False, stats
            words = " UNION ALL ".join(
                f"SELECT {ROW_ID} AS row_idx, unnest(regexp_split_to_array(lower({quote(c)}), '{TOKEN_SPLIT}')) "
                "AS token FROM data"
                for c in texts
            )
            self.con.execute(
                f"CREATE TABLE tokens AS SELECT token, row_idx FROM ({words}) WHERE token <> '' ORDER BY token, row_idx"
            )
            return True, stats
        finally:
            self.con.close()

    def abort(self) -> None:
        self.con.close()


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))


def search_words(query: str) -> list[str]:
    """The words of a search, as the index holds them."""
    return list(dict.fromkeys(w.lower() for w in WORD.findall(query)))


# --- statistics ---------------------------------------------------------------------------------


def statistics(
    con: duckdb.DuckDBPyConnection, schema: pa.Schema, total: int, features: dict[str, Any]
) -> list[dict[str, Any]]:
    """Per-column statistics of table ``data``, in the shapes of the public viewer's ``/statistics``."""
    out = []
    for field in schema:
        stats = _column_statistics(con, field, features.get(field.name), total)
        if stats is not None:
            out.append({"column_name": field.name, **stats})
    return out


def _column_statistics(
    con: duckdb.DuckDBPyConnection, field: pa.Field, feature: Any, total: int
) -> dict[str, Any] | None:
    col, kind = quote(field.name), field.type
    nulls = con.execute(f"SELECT count(*) - count({col}) FROM data").fetchone()
    nan_count = int(nulls[0]) if nulls else 0
    base = {"nan_count": nan_count, "nan_proportion": _ratio(nan_count, total)}
    if isinstance(feature, dict) and feature.get("_type") == "ClassLabel":
        names = feature.get("names") or []
        return {"column_type": "class_label", "column_statistics": {**base, **_class_label(con, col, names)}}
    if pa.types.is_boolean(kind):
        return {"column_type": "bool", "column_statistics": {**base, "frequencies": _frequencies(con, col)}}
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        column_type = "int" if pa.types.is_integer(kind) else "float"
        return {"column_type": column_type, "column_statistics": {**base, **_numbers(con, col, column_type == "int")}}
    if _is_text(kind):
        return _strings(con, col, base, total)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return {"column_type": "list", "column_statistics": {**base, **_numbers(con, f"len({col})", True)}}
    return None


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 5) if whole else 0.0


def _frequencies(con: duckdb.DuckDBPyConnection, expr: str) -> dict[str, int]:
    rows = con.execute(
        f"SELECT CAST({expr} AS VARCHAR), count(*) AS n FROM data WHERE {expr} IS NOT NULL "
        f"GROUP BY 1 ORDER BY n DESC, 1 LIMIT {MAX_FREQUENCIES}"
    ).fetchall()
    return {str(k): int(n) for k, n in rows}


def _class_label(con: duckdb.DuckDBPyConnection, col: str, names: list[str]) -> dict[str, Any]:
    raw = _frequencies(con, col)
    freq: dict[str, int] = {}
    no_label = 0
    for key, n in raw.items():
        idx = int(key)
        if 0 <= idx < len(names):
            freq[str(names[idx])] = n
        else:
            no_label += n
    return {"no_label_count": no_label, "no_label_proportion": 0.0, "n_unique": len(freq), "frequencies": freq}


def _numbers(con: duckdb.DuckDBPyConnection, expr: str, integer: bool) -> dict[str, Any]:
    row = con.execute(
        f"SELECT min({expr}), max({expr}), avg({expr}), median({expr}), stddev_samp({expr}) FROM data "
        f"WHERE {expr} IS NOT NULL AND NOT isnan(CAST({expr} AS DOUBLE))"
    ).fetchone()
    if row is None or row[0] is None:
        return {"min": None, "max": None, "mean": None, "median": None, "std": None, "histogram": None}
    low, high, mean, median, std = row
    return {
        "min": _number(low, integer),
        "max": _number(high, integer),
        "mean": round(float(mean), 5),
        "median": round(float(median), 5),
        "std": round(float(std), 5) if std is not None else None,
        "histogram": _histogram(con, expr, float(low), float(high), integer),
    }


def _number(value: Any, integer: bool) -> int | float:
    return int(value) if integer else round(float(value), 5)


def _histogram(con: duckdb.DuckDBPyConnection, expr: str, low: float, high: float, integer: bool) -> dict[str, Any]:
    bins = HISTOGRAM_BINS
    if integer:
        bins = max(1, min(bins, int(high - low) + 1))
    width = (high - low) / bins if high > low else 1.0
    rows = con.execute(
        f"SELECT least(CAST(floor((CAST({expr} AS DOUBLE) - ?) / ?) AS BIGINT), ?) AS __bin, count(*) FROM data "
        f"WHERE {expr} IS NOT NULL AND NOT isnan(CAST({expr} AS DOUBLE)) GROUP BY __bin ORDER BY __bin",
        [low, width, bins - 1],
    ).fetchall()
    counts = [0] * bins
    for b, n in rows:
        counts[int(b)] += int(n)
    edges = [low + i * width for i in range(bins)] + [high]
    edges = [round(e) for e in edges] if integer else [round(e, 5) for e in edges]
    return {"hist": counts, "bin_edges": edges}


def _strings(con: duckdb.DuckDBPyConnection, col: str, base: dict[str, Any], total: int) -> dict[str, Any]:
    row = con.execute(f"SELECT count(DISTINCT {col}) FROM data").fetchone()
    unique = int(row[0]) if row else 0
    if unique <= 10 or (total and unique / total <= 0.2 and unique < MAX_FREQUENCIES):
        stats = {**base, "no_label_count": 0, "no_label_proportion": 0.0, "n_unique": unique}
        return {"column_type": "string_label", "column_statistics": {**stats, "frequencies": _frequencies(con, col)}}
    return {"column_type": "string_text", "column_statistics": {**base, **_numbers(con, f"length({col})", True)}}
