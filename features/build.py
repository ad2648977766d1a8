"""Point-in-time follower features: one row per follower from events strictly before `as_of`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.events import EVENT_TYPE_DTYPE
from features.schema import (
    ALL_EVENT_TYPES,
    CATEGORICAL_COLUMNS,
    ENTITY_KEY,
    FEATURE_COLUMNS,
    HIGH_INTENT_EVENTS,
    PROFILE_NUMERIC_COLUMNS,
    WINDOWS_DAYS,
    count_column,
)

MICROS_PER_DAY = 86_400 * 1_000_000
_HIGH_INTENT_CODES = np.array([ALL_EVENT_TYPES.index(name) for name in HIGH_INTENT_EVENTS])
_UNFOLLOW_CODE = ALL_EVENT_TYPES.index("unfollow")


def to_utc_timestamp(as_of: pd.Timestamp | str) -> pd.Timestamp:
    """A cutoff as a UTC timestamp; a naive date or time is taken as UTC."""
    stamp = pd.Timestamp(as_of)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _micros(times: pd.Series) -> np.ndarray:
    return times.astype("datetime64[us, UTC]").array.asi8


def _event_codes(
    interactions: pd.DataFrame, ids: pd.Index, as_of: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Follower row, event-type code and age in microseconds of each event before `as_of`."""
    age = to_utc_timestamp(as_of).as_unit("us")._value - _micros(interactions["occurred_at"])
    row = ids.get_indexer(interactions[ENTITY_KEY])
    # Half-open cutoff: an event exactly at as_of belongs to the future, like the label window.
    keep = (age > 0) & (row >= 0)
    types = interactions["event_type"].astype(EVENT_TYPE_DTYPE).cat.codes.to_numpy()
    return row[keep], types[keep].astype(np.int64), age[keep]


def _window_counts(rows: np.ndarray, types: np.ndarray, age: np.ndarray, n: int) -> dict:
    n_types = len(ALL_EVENT_TYPES)
    columns: dict[str, np.ndarray] = {}
    for window in WINDOWS_DAYS:
        inside = age <= window * MICROS_PER_DAY
        flat = np.bincount(rows[inside] * n_types + types[inside], minlength=n * n_types)
        counts = flat.reshape(n, n_types).astype(np.int32)
        for code, event_type in enumerate(ALL_EVENT_TYPES):
            columns[count_column(event_type, window)] = counts[:, code]
        columns[count_column("events", window)] = counts.sum(axis=1, dtype=np.int32)
    return columns


def _days_since_last(rows: np.ndarray, age: np.ndarray, n: int) -> np.ndarray:
    """Days since each follower's most recent event; NaN for a follower with none."""
    youngest = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(youngest, rows, age)
    days = youngest / MICROS_PER_DAY
    return np.where(youngest == np.iinfo(np.int64).max, np.nan, days)


def _profile_columns(followers: pd.DataFrame, as_of: pd.Timestamp) -> dict:
    columns: dict[str, np.ndarray] = {}
    for column in PROFILE_NUMERIC_COLUMNS:
        values = followers[column] if column in followers else pd.Series(np.nan, followers.index)
        columns[column] = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
    for column in CATEGORICAL_COLUMNS:
        values = followers[column] if column in followers else pd.Series(None, followers.index)
        columns[column] = values.astype("str").array
    if "followed_at" in followers:
        tenure = as_of.as_unit("us")._value - _micros(followers["followed_at"]).astype("float64")
        tenure[followers["followed_at"].isna().to_numpy()] = np.nan
    else:
        tenure = np.full(len(followers), np.nan)
    columns["days_since_follow"] = tenure / MICROS_PER_DAY
    return columns


def build_follower_features(
    interactions: pd.DataFrame, followers: pd.DataFrame, as_of: pd.Timestamp | str
) -> pd.DataFrame:
    """Features of every follower in `followers` as of `as_of`, from events before `as_of`.

    Args:
        interactions: validated events (any follower; events of others are ignored).
        followers: one row per follower to score; profile columns may be absent.

    Returns:
        A frame indexed by follower_id (in the order of `followers`) holding exactly
        FEATURE_COLUMNS. A follower with no events gets zero counts and NaN recencies.
    """
    as_of = to_utc_timestamp(as_of)
    ids = pd.Index(followers[ENTITY_KEY].astype("str"), name=ENTITY_KEY)
    rows, types, age = _event_codes(interactions, ids, as_of)
    n = len(ids)
    columns = _window_counts(rows, types, age, n)
    columns["days_since_last_event"] = _days_since_last(rows, age, n)
    high = np.isin(types, _HIGH_INTENT_CODES)
    columns["days_since_last_high_intent"] = _days_since_last(rows[high], age[high], n)
    # Unlike the windows this looks back without limit: an old unfollow still matters.
    left = types == _UNFOLLOW_CODE
    columns["days_since_unfollow"] = _days_since_last(rows[left], age[left], n)
    columns.update(_profile_columns(followers.reset_index(drop=True), as_of))
    return pd.DataFrame({name: columns[name] for name in FEATURE_COLUMNS}, index=ids)
