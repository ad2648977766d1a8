"""Feature records to the pipeline's frame: derived columns as the pipeline derives them."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from serving.requests import records_to_features
from serving.schemas import Event, FeatureRecord


def test_follower_following_ratio_comes_from_the_counts_unless_sent():
    records = [
        FeatureRecord(follower_id="a", follower_count=300, following_count=150),
        FeatureRecord(follower_id="b", follower_count=300, following_count=0),
        FeatureRecord(follower_id="c", follower_count=300),
        FeatureRecord(
            follower_id="d", follower_count=1, following_count=4, follower_following_ratio=9
        ),
    ]
    ratio = records_to_features(records)["follower_following_ratio"]
    assert ratio["a"] == 2.0 and ratio["d"] == 9.0
    # Nobody followed or a count unknown: missing, as features.build leaves it.
    assert np.isnan(ratio["b"]) and np.isnan(ratio["c"])


def test_repeated_follower_is_an_error_naming_the_row():
    records = [FeatureRecord(follower_id="a"), FeatureRecord(follower_id="a")]
    with pytest.raises(ValueError, match=r"followers\[1\]: duplicate follower_id 'a'"):
        records_to_features(records)


def test_times_outside_1970_to_2200_are_refused_by_name():
    with pytest.raises(ValidationError, match="occurred_at"):
        Event(follower_id="a", event_type="view", occurred_at="0033-07-17T11:19:34Z")
    event = Event(follower_id="a", event_type="view", occurred_at="2026-01-01")
    assert event.occurred_at.year == 2026


def test_event_totals_left_out_are_the_sum_of_the_counts_given():
    records = [
        FeatureRecord(follower_id="a", n_click_7d=2, n_view_7d=3),
        FeatureRecord(follower_id="b", n_click_7d=2, n_events_7d=9),
    ]
    features = records_to_features(records)
    assert features.loc["a", "n_events_7d"] == 5  # derived, not "no events"
    assert features.loc["b", "n_events_7d"] == 9  # given, kept
    assert features.loc["a", "n_events_30d"] == 0
