"""Tables in: the one reader of exports (writing is features.write).

The reader takes exports as users bring them: Parquet, delimited text (.csv, .tsv, .txt;
plain, .gz, .bz2 or .zst), or a folder of parts of one table (Parquet, hive-style
partitions too, or text files with the same columns, read in name order).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from features.delimited import COMPRESSIONS, TEXT_SUFFIXES, read_delimited, split_suffix

# What read_table reads, in the order a data folder's tables are looked for.
READ_SUFFIXES: tuple[str, ...] = (
    ".parquet",
    *(text + packed for text in TEXT_SUFFIXES for packed in ("", *COMPRESSIONS)),
)
BAD_ROWS: tuple[str, ...] = ("error", "skip")
# Where the first malformed rows skipped were, at most this many.
SHOWN_BAD_LINES = 5


@dataclass(frozen=True)
class ReadOptions:
    """How to read delimited text (Parquet needs none of it); checked when made."""

    # Names for the columns of a file without a header line (its first line is then data).
    columns: tuple[str, ...] | None = None
    # One character; None: sniffed among , ; tab | from the first lines.
    delimiter: str | None = None
    # Any Python text codec; UTF-8 ignores a byte-order mark.
    encoding: str = "utf-8"
    # Rows with another number of fields than the first line: stop, or skip and count them.
    bad_rows: Literal["error", "skip"] = "error"
    # "." or ","; None: "," when a non-comma file holds numbers like 3,5 and none like 3.5.
    decimal: str | None = None

    def __post_init__(self) -> None:
        if self.delimiter is not None and (len(self.delimiter) != 1 or self.delimiter in '"\r\n'):
            raise ValueError(f"--delimiter takes one character or tab, not {self.delimiter!r}")
        try:
            "".encode(self.encoding)  # a LookupError for unknown and non-text codecs alike
        except LookupError:
            raise ValueError(
                f"unknown encoding {self.encoding!r}: give a Python codec name such as utf-8, "
                "latin-1 or cp1252"
            ) from None
        if self.bad_rows not in BAD_ROWS:
            raise ValueError(f"--bad-rows takes error or skip, not {self.bad_rows!r}")
        if self.decimal not in (None, ".", ","):
            raise ValueError(f"the decimal mark is . or , not {self.decimal!r}")
        if self.columns is not None:
            _check_names(self.columns)


# The default reading: a header line, the delimiter sniffed, UTF-8, stop at a malformed row.
DEFAULT_READ = ReadOptions()


def _check_names(columns: tuple[str, ...]) -> None:
    if not columns or any(not name.strip() for name in columns):
        raise ValueError(f"--columns needs a name for every column, got {','.join(columns)!r}")
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise ValueError(f"--columns names {', '.join(repeated)} more than once")


@dataclass(frozen=True)
class ReadReport:
    """What reading one table found: its files, how they read, and the rows left out."""

    files: tuple[str, ...]  # in the order read, e.g. ("interactions/part-0.parquet", ...)
    rows: int
    delimiter: str | None = None  # None: Parquet
    decimal: str = "."
    encoding: str | None = None
    header: bool = True  # False: named by ReadOptions.columns
    bad_rows: int = 0  # malformed rows skipped
    bad_lines: tuple[str, ...] = ()  # the first of them: "line 12", or "part-1.csv line 12"

    def describe(self) -> list[tuple[str, str]]:
        """(what, value) lines: the files read, their format and the malformed rows."""
        files = self.files[0] if len(self.files) == 1 else f"{len(self.files)} files: "
        if len(self.files) > 1:
            files += f"{self.files[0]} ... {self.files[-1]}"
        if self.delimiter is None:
            return [("files", files), ("format", "Parquet")]
        delimiter = "tab" if self.delimiter == "\t" else repr(self.delimiter)
        names = "header line" if self.header else "no header line (names from --columns)"
        decimal = ", decimal comma" if self.decimal == "," else ""
        text = f"delimiter {delimiter}{decimal}, {self.encoding}, {names}"
        bad = "none"
        if self.bad_rows:
            more = ", ..." if self.bad_rows > len(self.bad_lines) else ""
            bad = f"{self.bad_rows:,} skipped ({', '.join(self.bad_lines)}{more})"
        return [("files", files), ("format", text), ("malformed rows", bad)]


def table_format(path: Path) -> Literal["parquet", "text"] | None:
    """The kind of table file by its name: Parquet, delimited text (maybe compressed), or None."""
    suffix, compression = split_suffix(path)
    if suffix == ".parquet" and compression is None:
        return "parquet"
    return "text" if suffix in TEXT_SUFFIXES else None


def read_table(path: Path | str, options: ReadOptions = DEFAULT_READ) -> pd.DataFrame:
    """Read one table: a Parquet or delimited text file, or a folder of parts of either.

    Text: only the empty field is missing, so words such as "NA" (Namibia) or "None" stay
    values; a byte-order mark and CRLF line endings read like plain UTF-8 with LF. A malformed
    row stops with an error naming the file and line, unless `options.bad_rows` is "skip".
    """
    return read_table_report(path, options)[0]


def read_table_report(
    path: Path | str, options: ReadOptions = DEFAULT_READ, only: Collection[str] | None = None
) -> tuple[pd.DataFrame, ReadReport]:
    """`read_table`, and what reading found (files, layout, malformed rows skipped).

    `only`: Parquet is read without its other columns (text reads every column anyway).
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path, options, only)
    kind = table_format(path)
    if kind is None:
        raise ValueError(
            f"{path}: unsupported file type (use .parquet, .csv, .tsv or .txt, plain or "
            ".gz/.bz2/.zst, or a folder of parts)"
        )
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    if kind == "parquet":
        frame = pd.read_parquet(path, columns=_wanted(pq.read_schema(path).names, only))
        return frame, ReadReport((path.name,), len(frame))
    return _read_text([path], [path.name], options)


