"""Feature records to the pipeline's frame: derived columns as the pipeline derives them."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import ValidationError

from features.schema import DEFAULT_FEATURE_CONFIG, feature_columns
from serving.model.phrasing import NotSent
from serving.requests import FeatureRows, records_to_rows
from serving.schemas import Event, FeatureRecord

COLUMNS = feature_columns(DEFAULT_FEATURE_CONFIG)


def _rows(records: list) -> FeatureRows:
    return records_to_rows(records, COLUMNS, DEFAULT_FEATURE_CONFIG)


def test_follower_following_ratio_comes_from_the_counts_unless_sent():
    records = [
        FeatureRecord(follower_id="a", follower_count=300, following_count=150),
        FeatureRecord(follower_id="b", follower_count=300, following_count=0),
        FeatureRecord(follower_id="c", follower_count=300),
        FeatureRecord(
            follower_id="d", follower_count=1, following_count=4, follower_following_ratio=9
        ),
    ]
    rows = _rows(records)
    ratio = {key: rows.value(key, "follower_following_ratio") for key in "abcd"}
    assert ratio["a"] == 2.0 and ratio["d"] == 9.0
    # Nobody followed or a count unknown: missing, as features.build leaves it.
    assert np.isnan(ratio["b"]) and np.isnan(ratio["c"])


def test_repeated_follower_is_an_error_naming_the_row():
    records = [FeatureRecord(follower_id="a"), FeatureRecord(follower_id="a")]
    with pytest.raises(ValueError, match=r"followers\[1\]: duplicate follower_id 'a'"):
        _rows(records)


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
    rows = _rows(records)
    assert rows.value("a", "n_events_7d") == 5  # derived, not "no events"
    assert rows.value("b", "n_events_7d") == 9  # given, kept
    assert rows.value("a", "n_events_30d") == 0


def test_event_columns_left_out_beside_counts_are_not_sent_not_none():
    records = [
        FeatureRecord(follower_id="a", n_click_7d=2, days_since_last_click=1.5),
        FeatureRecord(follower_id="b"),
    ]
    rows = _rows(records)
    # "a" had events: a recency or a rate it left out is not "none", and says so; the model
    # still reads the default (missing, 0).
    recency = rows.value("a", "days_since_last_event")
    assert isinstance(recency, NotSent) and np.isnan(float(recency))
    assert recency.phrase == "days since the latest event: not sent"
    active = rows.value("a", "n_active_days_7d")
    assert isinstance(active, NotSent) and float(active) == 0.0
    assert rows.value("a", "days_since_last_click") == 1.5  # sent, kept
    # "b" had none: left out means none, and is said so.
    assert np.isnan(rows.value("b", "days_since_last_event"))
    assert rows.value("b", "n_active_days_7d") == 0


def test_platform_is_read_as_the_pipeline_writes_it():
    rows = _rows([FeatureRecord(follower_id="a", platform=" Instagram ", is_business=True)])
    assert rows.value("a", "platform") == "instagram" and rows.value("a", "is_business") == 1.0


def test_request_records_score_followers_with_a_profile_first_and_repeats_are_named():
    from features.records import record_features
    from serving.schemas import Profile

    events = [Event(follower_id="b", event_type="view", occurred_at="2026-01-01")]
    profiles = [Profile(follower_id="a"), Profile(follower_id="c"), Profile(follower_id="a")]
    as_of = datetime(2026, 2, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"profiles\[2\]: duplicate follower_id 'a'"):
        record_features(events, profiles, [], as_of, DEFAULT_FEATURE_CONFIG)
    found = record_features(events, profiles[:2], [], as_of, DEFAULT_FEATURE_CONFIG)
    assert found.ids == ["a", "c", "b"]
    assert found.columns["n_view_90d"].tolist() == [0, 0, 1]
