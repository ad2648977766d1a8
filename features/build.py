"""Point-in-time follower features: one row per follower from events strictly before `as_of`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from features.kernels.aggregate import (
    MICROS_PER_DAY,
    DailyRhythm,
    EventCodes,
    daily_rhythm,
    days_from_age,
    decayed_points,
    encode_events,
    ratio,
    to_micros,
    window_counts,
    youngest_age_by_type,
)
from features.kernels.content import content_columns
from features.kernels.parallel import PARALLEL_MIN_EVENTS, run_all
from features.schema import (
    ALL_EVENT_TYPES,
    CATEGORICAL_COLUMNS,
    DEFAULT_FEATURE_CONFIG,
    ENTITY_KEY,
    EVENT_POINTS,
    HIGH_INTENT_EVENTS,
    MIX_EVENTS,
    PROFILE_NUMERIC_COLUMNS,
    RECENCY_EVENTS,
    FeatureConfig,
    count_column,
    feature_columns,
)

_HIGH_INTENT = [ALL_EVENT_TYPES.index(name) for name in HIGH_INTENT_EVENTS]
_POINTS = np.array([EVENT_POINTS[name] for name in ALL_EVENT_TYPES])

Columns = dict[str, np.ndarray]


def to_utc_timestamp(as_of: pd.Timestamp | str) -> pd.Timestamp:
    """A cutoff as a UTC timestamp; a naive date or time is taken as UTC."""
    stamp = pd.Timestamp(as_of)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def total_events(counts: np.ndarray) -> np.ndarray:
    """int32 events per follower from (followers, types) counts."""
    # einsum sums the short rows about twice as fast as .sum(axis=1).
    return np.einsum("ij->i", counts)


def _count_columns(counts: np.ndarray, config: FeatureConfig) -> Columns:
    """Window counts per type, then what is derived from them alone (velocity, intent mix)."""
    columns: Columns = {}
    for position, window in enumerate(config.windows_days):
        for code, event_type in enumerate(ALL_EVENT_TYPES):
            columns[count_column(event_type, window)] = counts[:, position, code]
        columns[count_column("events", window)] = total_events(counts[:, position])
    short, mid = config.short_days, config.mid_days
    events_short = columns[count_column("events", short)] / short
    for window in config.windows_days[1:]:
        # Events per day recently over events per day in the longer window: 1 is a steady pace.
        events_long = columns[count_column("events", window)] / window
        columns[f"velocity_{short}d_{window}d"] = ratio(events_short, events_long)
    total_mid = columns[count_column("events", mid)]
    for event_type in MIX_EVENTS:
        columns[f"{event_type}_share_{mid}d"] = ratio(
            columns[count_column(event_type, mid)], total_mid
        )
    high = sum(columns[count_column(event_type, mid)] for event_type in HIGH_INTENT_EVENTS)
    columns[f"high_intent_share_{mid}d"] = ratio(high, total_mid)
    return columns


def _rhythm_columns(rhythm: DailyRhythm, counts: Columns, config: FeatureConfig) -> Columns:
    """Active days and bot-likeness: how many events per active day, how bursty, how like-heavy."""
    long = config.long_days
    total_long = counts[count_column("events", long)]
    columns: Columns = {f"max_events_per_day_{long}d": rhythm.max_per_day}
    for window, active in rhythm.active_days.items():
        columns[f"n_active_days_{window}d"] = active
        columns[f"events_per_active_day_{window}d"] = ratio(
            counts[count_column("events", window)], active
        )
    columns[f"busiest_day_share_{long}d"] = ratio(rhythm.max_per_day, total_long)
    columns[f"like_share_{long}d"] = ratio(counts[count_column("like", long)], total_long)
    return columns


def recency_columns(youngest: np.ndarray) -> Columns:
    """Days since the latest event of each kind, NaN if there was none (unbounded look-back).

    Args:
        youngest: age of each follower's latest event per type, as `youngest_age_by_type`.
    """
    columns = {
        "days_since_last_event": days_from_age(youngest.min(axis=1)),
        "days_since_last_high_intent": days_from_age(youngest[:, _HIGH_INTENT].min(axis=1)),
        "days_since_unfollow": days_from_age(youngest[:, ALL_EVENT_TYPES.index("unfollow")]),
    }
    for event_type in RECENCY_EVENTS:
        age = youngest[:, ALL_EVENT_TYPES.index(event_type)]
        columns[f"days_since_last_{event_type}"] = days_from_age(age)
    return columns


def _profile_columns(followers: pd.DataFrame, as_of_us: int) -> Columns:
    """Profile numbers (NaN if unknown), categoricals, tenure and the follower/following ratio."""
    numbers: Columns = {}
    for column in PROFILE_NUMERIC_COLUMNS:
        values = followers[column] if column in followers else pd.Series(np.nan, followers.index)
        numbers[column] = pd.to_numeric(values, errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
    for column in CATEGORICAL_COLUMNS:
        values = followers[column] if column in followers else pd.Series(None, followers.index)
        numbers[column] = values.astype("str").array
    if "followed_at" in followers:
        followed = to_micros(followers["followed_at"]).astype("float64")
        followed[followers["followed_at"].isna().to_numpy()] = np.nan
    else:
        followed = np.full(len(followers), np.nan)
    return profile_columns(numbers, followed, as_of_us)


def profile_columns(profile: Columns, followed_us: np.ndarray, as_of_us: int) -> Columns:
    """The profile's columns with tenure and the follower/following ratio added.

    Args:
        profile: PROFILE_NUMERIC_COLUMNS as float64 (NaN if unknown) and CATEGORICAL_COLUMNS.
        followed_us: float64 microseconds since the epoch of the follow, NaN if unknown.
    """
    columns = dict(profile)
    columns["days_since_follow"] = (as_of_us - followed_us) / MICROS_PER_DAY
    # A following count of 0 leaves the ratio undefined (NaN), like a missing count.
    columns["follower_following_ratio"] = ratio(
        columns["follower_count"], columns["following_count"]
    )
    return columns


def follower_columns(
    events: EventCodes,
    content: Callable[[], Columns],
    profile: Columns,
    config: FeatureConfig,
) -> Columns:
    """Every feature column, in `feature_columns(config)` order, from the coded events, the
    content kernel bound to its inputs and the profile's columns (`profile_columns`)."""
    windows = config.windows_days
    affinity, counts, youngest, rhythm, scores = run_all(
        [
            content,  # the longest first: the others share the second thread meanwhile
            partial(window_counts, events, windows),
            partial(youngest_age_by_type, events),
            partial(daily_rhythm, events, windows),
            # Decayed marketing points (EVENT_POINTS): all events, and high-intent ones only.
            partial(decayed_points, events, _POINTS, config.half_life_days, _HIGH_INTENT),
        ],
        # The independent kernels on threads for large inputs (each whole: exact sums).
        parallel=events.rows.size >= PARALLEL_MIN_EVENTS,
    )
    columns = _count_columns(counts, config)
    columns.update(_rhythm_columns(rhythm, columns, config))
    columns.update(recency_columns(youngest))
    columns.update({"engagement_score": scores[0], "high_intent_score": scores[1]})
    columns.update(affinity)
    columns.update(profile)
    return {name: columns[name] for name in feature_columns(config)}


