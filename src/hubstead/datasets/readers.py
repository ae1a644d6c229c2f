"""Reading one split's data files into an Arrow table, by format: parquet, CSV/TSV, JSON/JSONL, text, and image
or audio folders (with ``metadata.csv``/``metadata.jsonl`` giving extra columns by ``file_name``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from hubstead.datasets.layout import ConfigPlan

Fetch = Callable[[str], Path]  # a repo path -> a local file holding its bytes
HF_METADATA = b"huggingface"
MAX_JSON_DOCUMENT = 512 * 1024 * 1024  # a .json that is one document (not lines) is parsed whole


class DataFileError(Exception):
    """A data file that cannot be read as its format says; the message names it."""


BATCH_ROWS = 100_000


def iter_split(plan: ConfigPlan, split: str, fetch: Fetch) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The schema and the rows of ``split``, batch by batch: parquet files are streamed (a split larger than
    memory converts), other formats are read whole, file by file."""
    if plan.builder != "parquet":
        table = read_split(plan, split, fetch)
        return table.schema, iter(table.to_batches(max_chunksize=BATCH_ROWS))
    paths = plan.splits[split]
    if not paths:
        raise DataFileError(f"split {split!r} has no data files")
    first = _parquet_file(paths[0], fetch(paths[0]))
    schema = first.schema_arrow
    return schema, _parquet_batches(paths, fetch, schema, first)


