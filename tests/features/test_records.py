"""Features from records equal features from tables, value for value, on messy input."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from features.build import build_follower_features
from features.events.load import normalize_profiles, validate_interactions, validate_posts
from features.records import micros, record_features
from features.schema import DEFAULT_FEATURE_CONFIG, FeatureConfig, feature_columns

AS_OF = datetime(2026, 5, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    follower_id: str
    event_type: str
    occurred_at: datetime
    post_id: str | None = None
    value: float | None = None


@dataclass(frozen=True)
class Profile:
    follower_id: str
    platform: str | None = None
    followed_at: datetime | None = None
    country: str | None = None
    follower_count: float | None = None
    following_count: float | None = None
    is_business: bool | None = None


@dataclass(frozen=True)
class Post:
    post_id: str
    published_at: datetime
    format: str | None = None
    campaign: str | None = None


SPELLINGS = ["view", " View", "LIKE", "like ", "click", "dm", "Save", "share", "unfollow",
             "profile_visit", "comment", "follow", "mention", "poke", "other", "  "]  # fmt: skip
ZONES = [None, UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7))]


def _messy(seed: int) -> tuple[list[Event], list[Profile], list[Post]]:
    """Events with every wrinkle a request can hold: repeats (NaN values too), odd spellings,
    unknown types, zones and naive times, events on and after as_of, posts unknown or later."""
    rng = np.random.default_rng(seed)
    followers = [f"f{i}" for i in range(int(rng.integers(1, 8)))]
    posts = [
        Post(
            f"p{i}",
            AS_OF - timedelta(days=float(rng.uniform(-5, 60))),
            rng.choice([None, "video", " Video ", "image", "LIVE", "carousel"]),
            rng.choice([None, "", "  ", "spring", " spring "]),
        )
        for i in range(int(rng.integers(0, 6)))
    ]
    events = []
    for _ in range(int(rng.integers(0, 60))):
        zone = ZONES[int(rng.integers(len(ZONES)))]
        moment = AS_OF - timedelta(days=float(rng.uniform(-3, 120)))
        moment = moment.astimezone(zone).replace(tzinfo=None) if zone is None else moment
        if rng.random() < 0.05:
            moment = AS_OF  # on the cutoff: the future
        events.append(
            Event(
                str(rng.choice(followers)),
                str(rng.choice(SPELLINGS)),
                moment.astimezone(zone) if zone is not None else moment,
                rng.choice([None, "p0", "p1", "p2", "p9"]),
                rng.choice([None, 0.0, -0.0, 12.5, float("nan")]),
            )
        )
    # Repeats as a request parses them: new objects (a new NaN, 0.0 for -0.0).
    repeats = [events[int(i)] for i in rng.integers(0, len(events), 5)] if events else []
    events += [replace(e, value=None if e.value is None else e.value + 0.0) for e in repeats]
    profiles = [
        Profile(
            follower,
            rng.choice([None, "Instagram", " tiktok", "X"]),
            rng.choice([None, AS_OF - timedelta(days=400), AS_OF + timedelta(days=2)]),
            rng.choice([None, "DE", "", "fr"]),
            rng.choice([None, 0.0, 150.0]),
            rng.choice([None, 0.0, 30.0]),
            rng.choice([None, True, False]),
        )
        for follower in followers[: int(rng.integers(0, len(followers) + 1))]
    ]
    return events, profiles, posts


def _from_tables(events, profiles, posts, config: FeatureConfig) -> pd.DataFrame:
    """The same records through files' path: validated frames and build_follower_features."""
    columns = ["follower_id", "event_type", "occurred_at", "post_id", "value"]
    interactions = validate_interactions(pd.DataFrame([asdict(e) for e in events], columns=columns))
    known = [profile.follower_id for profile in profiles]
    others = [key for key in pd.unique(interactions["follower_id"]) if key not in set(known)]
    rows = [asdict(profile) for profile in profiles] + [{"follower_id": key} for key in others]
    followers = normalize_profiles(pd.DataFrame(rows, columns=list(Profile.__dataclass_fields__)))
    post_table = validate_posts(pd.DataFrame([asdict(p) for p in posts])) if posts else None
    return build_follower_features(interactions, followers, pd.Timestamp(AS_OF), post_table, config)


@pytest.mark.parametrize("seed", range(40))
def test_records_give_the_features_tables_give(seed):
    config = DEFAULT_FEATURE_CONFIG if seed % 2 else FeatureConfig((1, 3), 2.0)
    events, profiles, posts = _messy(seed)
    expected = _from_tables(events, profiles, posts, config)
    got = record_features(events, profiles, posts, AS_OF, config)
    assert got.ids == list(expected.index)
    assert tuple(got.columns) == feature_columns(config)
    for column in feature_columns(config):
        want = expected[column].to_numpy()
        assert got.columns[column].dtype == want.dtype, column
        if want.dtype == object:  # text, NaN where missing
            assert _texts(got.columns[column]) == _texts(want), column
        else:
            np.testing.assert_array_equal(got.columns[column], want, err_msg=column, strict=True)


def _texts(values: np.ndarray) -> list[object]:
    return [None if pd.isna(value) else value for value in values]


def test_times_without_zone_are_utc_and_zones_are_honoured():
    assert micros(datetime(1970, 1, 1, 0, 0, 1)) == 1_000_000
    assert micros(datetime(1970, 1, 1, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))) == 0


def test_a_repeated_profile_or_post_is_named():
    moment = AS_OF - timedelta(days=1)
    with pytest.raises(ValueError, match=r"profiles\[1\]: duplicate follower_id 'a'"):
        record_features([], [Profile("a"), Profile("a")], [], AS_OF, DEFAULT_FEATURE_CONFIG)
    with pytest.raises(ValueError, match=r"posts\[2\]: duplicate post_id 'p'"):
        posts = [Post("p", moment), Post("q", moment), Post("p", moment)]
        record_features([Event("a", "view", moment)], [], posts, AS_OF, DEFAULT_FEATURE_CONFIG)
