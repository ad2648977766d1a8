"""Batch scoring from files: who is scored as of when, the same scores as the scoring code."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.build import build_follower_features
from features.schema import CATEGORICAL_COLUMNS, DEFAULT_FEATURE_CONFIG
from features.tabular.spec import TabularSpec
from serving.batch import score_followers, score_lead_table
from serving.model.bundle import ScoringBundle
from serving.model.encode import to_model_input
from serving.model.scores import make_score_cutoffs
from serving.model.spec import EventsInput, ModelSpec, TableInput
from serving.scoring import score_features
from tests.conftest import AS_OF

LEVELS = {"platform": ["instagram", "linkedin", "tiktok", "x"], "country": ["FR", "US"]}


def _booster(matrix: np.ndarray, categorical: list[int]) -> lgb.Booster:
    """A small booster whose score rises with the column sums: every row gets its own score."""
    rng = np.random.default_rng(0)
    logit = np.nan_to_num(matrix).sum(axis=1)
    logit = (logit - logit.mean()) / (logit.std() + 1e-9)
    labels = (rng.random(len(matrix)) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 5, "verbosity": -1}
    params |= {"num_threads": 1, "deterministic": True, "seed": 1}
    data = lgb.Dataset(matrix, label=labels, categorical_feature=categorical)
    return lgb.train(params, data, num_boost_round=20)


@pytest.fixture
def folder(tmp_path: Path, followers, interactions, conversions) -> Path:
    """The conftest audience as a data folder, in CSV like an export."""
    for name, frame in (
        ("followers", followers),
        ("interactions", interactions),
        ("conversions", conversions),
    ):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    return tmp_path


@pytest.fixture
def events_bundle(followers, interactions) -> ScoringBundle:
    """An events model over the feature columns the default windows build."""
    columns = list(build_follower_features(interactions, followers, AS_OF).columns)
    rng = np.random.default_rng(1)
    training = pd.DataFrame(
        {c: rng.poisson(2, 400).astype(float) for c in columns if c not in CATEGORICAL_COLUMNS}
    )
    for column in CATEGORICAL_COLUMNS:
        training[column] = rng.choice(LEVELS[column], 400)
    training = training[columns]
    matrix = to_model_input(training, columns, LEVELS)
    booster = _booster(matrix, [columns.index(c) for c in CATEGORICAL_COLUMNS])
    inputs = EventsInput(28, DEFAULT_FEATURE_CONFIG.to_dict())
    cutoffs = make_score_cutoffs(booster.predict(matrix))
    spec = ModelSpec("v2", columns, LEVELS, cutoffs, "2026-03-01T00:00:00+00:00", inputs=inputs)
    return ScoringBundle(booster, spec)


def test_followers_are_scored_as_of_the_given_date(folder, events_bundle, followers, interactions):
    result = score_followers(folder, "2026-03-01", events_bundle, "4")
    assert result.as_of == AS_OF
    # d follows after the cutoff and c had converted before it: neither is scored.
    assert sorted(result.scores["follower_id"]) == ["a", "b"]
    scored = followers[followers["follower_id"].isin(["a", "b"])].reset_index(drop=True)
    expected = score_features(
        build_follower_features(interactions, scored, AS_OF), events_bundle, "4"
    )
    pd.testing.assert_frame_equal(result.scores, expected)


def test_without_a_date_followers_are_scored_as_of_the_end_of_the_data(folder, events_bundle):
    result = score_followers(folder, None, events_bundle, "4")
    # The newest event is on 2026-03-10: the scores are as of the midnight after it, when a has
    # converted (on the 10th) and d has followed (on the 5th).
    assert result.as_of == pd.Timestamp("2026-03-11", tz="UTC")
    assert sorted(result.scores["follower_id"]) == ["b", "d"]


def test_one_events_file_is_scored_with_followers_from_its_events(folder, events_bundle):
    result = score_followers(folder / "interactions.csv", "2026-03-01", events_bundle, "4")
    # Without a followers table, anyone with an event before the cutoff is a follower; without
    # conversions, nobody has converted yet.
    assert sorted(result.scores["follower_id"]) == ["a", "b", "zz"]


def test_no_reasons_when_asked_for_none(folder, events_bundle):
    result = score_followers(folder, "2026-03-01", events_bundle, "4", reasons=0)
    assert result.scores["reasons_up"].map(len).sum() == 0
    assert result.scores["reasons_down"].map(len).sum() == 0


def test_no_interactions_is_a_clear_error(folder, events_bundle, interactions):
    interactions.iloc[:0].to_csv(folder / "interactions.csv", index=False)
    with pytest.raises(ValueError, match="no interactions"):
        score_followers(folder, None, events_bundle, "4")


@pytest.fixture
def table_bundle(small_leads) -> ScoringBundle:
    """A table model on the small lead table's two feature columns."""
    table = TabularSpec(
        id_column="id",
        target="won",
        features=("Lead Source", "Visits"),
        categorical=("Lead Source",),
        numeric=("Visits",),
    )
    part = TableInput(table.to_dict(), ["Select"], {})
    levels = {"Lead Source": ["google", "olark chat", "x"]}
    columns = ["Lead Source", "Visits"]
    rng = np.random.default_rng(2)
    training = pd.DataFrame(
        {"Lead Source": rng.choice(levels["Lead Source"], 300), "Visits": rng.poisson(3, 300)}
    )
    matrix = to_model_input(training, columns, levels)
    booster = _booster(matrix, [0])
    cutoffs = make_score_cutoffs(booster.predict(matrix))
    spec = ModelSpec("v2", columns, levels, cutoffs, "2026-03-01T00:00:00+00:00", inputs=part)
    return ScoringBundle(booster, spec)


