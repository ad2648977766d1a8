"""The service, called directly and over real HTTP; batch and service agree."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import numpy as np
import pandas as pd
import pytest

from features.events.load import load_tables
from serving.batch import score_followers
from serving.model_store import load_registered

pytestmark = pytest.mark.slow

AS_OF = "2026-05-10T00:00:00Z"


def _events_of(tables, follower_ids: list[str]) -> list[dict]:
    events = tables.interactions[tables.interactions["follower_id"].isin(follower_ids)]
    return [
        {
            "follower_id": row.follower_id,
            "event_type": str(row.event_type),
            "occurred_at": row.occurred_at.isoformat(),
            "post_id": None if pd.isna(row.post_id) else str(row.post_id),
            "value": None if pd.isna(row.value) else float(row.value),
        }
        for row in events.itertuples()
    ]


def _posts_of(tables, events: list[dict]) -> list[dict]:
    used = {event["post_id"] for event in events if event["post_id"] is not None}
    posts = tables.posts[tables.posts["post_id"].isin(used)]
    return [
        {
            "post_id": row.post_id,
            "published_at": row.published_at.isoformat(),
            "format": row.format,
            "campaign": None if pd.isna(row.campaign) else row.campaign,
        }
        for row in posts.itertuples()
    ]


def _profiles_of(tables, follower_ids: list[str]) -> list[dict]:
    profiles = tables.followers.set_index("follower_id").loc[follower_ids]
    return [
        {
            "follower_id": follower_id,
            "platform": row.platform,
            "followed_at": row.followed_at.isoformat(),
            "country": None if pd.isna(row.country) else row.country,
            "follower_count": None if pd.isna(row.follower_count) else row.follower_count,
            "following_count": None if pd.isna(row.following_count) else row.following_count,
            "is_business": None if pd.isna(row.is_business) else bool(row.is_business),
        }
        for follower_id, row in profiles.iterrows()
    ]


@pytest.fixture(scope="module")
def batch_scores(trained, audience_dir) -> pd.DataFrame:
    bundle, version = load_registered(f"models:/lead-scorer/{trained.version}")
    return score_followers(audience_dir, AS_OF, bundle, version).scores.set_index("follower_id")


def _sample_ids(batch_scores: pd.DataFrame) -> list[str]:
    # The best, the worst and a few in between, so agreement is tested across the range.
    ordered = batch_scores.sort_values("probability").index
    return [ordered[-1], ordered[-2], ordered[len(ordered) // 2], ordered[0], ordered[100]]


def test_score_events_over_http_matches_batch(server, audience_dir, batch_scores, trained):
    tables = load_tables(audience_dir)
    ids = _sample_ids(batch_scores)
    events = _events_of(tables, ids)
    body = {
        "events": events,
        "profiles": _profiles_of(tables, ids),
        "posts": _posts_of(tables, events),
        "as_of": AS_OF,
    }
    reply = httpx.post(f"{server}/score_events", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    scores = pd.DataFrame(reply.json()).set_index("follower_id")
    assert list(scores.index) == ids
    assert set(scores.columns) == {
        "probability",
        "score",
        "tier",
        "reasons_up",
        "reasons_down",
        "model_version",
    }
    # The best follower has reasons in plain words, at most three each way.
    assert 1 <= len(scores.loc[ids[0], "reasons_up"]) <= 3
    assert all(isinstance(reason, str) and reason for reason in scores.loc[ids[0], "reasons_up"])
    assert (scores["model_version"] == trained.version).all()
    _assert_same_scores(scores, batch_scores.loc[ids])
    assert scores.loc[ids[0], "score"] > scores.loc[ids[3], "score"]
    assert scores["tier"].isin(list("ABCD")).all()


def _assert_same_scores(scores: pd.DataFrame, batch: pd.DataFrame) -> None:
    """Service and batch agree exactly: the same probabilities bit for bit (JSON keeps every
    digit of a float), scores, tiers and reasons."""
    assert list(scores.index) == list(batch.index)
    np.testing.assert_array_equal(scores["probability"], batch["probability"])
    for column in ("score", "tier", "model_version"):
        assert scores[column].tolist() == batch[column].tolist(), column
    for column in ("reasons_up", "reasons_down"):
        assert [list(r) for r in scores[column]] == [list(r) for r in batch[column]], column


def _feature_records(tables, ids: list[str]) -> list[dict]:
    """The sampled followers' feature values as /score takes them, built as batch builds them."""
    from features.build import build_follower_features
    from features.labels import select_snapshot_followers

    followers = select_snapshot_followers(tables.followers, tables.conversions, AS_OF)
    followers = followers.set_index("follower_id").loc[ids].reset_index()
    features = build_follower_features(tables.interactions, followers, AS_OF, tables.posts)
    return [{"follower_id": fid, **_jsonable(row)} for fid, row in features.iterrows()]


