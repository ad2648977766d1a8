"""Which Parquet logs are read lean, and their rows in batches, decoded on threads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from features.io import table_parts
from features.kernels.parallel import ordered_map, read_ahead
from features.schema import INTERACTIONS_OPTIONAL, INTERACTIONS_REQUIRED

COLUMNS: tuple[str, ...] = (*INTERACTIONS_REQUIRED, *INTERACTIONS_OPTIONAL)
# Types are few: always read as dictionaries. Ids are read so where the file's dictionaries
# are small beside their rows: Arrow then hands over each row's code without touching its
# text. Where a writer's dictionary overflowed (1 MiB by default) Arrow would hash every
# row's text, and where most ids are distinct their dictionaries are as large as the text;
# packing the ids is cheaper then.
TYPE_COLUMNS: tuple[str, ...] = ("event_type",)
ID_COLUMNS: tuple[str, ...] = ("follower_id", "post_id")
SMALL_DICTIONARY = 1 << 17  # bytes of a dictionary page, compressed
SMALL_SHARE = 8  # ... and at most an eighth of its column's bytes in the row group
_TIME_UNITS = ("s", "ms", "us")  # nanoseconds would be cut to microseconds: read whole


def lean_parts(path: Path) -> list[Path] | None:
    """The Parquet files of an events table, if it is one file or a plain folder of parts."""
    if path.is_file():
        return [path] if path.suffix == ".parquet" else None
    if not path.is_dir():
        return None
    parts = table_parts(path)
    # Hive folders (day=2026-01-01/) add a column of their own: the general reader knows them.
    plain = all(part.parent == path for part in parts)
    return parts if parts and plain and all(p.suffix == ".parquet" for p in parts) else None


def _text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def leanly_readable(schema: pa.Schema) -> bool:
    """Whether a Parquet schema holds our columns in types read without a text pass."""
    names = set(schema.names)
    if not set(INTERACTIONS_REQUIRED) <= names:
        return False
    kinds = {name: schema.field(name).type for name in COLUMNS if name in names}
    time = kinds["occurred_at"]
    return (
        _text(kinds["follower_id"])
        and _text(kinds["event_type"])
        and pa.types.is_timestamp(time)
        and time.unit in _TIME_UNITS
        and (
            "post_id" not in kinds or _text(kinds["post_id"]) or pa.types.is_null(kinds["post_id"])
        )
        and (
            "value" not in kinds
            or pa.types.is_floating(kinds["value"])
            or pa.types.is_integer(kinds["value"])
            or pa.types.is_null(kinds["value"])
        )
    )


def indexed(schema: pa.Schema) -> bool:
    """Whether pandas' metadata names one of our columns as the frame's index."""
    metadata = (schema.metadata or {}).get(b"pandas")
    if metadata is None:
        return False
    index = json.loads(metadata).get("index_columns", [])
    return any(isinstance(name, str) and name in COLUMNS for name in index)


def small_dictionaries(footer: pq.FileMetaData, names: list[str]) -> list[str]:
    """The columns of `names` dictionary-encoded in every row group with a small dictionary
    page (so none overflowed: every data page holds codes), small beside the codes too."""
    # Row groups number leaf columns, which differ from fields once a field is nested.
    leaves = {footer.schema.column(leaf).path: leaf for leaf in range(footer.num_columns)}

    def small(name: str) -> bool:
        position = leaves.get(name)
        if position is None:
            return False
        for group in range(footer.num_row_groups):
            chunk = footer.row_group(group).column(position)
            start = chunk.dictionary_page_offset
            if not chunk.has_dictionary_page or start is None:
                return False
            limit = min(SMALL_DICTIONARY, chunk.total_compressed_size // SMALL_SHARE)
            if chunk.data_page_offset - start > limit:
                return False
        return True

    return [name for name in names if small(name)]


def _read_columns(footer: pq.FileMetaData) -> tuple[list[str], list[str]]:
    """The columns of a part to read, and those of them to read as dictionaries."""
    names = footer.schema.to_arrow_schema().names
    columns = [name for name in COLUMNS if name in names]
    ids = small_dictionaries(footer, [name for name in ID_COLUMNS if name in columns])
    return columns, [name for name in TYPE_COLUMNS if name in columns] + ids


def _row_group(read: tuple[Path, pq.FileMetaData, tuple[list[str], list[str]], int]) -> pa.Table:
    part, footer, (columns, dictionary), group = read
    options = {"metadata": footer, "read_dictionary": dictionary, "pre_buffer": False}
    with pq.ParquetFile(part, **options) as file:
        return file.read_row_group(group, columns=columns, use_threads=False)


def _streamed(
    parts: list[Path], footers: list[pq.FileMetaData], batch_rows: int
) -> Iterator[pa.RecordBatch]:
    for part, footer in zip(parts, footers, strict=True):
        columns, dictionary = _read_columns(footer)
        with pq.ParquetFile(part, read_dictionary=dictionary, pre_buffer=False) as file:
            yield from file.iter_batches(batch_size=batch_rows, columns=columns)


def parquet_batches(
    parts: list[Path], footers: list[pq.FileMetaData], batch_rows: int
) -> Iterator[pa.RecordBatch]:
    """Every part's rows in order, in batches of at most `batch_rows`, decoded on threads
    while the caller converts the batch before."""
    groups = [
        (part, footer, columns, group)
        for part, footer in zip(parts, footers, strict=True)
        for columns in [_read_columns(footer)]  # once a part: its footer is read once
        for group in range(footer.num_row_groups)
    ]
    sizes = [footer.row_group(group).num_rows for _, footer, _, group in groups]
    if sizes and max(sizes) <= batch_rows and sum(sizes) >= len(sizes) * batch_rows // 4:
        # Row groups of about a batch: two decoded at once, each on one thread. Arrow
        # decodes one group's columns on its own threads, but unevenly (ids cost most).
        # Many small groups are left to the stream, which joins them into batches.
        for table in ordered_map(_row_group, groups, workers=2):
            yield from table.to_batches()
    else:
        # Batch by batch, the next one read while this one is used.
        yield from read_ahead(_streamed(parts, footers, batch_rows))