def test_a_lead_table_is_scored_row_by_row_in_its_order(tmp_path, small_leads, table_bundle):
    path = tmp_path / "leads.csv"
    shuffled = small_leads.sample(frac=1.0, random_state=3)
    shuffled.to_csv(path, index=False)
    scores = score_lead_table(path, table_bundle, "2")
    assert scores["id"].tolist() == shuffled["id"].tolist()
    expected = score_features(table_bundle.prepare(shuffled), table_bundle, "2")
    pd.testing.assert_frame_equal(scores, expected)


def test_a_lead_table_reads_the_same_from_parquet(tmp_path, small_leads, table_bundle):
    small_leads.to_csv(tmp_path / "leads.csv", index=False)
    small_leads.to_parquet(tmp_path / "leads.parquet", index=False)
    from_csv = score_lead_table(tmp_path / "leads.csv", table_bundle, "2")
    from_parquet = score_lead_table(tmp_path / "leads.parquet", table_bundle, "2")
    pd.testing.assert_frame_equal(from_csv, from_parquet)


def test_a_lead_table_without_a_feature_column_names_it(tmp_path, small_leads, table_bundle):
    path = tmp_path / "leads.csv"
    small_leads.drop(columns=["Visits"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="Visits"):
        score_lead_table(path, table_bundle, "2")


def test_each_kind_of_model_scores_only_its_own_input(
    folder, tmp_path, events_bundle, table_bundle
):
    with pytest.raises(ValueError, match="mode is 'events'"):
        score_lead_table(folder / "followers.csv", events_bundle, "4")
    with pytest.raises(ValueError, match="mode is 'table'"):
        score_followers(folder, "2026-03-01", table_bundle, "2")


def _many(interactions: pd.DataFrame) -> pd.DataFrame:
    """Twenty copies a minute apart: enough events for one to stand out as a stray."""
    shifted = [
        interactions.assign(occurred_at=interactions["occurred_at"] + pd.Timedelta(minutes=k))
        for k in range(20)
    ]
    return pd.concat(shifted, ignore_index=True)


def test_a_stray_event_far_ahead_does_not_move_the_end_of_the_data(
    folder, events_bundle, interactions
):
    stray = interactions.iloc[:1].assign(occurred_at=pd.Timestamp("2031-01-01", tz="UTC"))
    pd.concat([_many(interactions), stray]).to_csv(folder / "interactions.csv", index=False)
    result = score_followers(folder, None, events_bundle, "4")
    assert result.as_of == pd.Timestamp("2026-03-11", tz="UTC")


def test_a_stray_event_long_before_is_left_out_as_training_leaves_it(
    folder, events_bundle, interactions, monkeypatch
):
    import serving.batch

    many = _many(interactions)
    stray = interactions[interactions["follower_id"] == "b"].iloc[:1]
    stray = stray.assign(occurred_at=pd.Timestamp("2024-06-01", tz="UTC"), event_type="click")
    pd.concat([many, stray]).to_csv(folder / "interactions.csv", index=False)
    seen = []
    build = serving.batch.build_follower_features
    monkeypatch.setattr(
        serving.batch,
        "build_follower_features",
        lambda events, *args: seen.append(events) or build(events, *args),
    )
    score_followers(folder, "2026-03-01", events_bundle, "4")
    # A click 21 months before the rest would be b's last click and first event otherwise.
    assert seen[0]["occurred_at"].min() > pd.Timestamp("2025-01-01", tz="UTC")
    assert len(seen[0]) == len(many)


def test_chunks_and_a_cluster_score_like_one_pass_with_the_same_drift(
    dask_cluster, folder, events_bundle
):
    from serving.batch import followers_to_score, score_chunks
    from serving.model.drift import DriftCounts, Reference

    batch = followers_to_score(folder, "2026-03-01")
    whole = score_followers(folder, "2026-03-01", events_bundle, "4").scores
    (features,) = batch.feature_chunks(DEFAULT_FEATURE_CONFIG, len(batch))
    matrix = events_bundle.model_input(features)
    reference = Reference.of(matrix, events_bundle.predict_input(matrix), features.columns)
    counted = {"chunks": DriftCounts(reference), "cluster": DriftCounts(reference)}
    chunked = pd.concat(score_chunks(batch, events_bundle, "4", 3, 1, counted["chunks"]))
    spread = score_chunks(batch, events_bundle, "4", 3, 1, counted["cluster"], dask_cluster)
    for scores in (chunked, pd.concat(spread)):
        pd.testing.assert_frame_equal(scores.reset_index(drop=True), whole, check_exact=True)
    assert counted["chunks"].report() == counted["cluster"].report()
    assert counted["chunks"].rows == len(whole) == 2  # one follower a chunk
