"""Parquet events read batch by batch straight into codes: the text of the log is never held whole.

Each batch of rows becomes integer columns at once (a follower code, a type code, microseconds,
a post code, a value) and its text is dropped; each distinct id's text is kept once. A log of
tens of millions of events then needs about 21 bytes an event, where text columns need 60 or
more. The result is exactly what `validate_interactions` makes of the same table.

Only Parquet in our own column names and types takes this path (ids as text, times as
timestamps); everything else is read whole and validated as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from features.events.dedupe import DUPLICATE_KEY, log_repeats, repeated_codes
from features.events.text import EVENT_TYPE_DTYPE, log_unknown_types, type_codes
from features.io import table_parts
from features.kernels.ids import first_rows, pack_arrow
from features.kernels.parallel import ordered_map, read_ahead
from features.kernels.radix import RadixIndex
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
# Rows converted together: about 70 MB of text at a time, a few percent of a large log.
BATCH_ROWS = 1 << 20
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


class IdVocabulary:
    """Text ids numbered in order of first appearance, one batch at a time.

    Ids of up to eight bytes are found by their bytes as one integer, longer ones by a 64-bit
    hash whose every match is checked against the id's text; both in sorted arrays that grow
    by insertion. Once ids repeat from batch to batch, a batch of short ids is looked up row
    by row in a RadixIndex of those known, and only the rows left over are numbered.
    """

    def __init__(self) -> None:
        self.size = 0
        self._texts: list[pa.Array] = []  # the new ids of each batch, in code order
        self._tables = {short: (np.empty(0, np.uint64), np.empty(0, np.int64)) for short in (1, 0)}
        self._radix: tuple[int, RadixIndex | None] = (0, None)  # (short ids indexed, index)

    def add(self, ids: pa.Array) -> np.ndarray:
        """The int32 code of each id of a batch (-1 where missing), numbering the new ones."""
        known = self._add_known(ids)
        if known is not None:
            return known
        words, indices = _distinct(ids)
        codes = self._lookup(words) if pa.types.is_dictionary(ids.type) else None
        if codes is None or (codes < 0).any():
            # New ids are numbered in order of their first row: only then are rows searched.
            codes = self._codes(words, first_rows(indices, len(words)))
        return np.append(codes, -1).astype(np.int32)[indices]

    def _lookup(self, words: pa.Array) -> np.ndarray:
        """The code of each word, -1 for a new one (nothing is numbered)."""
        codes = np.full(len(words), -1, dtype=np.int64)
        short = _short(words)
        for kind in (1, 0):
            where = np.flatnonzero(short == bool(kind))
            if where.size:
                taken = words.take(pa.array(where))
                found = self._find(kind, _packed_low(taken) if kind else _hashes(taken))
                if not kind:
                    self._check(words, where, found)
                codes[where] = found
        return codes

    def _add_known(self, ids: pa.Array) -> np.ndarray | None:
        """`add` for plain short ids when a RadixIndex of the known ones can be made."""
        if pa.types.is_dictionary(ids.type):
            return None
        ids = ids.cast(pa.large_string())
        packed = pack_arrow(ids)
        index = self._radix_index()
        if packed is None or not packed.short or index is None:
            return None
        codes = np.append(self._tables[1][1], -1)[index.get_indexer(packed.low)]
        codes[packed.missing] = -1  # a missing id packs like "": never its code
        new = np.flatnonzero((codes < 0) & ~packed.missing)
        if new.size:
            words, indices = _distinct(ids.take(pa.array(new)))
            fresh = self._codes(words, first_rows(indices, len(words)))
            codes[new] = np.append(fresh, -1)[indices]
        return codes.astype(np.int32)

    def _radix_index(self) -> RadixIndex | None:
        keys = self._tables[1][0]
        if self._radix[0] != keys.size:
            self._radix = (keys.size, RadixIndex.build(keys) if keys.size else None)
        return self._radix[1]

    def _codes(self, words: pa.Array, first: np.ndarray) -> np.ndarray:
        """The code of each distinct word; words of no row (first == -1) get none."""
        codes = np.full(len(words), -1, dtype=np.int64)
        short = _short(words)
        new = []
        for kind in (1, 0):
            where = np.flatnonzero((short == bool(kind)) & (first >= 0))
            if not where.size:
                continue
            taken = words.take(pa.array(where))
            keys = _packed_low(taken) if kind else _hashes(taken)
            found = self._find(kind, keys)
            if not kind:
                self._check(words, where, found)
            codes[where] = found
            new.append((where[found < 0], keys[found < 0], kind))
        fresh = np.concatenate([where for where, _, _ in new]) if new else np.empty(0, np.int64)
        order = np.argsort(first[fresh], kind="stable")
        numbers = np.empty(fresh.size, dtype=np.int64)
        numbers[order] = self.size + np.arange(fresh.size)
        codes[fresh] = numbers
        start = 0
        for where, keys, kind in new:
            self._insert(kind, keys, numbers[start : start + where.size])
            start += where.size
        self._texts.append(words.take(pa.array(fresh[order])))
        self.size += fresh.size
        return codes

    def _find(self, kind: int, keys: np.ndarray) -> np.ndarray:
        table, numbers = self._tables[kind]
        at = np.minimum(np.searchsorted(table, keys), max(table.size - 1, 0))
        if not table.size:
            return np.full(keys.size, -1, dtype=np.int64)
        return np.where(table[at] == keys, numbers[at], -1)

    def _insert(self, kind: int, keys: np.ndarray, numbers: np.ndarray) -> None:
        table, known = self._tables[kind]
        order = np.argsort(keys)
        keys, numbers = keys[order], numbers[order]
        if np.any(keys[1:] == keys[:-1]):
            raise _Collision
        at = np.searchsorted(table, keys)
        self._tables[kind] = (np.insert(table, at, keys), np.insert(known, at, numbers))

    def _check(self, words: pa.Array, where: np.ndarray, found: np.ndarray) -> None:
        """Hashed ids matched must be the same text (two ids in 2^64 could share a hash)."""
        matched = found >= 0
        if matched.any():
            ours = words.take(pa.array(where[matched]))
            theirs = pa.chunked_array(self._texts, pa.large_string()).take(pa.array(found[matched]))
            if not pc.all(pc.equal(ours, theirs)).as_py():
                raise _Collision

    def categories(self) -> pd.Index:
        """Every id's text, by code."""
        texts = pa.chunked_array(self._texts, pa.large_string()).combine_chunks()
        return pd.Index(texts.to_pandas(), dtype="str")


