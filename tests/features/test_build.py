"""Point-in-time feature building on the hand-written audience."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import build_follower_features
from features.schema import FEATURE_COLUMNS
from tests.conftest import AS_OF


def test_columns_rows_and_dtypes_follow_the_schema(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    assert list(features.columns) == list(FEATURE_COLUMNS)
    assert list(features.index) == ["a", "b", "c", "d"]
    assert features.index.name == "follower_id"
    assert features["n_click_7d"].dtype == np.int32
    assert features["days_since_last_event"].dtype == np.float64


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


def test_profile_columns_are_normalised(interactions, followers):
    features = build_follower_features(interactions, followers, AS_OF)
    assert features.loc["a", "platform"] == "instagram"
    assert pd.isna(features.loc["b", "country"])
    assert features.loc["b", "is_business"] == 1.0 and features.loc["a", "is_business"] == 0.0
    assert np.isnan(features.loc["c", "is_business"])


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


def test_same_as_on_data_truncated_at_as_of(interactions, followers):
    truncated = interactions[interactions["occurred_at"] < AS_OF]
    pd.testing.assert_frame_equal(
        build_follower_features(truncated, followers, AS_OF),
        build_follower_features(interactions, followers, AS_OF),
    )


def test_inputs_are_left_untouched(interactions, followers):
    events_copy, followers_copy = interactions.copy(), followers.copy()
    build_follower_features(interactions, followers, AS_OF)
    pd.testing.assert_frame_equal(interactions, events_copy)
    pd.testing.assert_frame_equal(followers, followers_copy)


def test_naive_cutoff_is_utc(interactions, followers):
    pd.testing.assert_frame_equal(
        build_follower_features(interactions, followers, "2026-03-01"),
        build_follower_features(interactions, followers, AS_OF),
    )


def test_no_events_at_all(followers, interactions):
    features = build_follower_features(interactions.iloc[0:0], followers, AS_OF)
    assert len(features) == 4 and features["n_events_90d"].sum() == 0
