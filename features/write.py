"""Tables out, atomically: CSV or Parquet by suffix, whole or chunk by chunk, and JSON."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# What write_table writes.
SUFFIXES: tuple[str, ...] = (".parquet", ".csv")


def write_table(frame: pd.DataFrame, out: Path | str) -> Path:
    """Write CSV or Parquet by suffix, atomically: a failed write leaves no partial file."""
    with TableWriter(out) as writer:
        writer.write(frame)
    return Path(out)


class TableWriter:
    """CSV or Parquet by suffix, written chunk by chunk into a hidden file beside `out` that
    becomes `out` only when the block ends without error: an interrupted write leaves nothing.

    Every chunk has the first one's columns; a Parquet column of empty lists takes the type of
    the lists in later chunks (text).
    """

    def __init__(self, out: Path | str) -> None:
        self.out = Path(out)
        if self.out.suffix not in SUFFIXES:
            raise ValueError(f"{self.out}: output must end in .csv or .parquet")
        self.rows = 0
        self._tmp: str | None = None
        self._parquet: pq.ParquetWriter | None = None
        self._csv: IO[str] | None = None
        self._empty: pd.DataFrame | None = None

    def __enter__(self) -> TableWriter:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        name, suffix = self.out.name, self.out.suffix
        handle, self._tmp = tempfile.mkstemp(dir=self.out.parent, prefix=f".{name}.", suffix=suffix)
        os.close(handle)
        return self

    def write(self, frame: pd.DataFrame) -> None:
        """Append a chunk of rows (an empty chunk only matters if no other comes)."""
        assert self._tmp is not None, "use TableWriter in a with block"
        if frame.empty:
            self._empty = frame if self._empty is None else self._empty
            return
        if self.out.suffix == ".csv":
            header = self._csv is None
            if self._csv is None:
                self._csv = open(self._tmp, "w", newline="", encoding="utf-8")  # noqa: SIM115
            frame.to_csv(self._csv, index=False, header=header)
        else:
            table = _arrow_table(frame, None if self._parquet is None else self._parquet.schema)
            if self._parquet is None:
                dictionary = _dictionary_columns(table.schema)
                self._parquet = pq.ParquetWriter(self._tmp, table.schema, use_dictionary=dictionary)
            self._parquet.write_table(table)
        self.rows += len(frame)

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        assert self._tmp is not None
        try:
            if self._csv is not None:
                self._csv.close()
            if self._parquet is not None:
                self._parquet.close()
            elif kind is None and self._csv is None:
                # No rows: the table's columns alone (those of an empty chunk, if one came).
                empty = pd.DataFrame() if self._empty is None else self._empty
                if self.out.suffix == ".csv":
                    empty.to_csv(self._tmp, index=False)
                else:
                    pq.write_table(_arrow_table(empty, None), self._tmp)
            if kind is None:
                os.replace(self._tmp, self.out)
        finally:
            if os.path.exists(self._tmp):
                os.remove(self._tmp)


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns worth dictionary encoding: all but floats. Ratios and ages rarely repeat, so
    their dictionaries are hashed and then dropped: a third of a feature table's write time
    for 4% of its size. Lists (of reasons) are named by their values' column path."""
    return [
        f"{field.name}.list.element" if pa.types.is_list(field.type) else field.name
        for field in schema
        if not pa.types.is_floating(field.type)
    ]


def _arrow_table(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    """A chunk as Arrow: in `schema` when given, else with empty-list columns as lists of text."""
    # pandas would write `attrs` into the Parquet metadata as JSON, which fails on values such
    # as a Timestamp; they describe the frame in memory, not the file.
    frame = frame.copy(deep=False)
    frame.attrs = {}
    with warnings.catch_warnings():
        # pyarrow reads `Series.values` of zoned times, which pandas 3.1 deprecates (pyarrow's
        # to fix; DataFrame.to_parquet did not show it).
        warnings.simplefilter("ignore", pd.errors.Pandas4Warning)
        if schema is not None:
            return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [
        pa.field(f.name, pa.list_(pa.string())) if f.type == pa.list_(pa.null()) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def write_json(data: object, out: Path | str) -> Path:
    """Write JSON atomically (indented, UTF-8): a failed write leaves no partial file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2, ensure_ascii=False)
            file.write("\n")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out
