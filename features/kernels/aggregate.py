"""NumPy kernels over integer-coded events: window counts, recency, daily rhythm, decayed points."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np
import pandas as pd

from features.events.text import EVENT_TYPE_DTYPE
from features.kernels.ids import lookup_codes, take_codes
from features.kernels.parallel import PARALLEL_MIN_EVENTS, run_all
from features.schema import ALL_EVENT_TYPES, ENTITY_KEY, OTHER_EVENT

MICROS_PER_DAY = 86_400 * 1_000_000
N_TYPES = len(ALL_EVENT_TYPES)
NEVER = np.iinfo(np.int64).max  # the age of an event that never happened


@dataclass(frozen=True)
class EventCodes:
    """The events that count (before `as_of`, of a follower being scored) as parallel arrays."""

    rows: np.ndarray  # int64 position of the follower in the output
    types: np.ndarray  # int8 code in ALL_EVENT_TYPES
    age: np.ndarray  # int64 microseconds before as_of, always > 0
    # Which rows of the input frame these events are: a boolean mask or int64 positions.
    source: np.ndarray
    n_followers: int

    @cached_property
    def cells(self) -> np.ndarray:
        """int64 rows * N_TYPES + types: one bin per follower and type, shared by the count,
        recency and decayed kernels (made by `encode_events` before they share it on threads)."""
        cells = np.multiply(self.rows, N_TYPES, dtype=np.int64)
        cells += self.types
        return cells

    @cached_property
    def positions(self) -> np.ndarray:
        """int64 row of each event in the input frame (found only when a kernel needs it)."""
        return np.flatnonzero(self.source) if self.source.dtype == bool else self.source

    def take(self, keep: np.ndarray) -> EventCodes:
        """The events selected by a boolean mask or positions (bins are made again if asked)."""
        if self.source.dtype == bool and keep.dtype == bool:
            # The frame's rows of the kept events as a mask again: a pass over the frame's
            # rows, where their positions would be a large array most callers never read.
            source = np.zeros_like(self.source)
            source[self.source] = keep
        else:
            source = self.positions[keep]
        parts = (self.rows, self.types, self.age)
        return EventCodes(*(part[keep] for part in parts), source, self.n_followers)

    def within(self, days: int) -> EventCodes:
        """The events at most `days` old (no copy when that is all of them)."""
        inside = self.age <= days * MICROS_PER_DAY
        return self if inside.all() else self.take(inside)


def to_micros(times: pd.Series) -> np.ndarray:
    """UTC times as int64 microseconds since the epoch."""
    return times.astype("datetime64[us, UTC]").array.asi8


def type_codes(event_type: pd.Series) -> np.ndarray:
    """Codes in ALL_EVENT_TYPES; anything outside the vocabulary counts as "other"."""
    if isinstance(event_type.dtype, pd.CategoricalDtype) and event_type.dtype == EVENT_TYPE_DTYPE:
        codes = event_type.cat.codes.to_numpy()  # validated input: no conversion needed
    else:
        codes = event_type.astype(EVENT_TYPE_DTYPE).cat.codes.to_numpy()
    if codes.size and codes.min() < 0:
        codes = np.where(codes < 0, ALL_EVENT_TYPES.index(OTHER_EVENT), codes)
    return codes.astype(np.int8, copy=False)


def encode_events(interactions: pd.DataFrame, ids: pd.Index, as_of_us: int) -> EventCodes:
    """Code the events of followers in `ids` that happened strictly before `as_of_us`."""
    micros = to_micros(interactions["occurred_at"])
    scored, rows_of = _follower_rows(interactions[ENTITY_KEY], ids)
    # Half-open cutoff: an event exactly at as_of belongs to the future, like the label window.
    keep = micros < as_of_us
    keep &= scored
    types = type_codes(interactions["event_type"])
    if keep.all():
        rows, source = rows_of(None), np.arange(keep.size)
    else:
        # Masks, not positions: positions cost a pass and a large array that only the content
        # kernel needs (EventCodes.positions finds them then).
        rows, types, micros = run_all(
            # Boolean indexing: several times faster than np.compress here.
            [partial(rows_of, keep), partial(_select, types, keep), partial(_select, micros, keep)],
            parallel=keep.size >= PARALLEL_MIN_EVENTS,
        )
        source = keep
    # Ages and bins are computed only for the events kept, in place where the arrays are ours:
    # every full-size temporary costs a pass of page zeroing on tens of millions of events.
    age = np.subtract(as_of_us, micros, out=micros if micros.base is None else None)
    events = EventCodes(rows, types, age, source, len(ids))
    _ = events.cells  # made once here, before kernels on threads share it
    return events


def _follower_rows(
    followers: pd.Series, ids: pd.Index
) -> tuple[np.ndarray, Callable[[np.ndarray | None], np.ndarray]]:
    """Whether each event's follower is in `ids`, and a function giving the int64 row in
    `ids` of the events a mask selects (all of them for None)."""
    if isinstance(followers.dtype, pd.CategoricalDtype):
        # Validated events: each distinct follower looked up once, and the rows taken for the
        # kept events only (no int64 array over every event).
        found = lookup_codes(pd.Series(followers.cat.categories), ids)
        codes = followers.cat.codes.to_numpy()
        scored = np.append(found >= 0, False)[codes]  # a missing id (-1) is never scored

        def coded_rows(keep: np.ndarray | None) -> np.ndarray:
            return take_codes(found, codes if keep is None else codes[keep])

        return scored, coded_rows
    rows = lookup_codes(followers, ids)
    return rows >= 0, partial(_select_or_all, rows)


def _select_or_all(values: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    return values if keep is None else values[keep]


def _select(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return values[keep]


def window_counts(events: EventCodes, windows_days: Sequence[int]) -> np.ndarray:
    """Events per follower, window and type: int32 of shape (followers, windows, types)."""
    n = events.n_followers
    edges = np.array(sorted(set(windows_days)), dtype=np.int64) * MICROS_PER_DAY
    # Windows nest, so each event is counted once, in the ring between the shortest window that
    # holds it and the next shorter one (an event exactly `window` days old is inside it; the
    # last ring holds events older than every window), then counts add up outward. One
    # scatter-add into a preallocated table: no full-size temporaries per window.
    slot = np.searchsorted(edges, events.age, side="left")
    slot *= n * N_TYPES
    slot += events.cells
    rings = np.zeros((edges.size + 1, n, N_TYPES), dtype=np.int32)
    np.add.at(rings.reshape(-1), slot, np.int32(1))
    for ring in range(1, edges.size):
        rings[ring] += rings[ring - 1]
    order = np.searchsorted(edges, np.asarray(windows_days, dtype=np.int64) * MICROS_PER_DAY)
    # A view in the usual case of windows given shortest first.
    chosen = rings[: edges.size] if np.array_equal(order, np.arange(edges.size)) else rings[order]
    return chosen.transpose(1, 0, 2)


def youngest_age_by_type(events: EventCodes) -> np.ndarray:
    """Age (microseconds) of each follower's latest event of each type, NEVER if none.

    Shape (followers, types). The look-back is unbounded: an old unfollow still matters. One
    pass serves every recency column (latest of any type is the minimum over the row).
    """
    youngest = np.full(events.n_followers * N_TYPES, NEVER, dtype=np.int64)
    np.minimum.at(youngest, events.cells, events.age)
    return youngest.reshape(events.n_followers, N_TYPES)


def days_from_age(age: np.ndarray) -> np.ndarray:
    """Microsecond ages as float days, NaN where the event never happened."""
    return np.where(age == NEVER, np.nan, age / MICROS_PER_DAY)


@dataclass(frozen=True)
class DailyRhythm:
    """How a follower's events in the long window spread over days."""

    active_days: dict[int, np.ndarray]  # window -> int32 days with at least one event
    max_per_day: np.ndarray  # int32 events on the busiest day


