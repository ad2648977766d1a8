"""Features on a Dask cluster: followers split by a hash of their id, the same frame back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import build_follower_features
from features.cluster import cluster_features, follower_parts, split_by_follower
from features.events.load import load_tables
from features.labels import select_snapshot_followers
from features.schema import DEFAULT_FEATURE_CONFIG

pytestmark = pytest.mark.slow


def test_parts_are_a_stable_hash_and_hold_each_followers_events(followers, interactions):
    ids = followers["follower_id"]
    parts = follower_parts(ids, 3)
    assert parts.tolist() == follower_parts(ids.iloc[::-1], 3)[::-1].tolist()
    assert set(parts) <= {0, 1, 2}
    split = split_by_follower(interactions, followers, 3)
    assert sorted(np.concatenate([part.rows for part in split])) == list(range(len(followers)))
    for part in split:
        assert set(part.events["follower_id"]) <= set(part.followers["follower_id"])
        # Each follower's events in file order: sums add up as on one machine.
        assert part.events.index.is_monotonic_increasing


def test_the_cluster_builds_the_frame_one_machine_builds(dask_cluster, audience_dir):
    tables = load_tables(audience_dir)
    as_of = pd.Timestamp("2026-06-01", tz="UTC")
    chosen = select_snapshot_followers(tables.followers, tables.conversions, as_of)
    inputs = (tables.interactions, chosen, as_of, tables.posts)
    alone = build_follower_features(*inputs)
    spread = cluster_features(dask_cluster, *inputs, DEFAULT_FEATURE_CONFIG)
    pd.testing.assert_frame_equal(spread, alone, check_exact=True)
    assert len(dask_cluster.scheduler_info()["workers"]) >= 1


def test_no_followers_is_empty_parts(interactions, followers):
    parts = split_by_follower(interactions, followers.iloc[:0], 3)
    assert [len(part.events) for part in parts] == [0, 0, 0]