def _wanted(names: Sequence[str], only: Collection[str] | None) -> list[str] | None:
    """The columns to read of those a file has: all (None), or those in `only`."""
    return None if only is None else [name for name in names if name in only]


def table_parts(folder: Path) -> list[Path]:
    """The files of a folder of parts, in name order; hidden ones (., _) left out."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not any(part[0] in "._" for part in path.relative_to(folder).parts)
    )


def _read_folder(
    folder: Path, options: ReadOptions, only: Collection[str] | None = None
) -> tuple[pd.DataFrame, ReadReport]:
    """The parts of one table, all Parquet or all text, in name order; hidden files ignored."""
    parts = table_parts(folder)
    kinds = {table_format(path) for path in parts}
    names = [f"{folder.name}/{path.relative_to(folder).as_posix()}" for path in parts]
    if kinds == {"parquet"}:
        return _read_parquet_parts(folder, parts, names, only)
    if kinds == {"text"}:
        return _read_text(parts, names, options)
    if not parts:
        raise ValueError(f"{folder}: an empty folder (give the parts of one table)")
    raise ValueError(
        f"{folder}: a folder of parts holds one table, all Parquet or all CSV; found "
        + ", ".join(sorted(str(kind or "other files") for kind in kinds))
    )


def _read_parquet_parts(
    folder: Path, parts: list[Path], names: list[str], only: Collection[str] | None = None
) -> tuple[pd.DataFrame, ReadReport]:
    """Parquet parts as one table; hive-style folders (day=2026-01-01/) add their column."""
    try:
        dataset = ds.dataset(
            [str(path) for path in parts],
            format="parquet",
            partitioning="hive",
            partition_base_dir=str(folder),
        )
        first = None
        for name, fragment in zip(names, dataset.get_fragments(), strict=True):
            columns = fragment.physical_schema.names
            if first is not None and columns != first:
                raise ValueError(
                    f"{name}: columns {', '.join(columns)} differ from {names[0]}'s "
                    f"({', '.join(first)}); every part needs the same columns"
                )
            first = first or columns
        frame = dataset.to_table(columns=_wanted(dataset.schema.names, only)).to_pandas()
    except pa.ArrowException as error:
        raise ValueError(f"{folder}: {str(error).splitlines()[0]}") from None
    return frame, ReadReport(tuple(names), len(frame))


def _read_text(
    parts: list[Path], names: list[str], options: ReadOptions
) -> tuple[pd.DataFrame, ReadReport]:
    """Delimited text files of one table, the layout of the first for all."""
    frames, bad, first = [], [], None
    for path, name in zip(parts, names, strict=True):
        frame, found = read_delimited(path, options, name, first and first.delimiter)
        if first is not None and found.header != first.header:
            raise ValueError(
                f"{name}: header {','.join(found.header)} differs from {names[0]}'s "
                f"({','.join(first.header)}); every part needs the same columns"
            )
        first = first or found
        frames.append(frame)
        where = f"{name} line" if len(parts) > 1 else "line"
        bad += [f"{where} {row.line:,}" for row in found.bad]
    assert first is not None  # a folder without parts stopped before
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    report = ReadReport(
        tuple(names),
        len(frame),
        first.delimiter,
        first.decimal,
        options.encoding,
        options.columns is None,
        len(bad),
        tuple(bad[:SHOWN_BAD_LINES]),
    )
    return frame, report