def build_follower_features(
    interactions: pd.DataFrame,
    followers: pd.DataFrame,
    as_of: pd.Timestamp | str,
    posts: pd.DataFrame | None = None,
    config: FeatureConfig = DEFAULT_FEATURE_CONFIG,
) -> pd.DataFrame:
    """Features of every follower in `followers` as of `as_of`, from events before `as_of`.

    Args:
        interactions: validated events (any follower; events of others are ignored).
        followers: one row per follower to score; profile columns may be absent.
        posts: the posts table (checked here with `validate_posts`); only posts published
            before `as_of` are used. None leaves the content-affinity columns NaN.
        config: windows and half-life; store it with a model, its columns depend on it.

    Returns:
        A frame indexed by follower_id (in the order of `followers`) holding exactly
        `feature_columns(config)`, dtypes by kind (see `feature_groups`). A follower with no
        events gets 0 counts, active days and scores; NaN recencies; NaN for every share,
        velocity, mean or per-day rate (nothing to divide by), but 0 video watch seconds when
        posts are given; tenure and profile columns come from the profile (NaN if unknown).
        The same rule is in `features.catalogue.NO_EVENTS_RULE`.
    """
    as_of_us = to_utc_timestamp(as_of).value // 1_000
    ids = pd.Index(followers[ENTITY_KEY].astype("str"), name=ENTITY_KEY)
    events = encode_events(interactions, ids, as_of_us)
    content = partial(content_columns, interactions, events, posts, as_of_us, config)
    profile = _profile_columns(followers.reset_index(drop=True), as_of_us)
    return pd.DataFrame(follower_columns(events, content, profile, config), index=ids)
