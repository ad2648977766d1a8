"""Point-in-time features of a few followers from Python records (a request), without pandas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import Protocol

import numpy as np

from features.build import Columns, follower_columns, profile_columns
from features.events.text import campaign_name, flag, fold
from features.kernels.aggregate import EventCodes
from features.kernels.content import KnownPosts, content_kernel
from features.schema import (
    ALL_EVENT_TYPES,
    EVENT_TYPES,
    OTHER_EVENT,
    VIDEO_FORMATS,
    FeatureConfig,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class EventRecord(Protocol):
    """One event as a request holds it (the fields of an interactions row)."""

    @property
    def follower_id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def post_id(self) -> str | None: ...
    @property
    def value(self) -> float | None: ...


class ProfileRecord(Protocol):
    """One follower's profile as a request holds it; every field but the id may be None."""

    @property
    def follower_id(self) -> str: ...
    @property
    def platform(self) -> str | None: ...
    @property
    def followed_at(self) -> datetime | None: ...
    @property
    def country(self) -> str | None: ...
    @property
    def follower_count(self) -> float | None: ...
    @property
    def following_count(self) -> float | None: ...
    @property
    def is_business(self) -> bool | None: ...


class PostRecord(Protocol):
    """One post as a request holds it."""

    @property
    def post_id(self) -> str: ...
    @property
    def published_at(self) -> datetime: ...
    @property
    def format(self) -> str | None: ...
    @property
    def campaign(self) -> str | None: ...


@dataclass(frozen=True)
class RecordFeatures:
    """Features of the followers of a request: ids in row order, one array per column."""

    ids: list[str]
    columns: Columns


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of a time; a time without zone is UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


@lru_cache(maxsize=4096)
def type_code(spelling: str) -> int:
    """An event type's code in ALL_EVENT_TYPES, folded as in files; unknown types are "other"."""
    name = fold(spelling)
    return ALL_EVENT_TYPES.index(name if name in EVENT_TYPES else OTHER_EVENT)


def record_features(
    events: Sequence[EventRecord],
    profiles: Sequence[ProfileRecord],
    posts: Sequence[PostRecord],
    as_of: datetime,
    config: FeatureConfig,
) -> RecordFeatures:
    """What `build_follower_features` computes from the same records, through the same kernels.

    The followers are those with a profile, in order, then every other follower of the events
    in order of appearance. Exact repeats of an event count once, as in files. A repeated
    profile or post is an error naming it.
    """
    as_of_us = micros(as_of)
    kept = _distinct_events(events)
    ids = _followers(profiles, kept)
    row_of = {follower: row for row, follower in enumerate(ids)}
    coded = _codes(kept, row_of, as_of_us)
    values = np.array([np.nan if e.value is None else e.value for e in kept], dtype=np.float64)
    content = partial(_content, kept, coded, posts, values, as_of_us, config)
    profile = _profile_arrays(profiles, len(ids), as_of_us)
    return RecordFeatures(ids, follower_columns(coded, content, profile, config))


def _distinct_events(events: Sequence[EventRecord]) -> list[EventRecord]:
    """The events without exact repeats (equal on the duplicate key once normalised), first kept."""
    seen: set[tuple[object, ...]] = set()
    kept = []
    for event in events:
        value = event.value
        # NaN equals NaN here, as for repeated rows in files.
        key = (
            event.follower_id,
            type_code(event.event_type),
            micros(event.occurred_at),
            event.post_id,
            None if value is None or value != value else value,
        )
        if key not in seen:
            seen.add(key)
            kept.append(event)
    return kept


def _followers(profiles: Sequence[ProfileRecord], events: Sequence[EventRecord]) -> list[str]:
    ids = [profile.follower_id for profile in profiles]
    refuse_repeats(ids, "profiles")
    listed = set(ids)
    for event in events:
        if event.follower_id not in listed:
            listed.add(event.follower_id)
            ids.append(event.follower_id)
    return ids


def refuse_repeats(ids: list[str], field: str, key: str = "follower_id") -> None:
    """An error naming the first record whose `key` an earlier one already had."""
    if len(set(ids)) == len(ids):
        return
    seen: set[str] = set()
    row = next(row for row, id_ in enumerate(ids) if id_ in seen or seen.add(id_))
    raise ValueError(f"{field}[{row}]: duplicate {key} {ids[row]!r}")


def _codes(events: Sequence[EventRecord], row_of: dict[str, int], as_of_us: int) -> EventCodes:
    """The events strictly before as_of, coded as `encode_events` codes them."""
    times = np.array([micros(event.occurred_at) for event in events], dtype=np.int64)
    positions = np.flatnonzero(times < as_of_us)
    chosen = [events[position] for position in positions]
    rows = np.array([row_of[event.follower_id] for event in chosen], dtype=np.int64)
    types = np.array([type_code(event.event_type) for event in chosen], dtype=np.int8)
    return EventCodes(rows, types, as_of_us - times[positions], positions, len(row_of))


def _content(
    events: Sequence[EventRecord],
    coded: EventCodes,
    posts: Sequence[PostRecord],
    values: np.ndarray,
    as_of_us: int,
    config: FeatureConfig,
) -> Columns:
    """The content kernel's inputs from records: each post numbered, known posts looked up."""
    recent = coded.within(config.long_days)
    post_ids = [events[position].post_id for position in recent.positions]
    numbers: dict[str, int] = {}
    codes = np.array(
        [-1 if post is None else numbers.setdefault(post, len(numbers)) for post in post_ids],
        dtype=np.int64,
    )
    if not posts:
        return content_kernel(recent, codes, len(numbers), None, values, config)
    known, flags = _known_posts(posts, as_of_us)
    post_row = np.array([known.get(post, -1) for post in post_ids], dtype=np.int64)
    return content_kernel(recent, codes, len(numbers), (flags, post_row), values, config)


def _known_posts(posts: Sequence[PostRecord], as_of_us: int) -> tuple[dict[str, int], KnownPosts]:
    """Posts published before as_of: their row by id, and their campaign and video flags."""
    refuse_repeats([post.post_id for post in posts], "posts", "post_id")
    rows: dict[str, int] = {}
    campaign, video = [], []
    for post in posts:
        if micros(post.published_at) < as_of_us:
            rows[post.post_id] = len(rows)
            campaign.append(post.campaign is not None and campaign_name(post.campaign) is not None)
            video.append(post.format is not None and fold(post.format) in VIDEO_FORMATS)
    return rows, KnownPosts(np.array(campaign, dtype=bool), np.array(video, dtype=bool))


def _profile_arrays(profiles: Sequence[ProfileRecord], n: int, as_of_us: int) -> Columns:
    """The profile columns of `n` followers, the first ones those of `profiles` (the others
    unknown), as `features.build` makes them from a followers table."""
    numbers = np.full((3, n), np.nan)
    followed = np.full(n, np.nan)
    platform = np.full(n, np.nan, dtype=object)
    country = np.full(n, np.nan, dtype=object)
    for row, profile in enumerate(profiles):
        for position, number in enumerate((profile.follower_count, profile.following_count)):
            if number is not None:
                numbers[position, row] = number
        if profile.is_business is not None:
            numbers[2, row] = flag(str(profile.is_business))
        if profile.followed_at is not None:
            followed[row] = micros(profile.followed_at)
        if profile.platform is not None:
            platform[row] = fold(profile.platform)
        if profile.country is not None:
            country[row] = profile.country
    profile_values = {
        "follower_count": numbers[0],
        "following_count": numbers[1],
        "is_business": numbers[2],
        "platform": platform,
        "country": country,
    }
    return profile_columns(profile_values, followed, as_of_us)
