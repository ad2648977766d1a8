"""Labels look only at [as_of, as_of + horizon); converted followers leave the snapshot."""

from __future__ import annotations

import pandas as pd

from features.labels import make_labels, select_snapshot_followers
from tests.conftest import AS_OF


def test_label_window_is_half_open(conversions):
    ids = pd.Index(["a", "b", "c", "d"])
    labels = make_labels(conversions, ids, AS_OF, horizon_days=28)
    assert labels.name == "converted" and labels.dtype == "int8"
    assert labels.to_dict() == {"a": 1, "b": 0, "c": 0, "d": 0}
    # A conversion exactly at as_of + horizon falls outside; one at as_of inside.
    edge = conversions.assign(converted_at=[AS_OF + pd.Timedelta(days=9), AS_OF, AS_OF])
    assert make_labels(edge, ids, AS_OF, 9).to_dict() == {"a": 0, "b": 1, "c": 1, "d": 0}


def test_snapshot_drops_converted_and_not_yet_following(followers, conversions):
    snapshot = select_snapshot_followers(followers, conversions, AS_OF)
    # c converted before the cutoff, d followed after it.
    assert list(snapshot["follower_id"]) == ["a", "b"]


def test_snapshot_without_conversions_keeps_everyone_following(followers):
    snapshot = select_snapshot_followers(followers, None, AS_OF)
    assert list(snapshot["follower_id"]) == ["a", "b", "c"]
