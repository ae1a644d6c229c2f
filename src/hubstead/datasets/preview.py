"""A data file's first rows as a table (a file's page shows CSV, TSV, JSON lines and parquet this way)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from hubstead.datasets.readers import arrow_feature

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
MAX_ROWS = 100
MAX_CELL = 300  # characters shown of one cell
MAX_PARQUET_BYTES = 64 * 1024 * 1024  # a parquet file is read whole (its footer is at the end)


@dataclass(frozen=True)
class TablePreview:
    columns: list[tuple[str, str]]  # name, type
    rows: list[list[str]]
    num_rows: int | None  # of the whole file, when known (parquet)


def previewable(path: str, size: int) -> bool:
    lower = path.lower()
    return lower.endswith(TABLE_SUFFIXES) and (not lower.endswith(".parquet") or size <= MAX_PARQUET_BYTES)


def preview_table(path: str, data: bytes) -> TablePreview | None:
    """The first rows of ``data`` (the file ``path``, or its beginning for text formats), or None if it cannot
    be read as its name says."""
    lower = path.lower()
    try:
        if lower.endswith(".parquet"):
            parquet = pq.ParquetFile(io.BytesIO(data))
            total = parquet.metadata.num_rows
            table = next(parquet.iter_batches(batch_size=MAX_ROWS), None)
            table = pa.Table.from_batches([table]) if table is not None else parquet.schema_arrow.empty_table()
        elif lower.endswith((".csv", ".tsv")):
            options = pa_csv.ParseOptions(delimiter="\t" if lower.endswith(".tsv") else ",")
            table, total = pa_csv.read_csv(io.BytesIO(_whole_lines(data)), parse_options=options), None
        else:
            table, total = pa_json.read_json(io.BytesIO(_whole_lines(data))), None
    except (pa.ArrowException, OSError, ValueError, StopIteration):
        return None
    table = table.slice(0, MAX_ROWS)
    columns = [(f.name, _type_name(f.type)) for f in table.schema]
    rows = [[_cell(v) for v in record.values()] for record in table.to_pylist()]
    return TablePreview(columns, rows, total)


def _whole_lines(data: bytes) -> bytes:
    cut = data.rfind(b"\n")
    return data[: cut + 1] if cut >= 0 else data


def _type_name(kind: pa.DataType) -> str:
    feature = arrow_feature(kind)
    return str(feature.get("dtype") or feature.get("_type") or "dict")


def _cell(value: object) -> str:
    if isinstance(value, bytes):
        text = f"<{len(value):,} bytes>"
    elif isinstance(value, dict | list):
        text = json.dumps(value, default=str)
    else:
        text = "null" if value is None else str(value)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…"
