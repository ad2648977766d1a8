"""Content affinity from the posts table, and point in time with posts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.build import build_follower_features
from features.schema import FeatureConfig
from tests.conftest import AS_OF

AFFINITY = ["campaign_share_30d", "video_share_30d", "video_watch_seconds_30d"]


def test_affinity_is_exact(post_interactions, followers, posts):
    features = build_follower_features(post_interactions, followers, AS_OF, posts)
    a, b = features.loc["a"], features.loc["b"]
    # a's known-post interactions in 30 days: view+like on p1 (campaign video), view on p3
    # (live), view+click on p2 (image). p4 (published after as_of) and p9 (unknown) are left out.
    assert (a["campaign_share_30d"], a["video_share_30d"]) == (2 / 5, 3 / 5)
    assert a["video_watch_seconds_30d"] == 30.0 + 12.5
    assert a["video_watch_mean_30d"] == (30.0 + 12.5) / 2
    # b: an untimed view of p1 and a share of p2; the view at as_of is the future.
    assert (b["campaign_share_30d"], b["video_share_30d"]) == (0.5, 0.5)
    assert b["video_watch_seconds_30d"] == 0.0 and np.isnan(b["video_watch_mean_30d"])


def test_distinct_posts_count_every_post_id(post_interactions, followers, posts):
    features = build_follower_features(post_interactions, followers, AS_OF, posts)
    # a engaged with p1, p2, p3, p4 and p9 (p1 also 90 days back: counted once).
    assert features["n_posts_engaged_90d"].tolist() == [5, 2, 0, 0]
    assert features.loc["a", "n_view_90d"] == 6  # the repeated row was dropped on validation


def test_without_posts_affinity_is_missing_and_the_rest_unchanged(
    post_interactions, followers, posts
):
    with_posts = build_follower_features(post_interactions, followers, AS_OF, posts)
    without = build_follower_features(post_interactions, followers, AS_OF)
    affinity = [*AFFINITY, "video_watch_mean_30d"]
    assert without[affinity].isna().all().all()
    pd.testing.assert_frame_equal(without.drop(columns=affinity), with_posts.drop(columns=affinity))


def test_followers_without_post_interactions(post_interactions, followers, posts):
    features = build_follower_features(post_interactions, followers, AS_OF, posts)
    for follower in ("c", "d"):
        row = features.loc[follower]
        assert np.isnan(row["campaign_share_30d"]) and np.isnan(row["video_share_30d"])
        assert row["video_watch_seconds_30d"] == 0.0 and np.isnan(row["video_watch_mean_30d"])


@pytest.mark.parametrize("config", [FeatureConfig(), FeatureConfig((14, 60), 7.0)])
def test_same_as_on_events_and_posts_truncated_at_as_of(
    post_interactions, followers, posts, config
):
    events = post_interactions[post_interactions["occurred_at"] < AS_OF]
    published = pd.to_datetime(posts["published_at"], utc=True)
    pd.testing.assert_frame_equal(
        build_follower_features(events, followers, AS_OF, posts[published < AS_OF], config),
        build_follower_features(post_interactions, followers, AS_OF, posts, config),
    )


def test_future_events_and_posts_change_nothing(post_interactions, followers, posts):
    before = build_follower_features(post_interactions, followers, AS_OF, posts)
    later = pd.DataFrame(
        {
            "follower_id": ["a", "b", "d"],
            "event_type": ["view", "click", "dm"],
            "occurred_at": [AS_OF, AS_OF + pd.Timedelta(hours=1), AS_OF + pd.Timedelta(days=9)],
            "post_id": ["p5", "p1", None],
            "value": [99.0, None, None],
        }
    )
    from features.events.load import validate_interactions

    more = pd.concat([post_interactions, validate_interactions(later)], ignore_index=True)
    new_post = pd.DataFrame(
        {"post_id": ["p5"], "published_at": ["2026-03-01"], "format": ["video"], "campaign": ["x"]}
    )
    after = build_follower_features(more, followers, AS_OF, pd.concat([posts, new_post]))
    pd.testing.assert_frame_equal(after, before)


def test_event_order_does_not_matter(post_interactions, followers, posts):
    shuffled = post_interactions.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(
        build_follower_features(shuffled, followers, AS_OF, posts),
        build_follower_features(post_interactions, followers, AS_OF, posts),
    )


def test_post_ids_as_text_give_the_same_columns(post_interactions, followers, posts):
    # Validated events number their posts; a frame with text post ids is numbered here.
    as_text = post_interactions.assign(post_id=post_interactions["post_id"].astype("str"))
    assert not isinstance(as_text["post_id"].dtype, pd.CategoricalDtype)
    coded = build_follower_features(post_interactions, followers, AS_OF, posts)
    pd.testing.assert_frame_equal(build_follower_features(as_text, followers, AS_OF, posts), coded)