def daily_rhythm(events: EventCodes, windows_days: Sequence[int]) -> DailyRhythm:
    """Active days per window and the busiest day of the longest window.

    Days are 24-hour periods counted back from as_of (UTC calendar days when as_of is a
    midnight), so a `w`-day window holds exactly `w` of them.
    """
    span = max(windows_days)
    inside = events.age <= span * MICROS_PER_DAY
    day = events.age[inside]
    day -= 1  # in place: a temporary per step would cost a pass over the events each
    day //= MICROS_PER_DAY
    n = events.n_followers
    if n * span <= 2 * day.size:
        cells = events.rows[inside]  # a copy: the (follower, day) bins are made in it
        cells *= span
        cells += day
        del day
        return _rhythm_by_table(cells, n, span, windows_days)
    # One sort by (follower, day) turns "distinct days" and "busiest day" into run lengths.
    keys = sorted_pairs(events.rows[inside], day, n, span)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else keys[:0]
    run_keys, run_sizes = keys[starts].astype(np.int64), np.diff(np.r_[starts, keys.size])
    run_rows, run_days = run_keys // span, run_keys % span
    active = {
        w: np.bincount(run_rows[run_days < w], minlength=n).astype(np.int32) for w in windows_days
    }
    busiest = np.zeros(n, dtype=np.int32)
    if run_rows.size:
        first = np.flatnonzero(np.r_[True, run_rows[1:] != run_rows[:-1]])
        busiest[run_rows[first]] = np.maximum.reduceat(run_sizes, first)
    return DailyRhythm(active, busiest)


