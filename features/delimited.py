"""Delimited text in (CSV, TSV; plain, gzip, bz2 or zstd): sniff the layout, check every row.

pandas parses, so the dtypes are those `pandas.read_csv` has always given. But pandas quietly
pads a row with too few fields, so a cut last line would read as a row of missing values: a
pyarrow pass that counts fields and converts nothing finds malformed rows first, by line.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

if TYPE_CHECKING:
    from features.io import ReadOptions

logger = logging.getLogger(__name__)

TEXT_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt")
COMPRESSIONS: dict[str, str] = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 16
SAMPLE_LINES = 50
CHUNK_BYTES = 1 << 20
# A column no file has: asked for, it makes the counting pass convert nothing.
_NO_COLUMN = "\x00none"
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
_DECIMAL_POINT = re.compile(r"[+-]?\d*\.\d+")


@dataclass(frozen=True)
class BadRow:
    """A row whose number of fields differs from the first line's."""

    line: int  # 1-based line of the file where the row starts
    index: int  # the row for pandas' skiprows (blank lines count, lines inside quotes do not)
    fields: int
    last: bool  # the file's last row
    lines: int = 1  # lines the row spans (more than one: quotes across lines)


@dataclass(frozen=True)
class Delimited:
    """How one delimited file was read: its layout and the malformed rows left out."""

    delimiter: str
    decimal: str
    header: tuple[str, ...]  # the names on the first line, or the names given
    bad: tuple[BadRow, ...] = ()


def split_suffix(path: Path) -> tuple[str, str | None]:
    """The suffix under any compression (".csv") and the compression ("gzip", or None)."""
    name, compression = path.name.lower(), None
    for suffix, codec in COMPRESSIONS.items():
        if name.endswith(suffix):
            name, compression = name.removesuffix(suffix), codec
    return Path(name).suffix, compression


def text_codec(encoding: str) -> str:
    """The codec to decode with: UTF-8 ignores a byte-order mark."""
    return "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding


def read_delimited(
    path: Path, options: ReadOptions, name: str, delimiter: str | None = None
) -> tuple[pd.DataFrame, Delimited]:
    """Read one delimited file; `name` is how errors call it, `delimiter` overrides sniffing.

    Only the empty field is missing; CRLF and a UTF-8 byte-order mark read like plain text.
    """
    compression = split_suffix(path)[1]
    try:
        layout = _layout(path, options, name, delimiter)
        bad = _bad_rows(path, compression, options.encoding, layout.delimiter, len(layout.header))
        if bad and options.bad_rows == "error":
            raise ValueError(bad_rows_message(name, bad, len(layout.header)))
        if bad:
            shown = ", ".join(f"{row.line:,}" for row in bad[:5]) + ", ..." * (len(bad) > 5)
            logger.info("%s: %d malformed row(s) skipped, at line %s", name, len(bad), shown)
        frame = _parse(path, compression, options, layout, {row.index for row in bad})
    except UnicodeDecodeError:
        raise ValueError(encoding_message(path, name, options.encoding)) from None
    except (pa.ArrowException, csv.Error) as error:
        raise ValueError(f"{name}: {str(error).splitlines()[0]}") from None
    return frame, Delimited(layout.delimiter, layout.decimal, layout.header, tuple(bad))


def _layout(path: Path, options: ReadOptions, name: str, delimiter: str | None) -> Delimited:
    """Delimiter, decimal mark and column names, from the options or the first lines."""
    suffix, compression = split_suffix(path)
    sample = _sample(path, compression, text_codec(options.encoding))
    if not sample.strip():
        raise ValueError(f"{name}: empty file")
    fallback = "\t" if suffix == ".tsv" else ","
    delimiter = delimiter or options.delimiter or sniff_delimiter(sample, fallback)
    rows = _rows(sample, delimiter)
    header = options.columns or tuple(rows[0])
    if len(header) != len(rows[0]):
        raise ValueError(
            f"{name}: --columns names {len(header)} columns, but the file has "
            f"{len(rows[0])} fields per line"
        )
    values = rows if options.columns else rows[1:]
    decimal = options.decimal or sniff_decimal(values, delimiter)
    return Delimited(delimiter, decimal, tuple(header))


def _sample(path: Path, compression: str | None, codec: str) -> str:
    """The first lines of a file, decoded; a line cut by the sample's end is left out."""
    chunks: list[bytes] = []
    with pa.input_stream(path, compression=compression) as stream:
        while sum(map(len, chunks)) < SAMPLE_BYTES and (chunk := stream.read(SAMPLE_BYTES)):
            chunks.append(chunk)
        at_end = not stream.read(1)
    text = codecs.getincrementaldecoder(codec)().decode(b"".join(chunks), final=at_end)
    return text if at_end or "\n" not in text else text[: text.rfind("\n") + 1]


def _rows(text: str, delimiter: str) -> list[list[str]]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [row for row in rows if row][:SAMPLE_LINES]


def sniff_delimiter(text: str, fallback: str = ",") -> str:
    """The delimiter among `DELIMITERS` that splits the most lines of `text` like the first.

    By consistent field counts, not by frequency: in a semicolon file with decimal commas,
    the comma is frequent but splits the lines unevenly. Ties go to the more fields, then to
    the earlier delimiter; with no delimiter splitting the first line, `fallback`.
    """
    best: tuple[tuple[int, int], str] | None = None
    for delimiter in DELIMITERS:
        counts = [len(row) for row in _rows(text, delimiter)]
        if not counts or counts[0] < 2:
            continue
        key = (sum(count == counts[0] for count in counts), counts[0])
        if best is None or key > best[0]:
            best = (key, delimiter)
    return fallback if best is None else best[1]