def test_score_over_http_matches_batch_exactly(server, audience_dir, batch_scores):
    ids = _sample_ids(batch_scores)
    records = _feature_records(load_tables(audience_dir), ids)
    reply = httpx.post(f"{server}/score", json={"followers": records}, timeout=30)
    assert reply.status_code == 200, reply.text
    _assert_same_scores(pd.DataFrame(reply.json()).set_index("follower_id"), batch_scores.loc[ids])


def test_http_errors_name_the_field_and_empty_lists_are_answered(server):
    bad_time = {"events": [{"follower_id": "a", "event_type": "like", "occurred_at": "soon"}]}
    reply = httpx.post(f"{server}/score_events", json=bad_time, timeout=30)
    assert reply.status_code == 400 and "occurred_at" in reply.text
    twice = {"events": [], "profiles": [{"follower_id": "a"}, {"follower_id": "a"}]}
    reply = httpx.post(f"{server}/score_events", json=twice, timeout=30)
    assert reply.status_code == 400 and reply.json() == {
        "error": "profiles[1]: duplicate follower_id 'a'",
        "field": "profiles[1]",
    }
    unknown = {"followers": [{"follower_id": "a", "n_clicks_7d": 3}]}
    reply = httpx.post(f"{server}/score", json=unknown, timeout=30)
    assert reply.status_code == 400 and "n_clicks_7d" in reply.text
    negative = {"followers": [{"follower_id": "a", "n_click_7d": -1}]}
    reply = httpx.post(f"{server}/score", json=negative, timeout=30)
    assert reply.status_code == 400 and "n_click_7d" in reply.text
    for route, body in (("score", {"followers": []}), ("score_events", {"events": []})):
        reply = httpx.post(f"{server}/{route}", json=body, timeout=30)
        assert reply.status_code == 200 and reply.json() == []
    # A small broken body is refused by the route's own parser, in the same one shape.
    for content, words in ((b"{x", "the body: Invalid JSON"), (b"[1]", "the body: Input should")):
        reply = httpx.post(f"{server}/score", content=content, timeout=30,
                           headers={"content-type": "application/json"})  # fmt: skip
        assert reply.status_code == 400 and reply.json()["error"].startswith(words)
        assert reply.json()["field"] is None


def test_openapi_and_model_info(server, trained):
    spec = httpx.get(f"{server}/docs.json", timeout=30).json()
    assert {"/score", "/score_events", "/model"} <= set(spec["paths"])
    info = httpx.post(f"{server}/model", json={}, timeout=30).json()
    assert info["version"] == trained.version and info["name"] == "lead-scorer"
    assert info["metrics"]["roc_auc"] == pytest.approx(trained.metrics["roc_auc"])


def test_class_scores_feature_records_like_batch(scorer, batch_scores, audience_dir):
    from serving.schemas import FeatureRecord

    ids = _sample_ids(batch_scores)
    records = [
        FeatureRecord(**record) for record in _feature_records(load_tables(audience_dir), ids)
    ]
    # The route writes its JSON reply itself (the fast path): read it as a client would.
    scores = pd.DataFrame(json.loads(scorer.score(records).body)).set_index("follower_id")
    _assert_same_scores(scores, batch_scores.loc[ids])


def test_unseen_categories_and_unknown_event_types_still_score(scorer):
    from serving.schemas import Event, Profile

    events = [
        Event(follower_id="new", event_type="hologram", occurred_at="2026-05-01T10:00:00"),
        Event(follower_id="new", event_type="click", occurred_at="2026-05-02T10:00:00Z"),
    ]
    profiles = [Profile(follower_id="new", platform="Myspace", country="Atlantis")]
    as_of = datetime(2026, 5, 10, tzinfo=UTC)
    reply = scorer.score_events(events=events, profiles=profiles, as_of=as_of)
    scores = json.loads(reply.body)
    assert len(scores) == 1 and 0 < scores[0]["probability"] < 1


def _jsonable(row: pd.Series) -> dict:
    values = {}
    for column, value in row.items():
        if column == "is_business":
            values[column] = None if pd.isna(value) else bool(value)
        elif isinstance(value, str) or value is None:
            values[column] = value
        else:
            values[column] = None if pd.isna(value) else float(value)
    return values
