"""Point-in-time feature building on the hand-written audience."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import build_follower_features
from features.schema import (
    FEATURE_COLUMNS,
    FEATURE_VERSION,
    FeatureConfig,
    feature_columns,
    feature_groups,
)
from tests.conftest import AS_OF

CUSTOM = FeatureConfig(windows_days=(14, 60), half_life_days=7.0)


def _decayed(points_and_ages: list[tuple[float, float]], half_life: float = 14.0) -> float:
    """Points of each event halved once per half-life of its age in days."""
    return sum(points * 0.5 ** (age / half_life) for points, age in points_and_ages)


def test_columns_rows_and_dtypes_follow_the_schema(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    assert FEATURE_VERSION == "v2"
    assert list(features.columns) == list(FEATURE_COLUMNS)
    assert list(features.index) == ["a", "b", "c", "d"]
    assert features.index.name == "follower_id"
    groups = feature_groups()
    assert (features[list(groups["count"])].dtypes == np.int32).all()
    numeric = [*groups["recency"], *groups["rate"], *groups["score"], *groups["profile"]]
    assert (features[numeric].dtypes == np.float64).all()


@pytest.mark.parametrize("config", [FeatureConfig(), CUSTOM, FeatureConfig((30,), 3.5)])
def test_columns_follow_the_config(interactions, followers, posts, config):
    features = build_follower_features(interactions, followers, AS_OF, posts, config)
    assert list(features.columns) == list(feature_columns(config))
    assert len(set(features.columns)) == len(features.columns)


def test_custom_windows_and_half_life(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF, config=CUSTOM)
    a = features.loc["a"]
    assert (a["n_events_14d"], a["n_events_60d"], a["n_active_days_60d"]) == (3, 4, 3)
    # (3 events / 14 days) / (4 events / 60 days)
    assert a["velocity_14d_60d"] == pytest.approx((3 / 14) / (4 / 60))
    assert a["click_share_60d"] == pytest.approx(1 / 4)
    assert a["high_intent_score"] == pytest.approx(_decayed([(6, 8.625), (10, 50)], 7.0))


def test_config_round_trips_and_rejects_bad_windows():
    assert FeatureConfig.from_dict(CUSTOM.to_dict()) == CUSTOM
    assert CUSTOM.to_dict() == {"windows_days": [14, 60], "half_life_days": 7.0}
    for bad in ({"windows_days": (30, 7)}, {"windows_days": ()}, {"half_life_days": 0}):
        with pytest.raises(ValueError):
            FeatureConfig(**bad)


def test_window_counts_are_exact(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    a, b = features.loc["a"], features.loc["b"]
    assert (a["n_view_7d"], a["n_like_7d"], a["n_click_7d"], a["n_dm_7d"]) == (1, 1, 0, 0)
    assert (a["n_click_30d"], a["n_dm_30d"], a["n_dm_90d"]) == (1, 0, 1)
    assert (a["n_events_7d"], a["n_events_30d"], a["n_events_90d"]) == (2, 3, 4)
    # Exactly seven days before the cutoff is still inside the 7-day window.
    assert b["n_profile_visit_7d"] == 1
    assert (b["n_share_7d"], b["n_other_7d"], b["n_like_90d"]) == (1, 1, 0)


def test_recency_and_tenure_in_days(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    assert features.loc["a", "days_since_last_event"] == pytest.approx(1 + 13 / 24 + 55 / 1440)
    assert features.loc["a", "days_since_last_high_intent"] == pytest.approx(8 + 15 / 24)
    assert features.loc["b", "days_since_last_high_intent"] == pytest.approx(7.0)
    assert features.loc["a", "days_since_follow"] == pytest.approx(90.0)


def test_follower_without_events_gets_zero_counts_and_missing_recency(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    c = features.loc["c"]
    counts = [column for column in FEATURE_COLUMNS if column.startswith("n_")]
    assert (c[counts] == 0).all()
    assert np.isnan(c["days_since_last_event"]) and np.isnan(c["days_since_last_high_intent"])


def test_the_no_event_rule_for_every_kind(interactions, followers, posts):
    c = build_follower_features(interactions, followers, AS_OF, posts).loc["c"]
    groups = feature_groups()
    assert (c[list(groups["count"])] == 0).all()
    assert c[[col for col in groups["recency"] if col != "days_since_follow"]].isna().all()
    assert c["days_since_follow"] == 59.0  # tenure comes from the profile, not from events
    rates = [col for col in groups["rate"] if col != "follower_following_ratio"]
    assert c[[col for col in rates if col != "video_watch_seconds_30d"]].isna().all()
    assert c["video_watch_seconds_30d"] == 0.0  # posts are known: nothing watched
    assert (c[list(groups["score"])] == 0.0).all()


def test_new_activity_features_are_exact(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    a, b = features.loc["a"], features.loc["b"]
    # a: view and like on day 1, click on day 8, DM on day 49 (days counted back from as_of).
    assert (a["n_active_days_7d"], a["n_active_days_30d"], a["n_active_days_90d"]) == (1, 2, 3)
    assert (a["max_events_per_day_90d"], a["n_posts_engaged_90d"]) == (2, 0)
    assert a["events_per_active_day_90d"] == pytest.approx(4 / 3)
    assert (a["busiest_day_share_90d"], a["like_share_90d"]) == (0.5, 0.25)
    # b: share and "other" on day 0, the profile visit exactly 7 days back is day 6.
    assert (b["n_active_days_7d"], b["max_events_per_day_90d"]) == (2, 2)
    assert b["busiest_day_share_90d"] == pytest.approx(2 / 3)
    assert b["events_per_active_day_7d"] == 1.5


def test_velocity_and_intent_mix_are_exact(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    a, b = features.loc["a"], features.loc["b"]
    assert a["velocity_7d_30d"] == pytest.approx((2 / 7) / (3 / 30))
    assert a["velocity_7d_90d"] == pytest.approx((2 / 7) / (4 / 90))
    assert b["velocity_7d_90d"] == pytest.approx((3 / 7) / (3 / 90))
    assert a["click_share_30d"] == pytest.approx(1 / 3) and a["dm_share_30d"] == 0.0
    assert b["profile_visit_share_30d"] == pytest.approx(1 / 3)
    assert b["share_share_30d"] == pytest.approx(1 / 3)
    assert a["high_intent_share_30d"] == pytest.approx(1 / 3)


def test_recency_of_each_kind(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    a, b = features.loc["a"], features.loc["b"]
    assert a["days_since_last_click"] == pytest.approx(8 + 15 / 24)
    assert a["days_since_last_dm"] == 50.0 and np.isnan(a["days_since_last_share"])
    assert b["days_since_last_profile_visit"] == 7.0 and b["days_since_last_share"] == 0.5
    assert np.isnan(b["days_since_last_click"]) and np.isnan(b["days_since_unfollow"])
    assert b["days_since_last_event"] == pytest.approx(11 / 24)


def test_decayed_scores_weigh_points_by_age(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    a, b = features.loc["a"], features.loc["b"]
    # a: view (1 point), like (2), click (6), DM (10); ages in days.
    a_events = [(1, 1 + 14 / 24), (2, 1 + 13 / 24 + 55 / 1440), (6, 8.625), (10, 50)]
    assert a["engagement_score"] == pytest.approx(_decayed(a_events))
    assert a["high_intent_score"] == pytest.approx(_decayed(a_events[2:]))
    # b: profile visit (6), share (5), "other" (0) and a like 120 days back: no look-back limit.
    b_events = [(6, 7), (5, 0.5), (0, 11 / 24), (2, 120)]
    assert b["engagement_score"] == pytest.approx(_decayed(b_events))
    assert b["high_intent_score"] == pytest.approx(6 * 0.5**0.5)


def test_unfollow_takes_points_away(followers):
    from features.events.load import validate_interactions

    events = validate_interactions(
        pd.DataFrame(
            {
                "follower_id": ["a", "a"],
                "event_type": ["like", "unfollow"],
                "occurred_at": ["2026-02-27", "2026-02-15"],
            }
        )
    )
    a = build_follower_features(events, followers, AS_OF).loc["a"]
    assert a["engagement_score"] == pytest.approx(_decayed([(2, 2), (-10, 14)]))
    assert a["days_since_unfollow"] == 14.0


def test_profile_columns_are_normalised(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    assert features.loc["a", "platform"] == "instagram"
    assert pd.isna(features.loc["b", "country"])
    assert features.loc["b", "is_business"] == 1.0 and features.loc["a", "is_business"] == 0.0
    assert np.isnan(features.loc["c", "is_business"])
    ratio = features["follower_following_ratio"]
    assert ratio["a"] == pytest.approx(120 / 300) and ratio["d"] == 2.0
    assert ratio[["b", "c"]].isna().all()  # a count is missing


def test_events_at_or_after_as_of_change_nothing(interactions, followers):
    before = build_follower_features(interactions, followers, AS_OF)
    future = pd.DataFrame(
        {
            "follower_id": ["a", "b", "c", "a"],
            "event_type": pd.Categorical(
                ["dm", "click", "view", "share"], dtype=interactions["event_type"].dtype
            ),
            "occurred_at": [AS_OF, AS_OF, AS_OF + pd.Timedelta(days=3), AS_OF + pd.Timedelta(1)],
        }
    ).astype({"occurred_at": "datetime64[us, UTC]"})
    more = pd.concat([interactions, future], ignore_index=True)
    pd.testing.assert_frame_equal(build_follower_features(more, followers, AS_OF), before)


@pytest.mark.parametrize("config", [FeatureConfig(), CUSTOM])
def test_same_as_on_data_truncated_at_as_of(interactions, followers, config):
    truncated = interactions[interactions["occurred_at"] < AS_OF]
    pd.testing.assert_frame_equal(
        build_follower_features(truncated, followers, AS_OF, config=config),
        build_follower_features(interactions, followers, AS_OF, config=config),
    )


def test_inputs_are_left_untouched(interactions, followers, posts):
    events_copy, followers_copy, posts_copy = interactions.copy(), followers.copy(), posts.copy()
    build_follower_features(interactions, followers, AS_OF, posts)
    pd.testing.assert_frame_equal(interactions, events_copy)
    pd.testing.assert_frame_equal(followers, followers_copy)
    pd.testing.assert_frame_equal(posts, posts_copy)


def test_naive_cutoff_is_utc(interactions, followers):
    pd.testing.assert_frame_equal(
        build_follower_features(interactions, followers, "2026-03-01"),
        build_follower_features(interactions, followers, AS_OF),
    )


def test_no_events_at_all(followers, interactions):
    features = build_follower_features(interactions.iloc[0:0], followers, AS_OF)
    assert len(features) == 4 and features["n_events_90d"].sum() == 0


def test_threaded_kernels_give_the_same_table(monkeypatch, post_interactions, followers, posts):
    serial = build_follower_features(post_interactions, followers, AS_OF, posts)
    # Large inputs run kernels and lookups on threads; force that path on the small fixture.
    for module in ("features.build", "features.kernels.aggregate", "features.kernels.parallel"):
        monkeypatch.setattr(f"{module}.PARALLEL_MIN_EVENTS", 0)
    threaded = build_follower_features(post_interactions, followers, AS_OF, posts)
    pd.testing.assert_frame_equal(threaded, serial)


@pytest.mark.parametrize("as_mask", [True, False])
def test_taken_events_keep_their_rows_of_the_frame(as_mask):
    from features.kernels.aggregate import N_TYPES, EventCodes

    rng = np.random.default_rng(3)
    frame_rows, size, n = 3000, 1000, 40
    positions = np.sort(rng.choice(frame_rows, size, replace=False))
    source = np.isin(np.arange(frame_rows), positions) if as_mask else positions
    rows, types = rng.integers(0, n, size), rng.integers(0, N_TYPES, size).astype(np.int8)
    events = EventCodes(rows, types, rng.integers(1, 10**9, size), source, n)
    assert (events.positions == positions).all()
    keep = rng.random(size) < 0.3
    for chosen in (keep, np.flatnonzero(keep)[::-1]):
        taken = events.take(chosen)
        assert (taken.positions == positions[chosen]).all()
        assert (taken.rows == rows[chosen]).all() and (taken.types == types[chosen]).all()
        assert (taken.cells == rows[chosen] * N_TYPES + types[chosen]).all()


@pytest.mark.parametrize("windows", [(7, 30, 90), (30, 7), (1, 1, 400)])
def test_window_count_kernel_matches_a_direct_count(windows):
    from features.kernels.aggregate import MICROS_PER_DAY, N_TYPES, EventCodes, window_counts

    rng = np.random.default_rng(5)
    n, size = 50, 5000
    rows, types = rng.integers(0, n, size), rng.integers(0, N_TYPES, size).astype(np.int8)
    # Ages up to 500 days, some exactly on a window's edge.
    age = rng.integers(1, 500, size) * MICROS_PER_DAY - rng.integers(0, 2, size)
    events = EventCodes(rows, types, age, np.arange(size), n)
    counts = window_counts(events, windows)
    assert counts.shape == (n, len(windows), N_TYPES)
    for position, window in enumerate(windows):
        inside = age <= window * MICROS_PER_DAY
        expected = np.zeros((n, N_TYPES), dtype=np.int64)
        np.add.at(expected, (rows[inside], types[inside]), 1)
        assert (counts[:, position] == expected).all()


@pytest.mark.parametrize(("n", "size"), [(400, 300), (40, 20_000)])
def test_daily_rhythm_kernel_matches_a_direct_count(n, size):
    from features.kernels.aggregate import MICROS_PER_DAY, N_TYPES, EventCodes, daily_rhythm

    # Few events per follower are sorted by (follower, day); many are counted in a table of
    # followers by days: both must give the direct count.
    windows = (7, 30, 90)
    rng = np.random.default_rng(n)
    rows, types = rng.integers(0, n, size), rng.integers(0, N_TYPES, size).astype(np.int8)
    age = rng.integers(1, 120, size) * MICROS_PER_DAY - rng.integers(0, 2, size)
    events = EventCodes(rows, types, age, np.arange(size), n)
    rhythm = daily_rhythm(events, windows)
    frame = pd.DataFrame({"row": rows, "day": (age - 1) // MICROS_PER_DAY})
    for window in windows:
        days = frame[frame["day"] < window].groupby("row")["day"].nunique()
        expected = days.reindex(range(n), fill_value=0).to_numpy()
        assert rhythm.active_days[window].dtype == np.int32
        assert (rhythm.active_days[window] == expected).all()
    per_day = frame[frame["day"] < max(windows)].groupby(["row", "day"]).size()
    busiest = per_day.groupby(level="row").max().reindex(range(n), fill_value=0).to_numpy()
    assert (rhythm.max_per_day == busiest).all()


@pytest.mark.parametrize(("n", "n_codes", "size"), [(300, 5000, 400), (30, 70, 5000)])
def test_distinct_count_kernel_matches_a_direct_count(n, n_codes, size):
    from features.kernels.aggregate import count_distinct

    # Few pairs among many possible ones are sorted; many are set as bits in a table of rows
    # by codes: both must give the direct count, missing codes left out.
    rng = np.random.default_rng(n_codes)
    rows, codes = rng.integers(0, n, size), rng.integers(-1, n_codes, size)
    counted = count_distinct(rows, codes, n_codes, n)
    frame = pd.DataFrame({"row": rows, "code": codes})
    expected = frame[frame["code"] >= 0].groupby("row")["code"].nunique()
    assert counted.dtype == np.int32
    assert (counted == expected.reindex(range(n), fill_value=0).to_numpy()).all()