def sniff_decimal(rows: Sequence[Sequence[str]], delimiter: str) -> str:
    """A comma when the fields (not split by commas) hold numbers like 3,5 and none like 3.5."""
    if delimiter == ",":
        return "."
    values = [value.strip() for row in rows for value in row]
    comma = any(_DECIMAL_COMMA.fullmatch(value) for value in values)
    point = any(_DECIMAL_POINT.fullmatch(value) for value in values)
    return "," if comma and not point else "."


def _bad_rows(
    path: Path, compression: str | None, encoding: str, delimiter: str, expected: int
) -> list[BadRow]:
    """Rows whose field count differs from the first line's, found without converting values."""
    found: list[tuple[int, int]] = []

    def note(row: pa_csv.InvalidRow) -> str:
        found.append((row.number, row.actual_columns))
        return "skip"

    # One thread, so that pyarrow numbers the rows it finds; pyarrow skips a BOM itself.
    utf8 = text_codec(encoding) == "utf-8-sig"
    read = pa_csv.ReadOptions(
        use_threads=False, autogenerate_column_names=True, encoding="utf8" if utf8 else encoding
    )
    parse = pa_csv.ParseOptions(
        delimiter=delimiter, newlines_in_values=True, invalid_row_handler=note
    )
    convert = pa_csv.ConvertOptions(include_columns=[_NO_COLUMN], include_missing_columns=True)
    with pa.input_stream(path, compression=compression) as stream:
        records = pa_csv.read_csv(stream, read, parse, convert).num_rows + len(found)
    if not found:
        return []
    if _ascii_compatible(encoding) and _line_count(path, compression) == records:
        # One line per row and no blank line: pyarrow's row numbers are the line numbers.
        return [BadRow(number, number - 1, fields, number == records) for number, fields in found]
    return _bad_rows_by_line(path, compression, text_codec(encoding), delimiter, expected)


def _ascii_compatible(encoding: str) -> bool:
    marks = '\n\r,;\t|"'
    return marks.encode(encoding, errors="replace") == marks.encode("ascii")


def _line_count(path: Path, compression: str | None) -> int:
    lines, last = 0, b"\n"
    with pa.input_stream(path, compression=compression) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            lines, last = lines + chunk.count(b"\n"), chunk[-1:]
    return lines + (last != b"\n")


def _bad_rows_by_line(
    path: Path, compression: str | None, codec: str, delimiter: str, expected: int
) -> list[BadRow]:
    """The slower, exact pass: line numbers when rows span lines or blank lines come between."""
    bad, start, last = [], 1, -1
    with pa.input_stream(path, compression=compression) as stream:
        reader = csv.reader(io.TextIOWrapper(stream, codec, newline=""), delimiter=delimiter)
        for index, row in enumerate(reader):
            if row:
                last = index
            if row and len(row) != expected:
                bad.append(BadRow(start, index, len(row), False, reader.line_num - start + 1))
            start = reader.line_num + 1
    if bad and bad[-1].index == last:
        final = bad[-1]
        bad[-1] = BadRow(final.line, final.index, final.fields, True, final.lines)
    return bad


def bad_rows_message(name: str, bad: Sequence[BadRow], expected: int) -> str:
    """The first malformed row, where it is and what is wrong, and how to go on."""
    first = bad[0]
    if first.last and first.lines > 1:
        what = "a quote opened here is never closed (the rest of the file is one field)"
    else:
        what = f"{first.fields} field{'s' * (first.fields != 1)}, expected {expected}"
        what += " (a cut last line?)" if first.last and first.fields < expected else ""
    more = f" ({len(bad):,} malformed rows in all)" if len(bad) > 1 else ""
    return f"{name}: line {first.line:,}: {what}{more}; --bad-rows skip drops such rows"


def _parse(
    path: Path, compression: str | None, options: ReadOptions, layout: Delimited, skip: set[int]
) -> pd.DataFrame:
    names = list(options.columns) if options.columns else None
    with pa.input_stream(path, compression=compression) as stream:
        try:
            return pd.read_csv(
                stream,
                sep=layout.delimiter,
                decimal=layout.decimal,
                header=None if names else 0,
                names=names,
                encoding=text_codec(options.encoding),
                keep_default_na=False,
                na_values=[""],
                skiprows=skip or None,
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            problem = str(error).strip().splitlines()[-1]
            problem = problem.removeprefix("Error tokenizing data. ").removeprefix("C error: ")
            raise ValueError(f"{path.name}: {problem}") from None


def encoding_message(path: Path, name: str, encoding: str) -> str:
    """Where a file stops being `encoding` text, by line and byte, and what to try."""
    # The plain codec: a UTF-8 byte-order mark is valid UTF-8, and offsets stay the file's.
    decoder = codecs.getincrementaldecoder(codecs.lookup(encoding).name)()
    offset = lines = 0
    compression = split_suffix(path)[1]
    with pa.input_stream(path, compression=compression) as stream:
        while True:
            chunk = stream.read(CHUNK_BYTES)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                # The decoder saw the bytes it held back from the last chunk, then this one.
                at = offset - pending + error.start
                line = lines + chunk[: max(0, error.start - pending)].count(b"\n") + 1
                byte = error.object[error.start : error.start + 1]
                break
            if not chunk:
                return f"{name}: not {encoding} text"
            offset, lines = offset + len(chunk), lines + chunk.count(b"\n")
    hint = "; give --encoding latin-1 (or the file's own, e.g. cp1252)"
    where = f"{name}: line {line:,} (byte {at:,}): {byte!r} is not {encoding} text"
    return where + (hint if text_codec(encoding) == "utf-8-sig" else "; check --encoding")