class _Collision(Exception):
    """Two different ids with one 64-bit hash: read the log the general way."""


class _Refused(Exception):
    """A log the general read should judge (an empty required value): it says where."""


def _distinct(ids: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The distinct ids of a batch (as large strings) and each row's position among them
    (-1 where missing), by packing short ids into integers; Arrow hashes longer ones."""
    if not pa.types.is_dictionary(ids.type):
        ids = ids.cast(pa.large_string())
        packed = pack_arrow(ids)
        if packed is not None:
            indices, _ = pd.factorize(packed.keys(packed.short))
            indices[packed.missing] = -1
            first = first_rows(indices, int(indices.max(initial=-1)) + 1)
            kept = np.flatnonzero(indices >= 0)
            # Over eight bytes the integer is a hash: every row must match its id's first row.
            if packed.short or packed.take(kept).equal(packed.take(first[indices[kept]])):
                return ids.take(pa.array(first, mask=first < 0)), indices.astype(np.int64)
        ids = pc.dictionary_encode(ids)
    # Signed first: Arrow allows unsigned indices (uint32 from some exporters), where -1 is not.
    indices = pc.fill_null(ids.indices.cast(pa.int64()), -1).to_numpy()
    return ids.dictionary.cast(pa.large_string()), indices


def _short(words: pa.Array) -> np.ndarray:
    """Whether each word is its own eight-byte integer: at most 8 bytes, no NUL byte. Decided
    by the word alone, so an id is short or long in every batch, whatever else it holds."""
    fits = pc.fill_null(pc.less_equal(pc.binary_length(words), 8), False)
    nul = pc.fill_null(pc.match_substring(words, "\x00"), False)
    return pc.and_(fits, pc.invert(nul)).to_numpy(zero_copy_only=False)


def _packed_low(words: pa.Array) -> np.ndarray:
    """The eight-byte integer of each short word."""
    packed = pack_arrow(words)
    assert packed is not None  # every word is at most 8 bytes
    return packed.low


def _hashes(words: pa.Array) -> np.ndarray:
    return pd.util.hash_array(np.asarray(words.to_pylist(), dtype=object))


class _Batches:
    """Running state over the batches: id vocabularies, unknown types, rows so far."""

    def __init__(self) -> None:
        self.followers = IdVocabulary()
        self.posts = IdVocabulary()
        self.rows = 0
        self.unknown_events = 0
        self.unknown_names: set[str] = set()

    def convert(self, batch: pa.RecordBatch) -> dict[str, np.ndarray]:
        if any(batch.column(column).null_count for column in INTERACTIONS_REQUIRED):
            raise _Refused  # the general read names the first empty value, column by column
        arrays = {
            "follower_id": self.followers.add(batch.column("follower_id")),
            "event_type": self._types(batch.column("event_type")),
            "occurred_at": _micros(batch.column("occurred_at")),
            "post_id": self._posts(batch),
            "value": _values(batch),
        }
        self.rows += batch.num_rows
        return arrays

    def _types(self, spellings: pa.Array) -> np.ndarray:
        encoded = (
            spellings if pa.types.is_dictionary(spellings.type) else spellings.dictionary_encode()
        )
        indices = encoded.indices.to_numpy(zero_copy_only=False)
        codes, unknown = type_codes(encoded.dictionary.to_pylist())
        if any(unknown):  # counted only when a spelling is unknown: most logs have none
            counts = np.bincount(indices, minlength=len(codes))
            flagged = np.array([bool(name) for name in unknown])
            self.unknown_events += int(counts[flagged].sum())
            self.unknown_names |= {name for name in unknown if name}
        return codes[indices]

    def _posts(self, batch: pa.RecordBatch) -> np.ndarray:
        if "post_id" not in batch.schema.names or pa.types.is_null(
            batch.schema.field("post_id").type
        ):
            return np.full(batch.num_rows, -1, dtype=np.int32)
        return self.posts.add(batch.column("post_id"))


def _micros(times: pa.Array) -> np.ndarray:
    """Microseconds since the epoch, UTC (a naive time is taken as UTC, as everywhere)."""
    return times.cast(pa.timestamp("us", tz=times.type.tz)).cast(pa.int64()).to_numpy()


def _values(batch: pa.RecordBatch) -> np.ndarray:
    if "value" not in batch.schema.names:
        return np.full(batch.num_rows, np.nan)
    return batch.column("value").cast(pa.float64()).to_numpy(zero_copy_only=False)


def _indexed(schema: pa.Schema) -> bool:
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


def _batches(
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


def read_lean_events(path: Path, batch_rows: int = BATCH_ROWS) -> pd.DataFrame | None:
    """The validated events of a Parquet table, read batch by batch; None if the table is not
    Parquet in our own columns and types (read it the general way then)."""
    parts = lean_parts(Path(path))
    if parts is None:
        return None
    try:
        footers = [pq.read_metadata(part) for part in parts]  # each file's footer, once
        schemas = [footer.schema.to_arrow_schema() for footer in footers]
    except (pa.ArrowInvalid, OSError):
        return None  # unreadable: the general reader says why
    # Parts must agree as the general reader requires; a column kept as pandas' index is
    # not read back as a column there.
    same = all(schema.equals(schemas[0], check_metadata=False) for schema in schemas)
    if not same or not all(map(leanly_readable, schemas)) or any(map(_indexed, schemas)):
        return None
    rows = sum(footer.num_rows for footer in footers)
    # Filled batch by batch: no list of batches to join, so no second copy of the log.
    columns = {name: np.empty(rows, dtype=kind) for name, kind in _KINDS.items()}
    state = _Batches()
    try:
        for batch in _batches(parts, footers, batch_rows):
            start = state.rows
            for name, values in state.convert(batch).items():
                columns[name][start : state.rows] = values
    except (_Collision, _Refused, pa.ArrowInvalid, OSError):
        return None  # a hash shared by two ids, or a file to read the general way
    log_unknown_types(state.unknown_events, state.unknown_names)
    repeated = repeated_codes([columns[name] for name in DUPLICATE_KEY], ties=2)
    if repeated.any():
        log_repeats(int(repeated.sum()))
        kept = ~repeated
        for name in columns:  # one column at a time: the old one is freed before the next
            columns[name] = columns[name][kept]
    return _frame(columns, state)


_KINDS = {"follower_id": np.int32, "event_type": np.int8, "occurred_at": np.int64,
          "post_id": np.int32, "value": np.float64}  # fmt: skip


def _frame(columns: dict[str, np.ndarray], state: _Batches) -> pd.DataFrame:
    """The events frame over the arrays, without copying them (codes checked when made)."""
    followers = pd.CategoricalDtype(state.followers.categories())
    posts = pd.CategoricalDtype(state.posts.categories())
    return pd.DataFrame(
        {
            "follower_id": pd.Categorical.from_codes(
                columns["follower_id"], dtype=followers, validate=False
            ),
            "event_type": pd.Categorical.from_codes(
                columns["event_type"], dtype=EVENT_TYPE_DTYPE, validate=False
            ),
            # pd.array takes microseconds as UTC in one copy; DatetimeIndex(..., dtype=)
            # converts them through the time-zone code, ten times slower.
            "occurred_at": pd.array(
                columns["occurred_at"].view("datetime64[us]"), dtype="datetime64[us, UTC]"
            ),
            "post_id": pd.Categorical.from_codes(columns["post_id"], dtype=posts, validate=False),
            "value": columns["value"],
        },
        copy=False,
    )