def _rhythm_by_table(
    cells: np.ndarray, n: int, span: int, windows_days: Sequence[int]
) -> DailyRhythm:
    """`daily_rhythm` from a table of events per follower and day (`cells`: follower * span +
    day of each event), when the table is no larger than the events: one scatter-add instead
    of a sort, several times faster."""
    per_day = np.zeros((n, span), dtype=np.int32)
    np.add.at(per_day.reshape(-1), cells, np.int32(1))
    active = {w: np.count_nonzero(per_day[:, :w], axis=1).astype(np.int32) for w in windows_days}
    return DailyRhythm(active, per_day.max(axis=1))


def sorted_pairs(major: np.ndarray, minor: np.ndarray, n_major: int, n_minor: int) -> np.ndarray:
    """Sorted `major * n_minor + minor`, as uint32 when it fits: that sorts about twice as fast."""
    keys = major * n_minor + minor
    return np.sort(keys.astype(np.uint32) if n_major * n_minor <= 2**32 else keys)


def count_distinct(rows: np.ndarray, codes: np.ndarray, n_codes: int, n: int) -> np.ndarray:
    """int32 number of distinct codes per follower row; negative (missing) codes are left out."""
    held = codes >= 0
    if not held.all():  # callers often pass only events with a code: no copies then
        rows, codes = rows[held], codes[held]
    stride = -(-max(n_codes, 1) // 64) * 8  # bytes of one row's bits, in whole words
    if n * stride <= 8 * codes.size:  # no larger than the sort's int64 keys
        return _distinct_by_bits(rows, codes, n, stride)
    keys = sorted_pairs(rows, codes, n, max(n_codes, 1))
    firsts = keys[np.r_[True, keys[1:] != keys[:-1]]] if keys.size else keys
    return np.bincount(firsts.astype(np.int64) // max(n_codes, 1), minlength=n).astype(np.int32)


def _distinct_by_bits(rows: np.ndarray, codes: np.ndarray, n: int, stride: int) -> np.ndarray:
    """`count_distinct` by setting one bit per (row, code) and counting each row's bits: about
    twice as fast as sorting the pairs where the table is small."""
    bits = np.zeros(n * stride, dtype=np.uint8)
    byte = rows * stride
    byte += codes >> 3
    bit = (codes & 7).astype(np.uint8)
    for position in range(8):
        # Every write of a round sets the same bit: a byte written twice gets the same value.
        bits[byte[bit == position]] |= np.uint8(1 << position)
    words = np.bitwise_count(bits.view(np.uint64)).reshape(n, stride // 8)
    return words.sum(axis=1, dtype=np.int32)


def decayed_points(
    events: EventCodes, points: np.ndarray, half_life_days: float, part_types: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Per follower, the sum of event points with each event's weight halving every half-life.

    Args:
        points: points per event type (by code).
        part_types: codes of the types whose share of the sum is returned too.

    Returns:
        float64 totals over all events and over `part_types` only; 0 without events.
    """
    # Decayed weights summed per (follower, type) bin, then weighed by points per type: no
    # per-event points or subsets of the events, and the weights computed in place.
    weights = np.divide(events.age, -half_life_days * MICROS_PER_DAY)
    np.exp2(weights, out=weights)
    n = events.n_followers
    by_type = np.bincount(events.cells, weights=weights, minlength=n * N_TYPES)
    by_type = by_type.reshape(n, N_TYPES)
    return _weighed(by_type, points, range(N_TYPES)), _weighed(by_type, points, part_types)


def _weighed(by_type: np.ndarray, points: np.ndarray, types: Iterable[int]) -> np.ndarray:
    """Sum over `types` of each row's column times its points, type by type: the same bits for
    a follower however many rows there are (a matrix product's order depends on the shape)."""
    total = np.zeros(by_type.shape[0])
    for code in types:
        total += by_type[:, code] * float(points[code])
    return total


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """float64 numerator / denominator, NaN where the denominator is 0 (nothing to compare)."""
    out = np.full(np.shape(numerator), np.nan)
    return np.divide(numerator, denominator, out=out, where=np.asarray(denominator) != 0)
