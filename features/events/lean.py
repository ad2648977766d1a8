"""Parquet events read batch by batch straight into codes: the text of the log is never held whole.

Each batch of rows becomes integer columns at once (a follower code, a type code, microseconds,
a post code, a value) and its text is dropped; each distinct id's text is kept once. A log of
tens of millions of events then needs about 21 bytes an event, where text columns need 60 or
more. The result is exactly what `validate_interactions` makes of the same table.

Only Parquet in our own column names and types takes this path (ids as text, times as
timestamps); everything else is read whole and validated as before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.events.batches import (
    indexed,
    lean_parts,
    leanly_readable,
    parquet_batches,
)
from features.events.dedupe import DUPLICATE_KEY, log_repeats, repeated_codes
from features.events.text import EVENT_TYPE_DTYPE, log_unknown_types, type_codes
from features.events.vocabulary import IdCollision, IdVocabulary
from features.schema import INTERACTIONS_REQUIRED

# Rows converted together: about 70 MB of text at a time, a few percent of a large log.
BATCH_ROWS = 1 << 20


class _Refused(Exception):
    """A log the general read should judge (an empty required value): it says where."""


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
    if not same or not all(map(leanly_readable, schemas)) or any(map(indexed, schemas)):
        return None
    rows = sum(footer.num_rows for footer in footers)
    # Filled batch by batch: no list of batches to join, so no second copy of the log.
    columns = {name: np.empty(rows, dtype=kind) for name, kind in _KINDS.items()}
    state = _Batches()
    try:
        for batch in parquet_batches(parts, footers, batch_rows):
            start = state.rows
            for name, values in state.convert(batch).items():
                columns[name][start : state.rows] = values
    except (IdCollision, _Refused, pa.ArrowInvalid, OSError):
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