def _parquet_file(path: str, local: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(local)
    except (pa.ArrowException, OSError) as exc:
        raise DataFileError(f"{path}: {_first_line(exc)}") from None


def _parquet_batches(
    paths: list[str], fetch: Fetch, schema: pa.Schema, first: pq.ParquetFile
) -> Iterator[pa.RecordBatch]:
    for number, path in enumerate(paths):
        parquet = first if number == 0 else _parquet_file(path, fetch(path))
        try:
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
                if batch.schema.remove_metadata() != schema.remove_metadata():
                    batch = pa.Table.from_batches([batch]).cast(schema).to_batches()[0]
                yield batch
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataFileError(f"{path}: columns or rows that do not fit the split: {_first_line(exc)}") from None


def read_split(plan: ConfigPlan, split: str, fetch: Fetch) -> pa.Table:
    """The rows of ``split`` of config ``plan``, its files concatenated in order (columns unified)."""
    paths = plan.splits[split]
    if plan.builder in ("imagefolder", "audiofolder"):
        return _read_folder(plan, paths, fetch)
    tables = [_read_file(plan, path, fetch(path)) for path in paths]
    if not tables:
        raise DataFileError(f"split {split!r} has no data files")
    try:
        return pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataFileError(f"the files of split {split!r} have columns that do not agree: {exc}") from None


def _read_file(plan: ConfigPlan, path: str, local: Path) -> pa.Table:
    try:
        if plan.builder == "parquet":
            return pq.read_table(local)
        if plan.builder == "csv":
            sep = plan.options.get("sep", ",")
            delimiter = sep if isinstance(sep, str) and len(sep) == 1 else ","
            return pa_csv.read_csv(local, parse_options=pa_csv.ParseOptions(delimiter=delimiter))
        if plan.builder == "json":
            return _read_json(local, plan.options.get("field"))
        if plan.builder == "text":
            lines = local.read_text(encoding="utf-8").splitlines()
            return pa.table({"text": pa.array(lines, pa.string())})
    except (pa.ArrowException, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataFileError(f"{path}: {_first_line(exc)}") from None
    raise DataFileError(f"{path}: no reader for {plan.builder!r}")


def _read_json(local: Path, field: Any) -> pa.Table:
    with local.open("rb") as f:
        head = f.read(1024).lstrip()
    if head.startswith(b"[") or (head.startswith(b"{") and field):
        if local.stat().st_size > MAX_JSON_DOCUMENT:
            raise ValueError("a JSON document this large must be written as JSON lines")
        data = json.loads(local.read_bytes())
        if isinstance(data, dict) and isinstance(field, str):
            data = data.get(field)
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ValueError("a JSON file must hold a list of objects (or be JSON lines)")
        return pa.Table.from_pylist(data)
    return pa_json.read_json(local)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _read_folder(plan: ConfigPlan, paths: list[str], fetch: Fetch) -> pa.Table:
    column = "image" if plan.builder == "imagefolder" else "audio"
    metadata = _folder_metadata(plan, fetch)
    records: list[dict[str, Any]] = []
    for path in paths:
        record: dict[str, Any] = {column: {"bytes": fetch(path).read_bytes(), "path": path.rsplit("/", 1)[-1]}}
        extra = _metadata_for(metadata, path)
        if metadata and extra is None:
            continue  # huggingface.co drops files that metadata does not describe
        record.update(extra or {})
        records.append(record)
    names: list[str] = []
    if not metadata and not plan.options.get("drop_labels", False):
        names = sorted({p.split("/")[-2] for p in paths if "/" in p})
        if len(names) > 1:
            for record, path in zip(records, paths, strict=True):
                record["label"] = names.index(path.split("/")[-2])
    struct = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    fields = [pa.field(column, struct)]
    table = pa.Table.from_pylist(records, schema=None)
    table = table.set_column(0, fields[0], pa.array([r[column] for r in records], struct))
    features: dict[str, Any] = {column: {"_type": "Image" if column == "image" else "Audio"}}
    for name in table.column_names[1:]:
        if name == "label" and names and len(names) > 1:
            features[name] = {"names": names, "_type": "ClassLabel"}
        else:
            features[name] = arrow_feature(table.schema.field(name).type)
    info = {"info": {"features": features}}
    return table.replace_schema_metadata({HF_METADATA: json.dumps(info).encode()})


def _folder_metadata(plan: ConfigPlan, fetch: Fetch) -> dict[str, dict[str, Any]]:
    """Rows of the folder's metadata files by the path of the file they describe (relative to the metadata)."""
    out: dict[str, dict[str, Any]] = {}
    for meta in plan.metadata:
        local = fetch(meta)
        try:
            table = pa_csv.read_csv(local) if meta.endswith(".csv") else pa_json.read_json(local)
        except pa.ArrowException as exc:
            raise DataFileError(f"{meta}: {_first_line(exc)}") from None
        base = meta.rsplit("/", 1)[0] + "/" if "/" in meta else ""
        for row in table.to_pylist():
            name = row.pop("file_name", None)
            if isinstance(name, str):
                out[base + name.lstrip("./")] = row
    return out


def _metadata_for(metadata: dict[str, dict[str, Any]], path: str) -> dict[str, Any] | None:
    return metadata.get(path) if metadata else None


def arrow_feature(kind: pa.DataType) -> dict[str, Any]:
    """The ``datasets`` feature JSON of an Arrow type (what the viewer shows as a column's type)."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return {"feature": arrow_feature(kind.value_type), "_type": "List"}
    if pa.types.is_struct(kind):
        names = [kind.field(i).name for i in range(kind.num_fields)]
        if sorted(names) == ["bytes", "path"]:
            return {"_type": "Image"}
        return {kind.field(i).name: arrow_feature(kind.field(i).type) for i in range(kind.num_fields)}
    return {"dtype": _dtype(kind), "_type": "Value"}


def _dtype(kind: pa.DataType) -> str:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return "string"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "binary"
    if pa.types.is_boolean(kind):
        return "bool"
    if pa.types.is_timestamp(kind):
        return f"timestamp[{kind.unit}]"
    return str(kind)


def table_features(schema: pa.Schema) -> dict[str, Any]:
    """The features of a table: the ``datasets`` ones its metadata holds, else derived from the Arrow types."""
    meta = (schema.metadata or {}).get(HF_METADATA)
    if meta:
        try:
            features = json.loads(meta).get("info", {}).get("features")
        except (ValueError, AttributeError):
            features = None
        if isinstance(features, dict) and set(features) == set(schema.names):
            return {name: features[name] for name in schema.names}
    return {field.name: arrow_feature(field.type) for field in schema}
