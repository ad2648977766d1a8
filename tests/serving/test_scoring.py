"""Scoring feature frames: columns, order, scores by cut-offs, and reasons from TreeSHAP."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from features.catalogue import explain
from features.schema import FeatureConfig
from features.tabular.phrases import say_table_value
from features.tabular.spec import TabularSpec
from serving.model.bundle import ScoringBundle
from serving.model.encode import to_model_input
from serving.model.scores import make_score_cutoffs, score_from_probability, tier_from_score
from serving.model.spec import EventsInput, ModelSpec, TableInput
from serving.scoring import SCORE_COLUMNS, flatten_reasons, score_features

COLUMNS = ["n_click_7d", "n_view_30d", "days_since_last_event", "platform"]
LEVELS = {"platform": ["instagram", "x", "tiktok", "linkedin"]}
EXPECTED_COLUMNS = [
    "follower_id",
    "probability",
    "score",
    "tier",
    "reasons_up",
    "reasons_down",
    "model_version",
]


def _features(rows: int, seed: int, columns: list[str] = COLUMNS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = rng.exponential(12, rows).round(2)
    days[rng.random(rows) < 0.15] = np.nan
    values = {
        "clicks": rng.poisson(1.5, rows).astype(np.int32),
        "views": rng.poisson(8, rows).astype(np.int32),
        "days": days,
        "platform": pd.array(rng.choice([*LEVELS["platform"], None], rows), dtype="str"),
    }
    index = pd.Index([f"f{i:03d}" for i in rng.permutation(rows)], name="follower_id")
    return pd.DataFrame(dict(zip(columns, values.values(), strict=True)), index=index)


def _train(features: pd.DataFrame, columns: list[str], seed: int) -> lgb.Booster:
    rng = np.random.default_rng(seed)
    clicks, views, days, platform = (features[column] for column in columns)
    log_odds = -2.0 + 0.9 * clicks.to_numpy() + 0.05 * views.to_numpy()
    log_odds = log_odds - 0.06 * days.fillna(90).to_numpy() + 1.0 * (platform == "linkedin")
    labels = (rng.random(len(features)) < 1 / (1 + np.exp(-log_odds))).astype(int)
    matrix = to_model_input(features, columns, LEVELS)
    params = {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 10, "verbosity": -1}
    params |= {"learning_rate": 0.2, "num_threads": 1, "deterministic": True, "seed": 1}
    train_set = lgb.Dataset(matrix, label=labels, categorical_feature=[columns.index("platform")])
    return lgb.train(params, train_set, num_boost_round=30)


def _spec(columns: list[str], cutoffs: list[float], inputs) -> ModelSpec:
    return ModelSpec(
        "v2",
        list(columns),
        dict(LEVELS),
        cutoffs,
        "2026-03-01T00:00:00+00:00",
        inputs=inputs,
        calibration={"method": "platt", "a": 1.1, "b": -0.2},
    )


@pytest.fixture(scope="module")
def bundle() -> ScoringBundle:
    training = _features(900, seed=0)
    booster = _train(training, COLUMNS, seed=1)
    reference = booster.predict(to_model_input(_features(500, seed=2), COLUMNS, LEVELS))
    return ScoringBundle(booster, _spec(COLUMNS, make_score_cutoffs(reference), EventsInput(28)))


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return _features(120, seed=7)


def _check_reasons(
    scores: pd.DataFrame, features: pd.DataFrame, bundle: ScoringBundle, top: int, say
) -> None:
    """Each reason names a feature pushing that way, strongest first, as many as there can be."""
    columns = bundle.spec.feature_columns
    weights = bundle.contributions(bundle.model_input(features))[:, : len(columns)]
    values = features[columns].to_numpy(dtype=object)
    for row, (up, down) in enumerate(
        zip(scores["reasons_up"], scores["reasons_down"], strict=True)
    ):
        phrases = {say(column, values[row, i]): i for i, column in enumerate(columns)}
        assert len(phrases) == len(columns)  # every column says its value differently
        assert all(reason in phrases for reason in [*up, *down])
        pushed_up = [weights[row, phrases[reason]] for reason in up]
        pushed_down = [weights[row, phrases[reason]] for reason in down]
        assert all(weight > 0 for weight in pushed_up)
        assert all(weight < 0 for weight in pushed_down)
        assert pushed_up == sorted(pushed_up, reverse=True)
        assert pushed_down == sorted(pushed_down)
        assert len(up) == min(top, int((weights[row] > 0).sum()))
        assert len(down) == min(top, int((weights[row] < 0).sum()))


def test_columns_are_exactly_the_score_columns_in_order(bundle: ScoringBundle, rows):
    scores = score_features(rows, bundle, "7")
    assert list(scores.columns) == EXPECTED_COLUMNS
    assert list(SCORE_COLUMNS) == EXPECTED_COLUMNS
    assert len(scores) == len(rows)
    assert scores["model_version"].tolist() == ["7"] * len(rows)


def test_rows_keep_the_order_of_the_input_index(bundle: ScoringBundle, rows):
    shuffled = rows.iloc[np.random.default_rng(3).permutation(len(rows))]
    scores = score_features(shuffled, bundle, "7")
    assert scores["follower_id"].tolist() == shuffled.index.tolist()
    by_id = score_features(rows, bundle, "7").set_index("follower_id")
    np.testing.assert_array_equal(
        scores["probability"].to_numpy(), by_id.loc[shuffled.index, "probability"].to_numpy()
    )


def test_numeric_ids_come_out_as_text(bundle: ScoringBundle, rows):
    numbered = rows.iloc[:3].set_axis(pd.Index([10, 2, 33], name="follower_id"))
    assert score_features(numbered, bundle, "7")["follower_id"].tolist() == ["10", "2", "33"]


def test_probability_is_the_bundles_calibrated_probability(bundle: ScoringBundle, rows):
    scores = score_features(rows, bundle, "7")
    np.testing.assert_array_equal(scores["probability"].to_numpy(), bundle.predict_proba(rows))


def test_extra_and_reordered_columns_change_nothing(bundle: ScoringBundle, rows):
    scrambled = rows[COLUMNS[::-1]].assign(converted=1, note="ignored")
    pd.testing.assert_frame_equal(
        score_features(scrambled, bundle, "7"), score_features(rows, bundle, "7")
    )


def test_scores_and_tiers_follow_the_specs_cutoffs(bundle: ScoringBundle, rows):
    scores = score_features(rows, bundle, "7", reasons=0)
    expected = score_from_probability(bundle.predict_proba(rows), bundle.spec.score_cutoffs)
    assert scores["score"].tolist() == expected.tolist()
    assert scores["tier"].tolist() == tier_from_score(expected).tolist()
    assert scores["score"].between(1, 99).all()
    assert scores["score"].nunique() > 10  # the rows spread over the reference's percentiles
    tiers = dict(zip(scores["score"], scores["tier"], strict=True))
    assert all((tier == "A") == (score >= 90) for score, tier in tiers.items())
    assert all((tier == "D") == (score < 40) for score, tier in tiers.items())


@pytest.mark.parametrize("top", [1, 2, 3])
def test_reasons_push_the_way_they_say_in_catalogue_words(bundle: ScoringBundle, rows, top: int):
    scores = score_features(rows, bundle, "7", reasons=top)
    assert scores["reasons_up"].map(len).max() <= top
    assert scores["reasons_down"].map(len).max() <= top
    assert scores["reasons_up"].map(len).sum() > 0 and scores["reasons_down"].map(len).sum() > 0
    _check_reasons(scores, rows, bundle, top, explain)


def test_no_reasons_gives_empty_lists(bundle: ScoringBundle, rows):
    scores = score_features(rows, bundle, "7", reasons=0)
    assert scores["reasons_up"].tolist() == [[]] * len(rows)
    assert scores["reasons_down"].tolist() == [[]] * len(rows)
    with_reasons = score_features(rows, bundle, "7")
    pd.testing.assert_frame_equal(
        scores.drop(columns=["reasons_up", "reasons_down"]),
        with_reasons.drop(columns=["reasons_up", "reasons_down"]),
    )


def test_no_rows_give_an_empty_frame_with_the_same_columns(bundle: ScoringBundle, rows):
    scores = score_features(rows.iloc[:0], bundle, "7")
    assert list(scores.columns) == EXPECTED_COLUMNS and scores.empty


def test_reasons_are_said_with_the_models_own_windows():
    config = FeatureConfig((3, 14, 60))
    columns = ["n_click_3d", "n_view_14d", "days_since_last_event", "platform"]
    training = _features(600, seed=4, columns=columns)
    booster = _train(training, columns, seed=5)
    cutoffs = make_score_cutoffs(booster.predict(to_model_input(training, columns, LEVELS)))
    inputs = EventsInput(14, config.to_dict())
    bundle = ScoringBundle(booster, _spec(columns, cutoffs, inputs))
    rows = _features(60, seed=6, columns=columns)
    scores = score_features(rows, bundle, "1", reasons=4)
    _check_reasons(scores, rows, bundle, 4, lambda c, v: explain(c, v, config))
    said = [reason for reasons in scores["reasons_up"] for reason in reasons]
    assert any("in the last 3 days" in reason for reason in said)


def test_a_table_model_names_the_first_column_like_its_id(bundle: ScoringBundle, rows):
    table = TabularSpec(
        id_column="Lead ID",
        target="won",
        features=tuple(COLUMNS),
        categorical=("platform",),
        numeric=tuple(COLUMNS[:3]),
    )
    labels = {"platform": {level: level.title() for level in LEVELS["platform"]}}
    phrases = {"labels": labels, "quartiles": {column: [1.0, 5.0] for column in COLUMNS[:3]}}
    part = TableInput(table.to_dict(), [], phrases)
    table_bundle = ScoringBundle(bundle.booster, _spec(COLUMNS, bundle.spec.score_cutoffs, part))
    leads = rows.rename_axis("Lead ID")
    scores = score_features(leads, table_bundle, "3", reasons=2)
    assert list(scores.columns) == ["Lead ID", *EXPECTED_COLUMNS[1:]]
    assert scores["Lead ID"].tolist() == leads.index.tolist()
    np.testing.assert_array_equal(scores["probability"], bundle.predict_proba(rows))
    _check_reasons(scores, leads, table_bundle, 2, lambda c, v: say_table_value(c, v, phrases))


def test_flatten_reasons_joins_each_list_into_one_cell(bundle: ScoringBundle, rows):
    scores = score_features(rows, bundle, "7")
    flat = flatten_reasons(scores)
    assert flat["reasons_up"].tolist() == ["; ".join(r) for r in scores["reasons_up"]]
    assert flat["reasons_down"].tolist() == ["; ".join(r) for r in scores["reasons_down"]]
    pd.testing.assert_frame_equal(
        flat.drop(columns=["reasons_up", "reasons_down"]),
        scores.drop(columns=["reasons_up", "reasons_down"]),
    )
    assert isinstance(scores["reasons_up"].iloc[0], list)  # the scores themselves are unchanged


def test_flatten_reasons_by_hand():
    scores = pd.DataFrame(
        {"follower_id": ["a", "b"], "reasons_up": [["x", "y"], []], "reasons_down": [["z"], []]}
    )
    flat = flatten_reasons(scores)
    assert flat["reasons_up"].tolist() == ["x; y", ""]
    assert flat["reasons_down"].tolist() == ["z", ""]
    assert flatten_reasons(scores, " | ")["reasons_up"].tolist() == ["x | y", ""]


def test_a_phrase_is_never_a_reason_both_up_and_down():
    from types import SimpleNamespace

    from serving.model.phrasing import Phrasebook
    from serving.scoring import explain

    columns = ["days_since_last_click", "days_since_last_dm", "n_view_7d", "n_like_7d"]
    # Two recencies say the same words when missing; their weights (+0.5, -0.2) net to +0.3.
    weights = np.array([[0.5, -0.2, -0.4, 0.1, 0.0]])
    said = {"days_since_last_click": "no high-intent action yet",
            "days_since_last_dm": "no high-intent action yet"}  # fmt: skip
    bundle = SimpleNamespace(
        phrasebook=Phrasebook(lambda column, value: said.get(column, f"{column}={value}"), columns),
        contributions=lambda matrix: weights,
    )
    values = [np.array([value]) for value in (np.nan, np.nan, 4.0, 1.0)]
    up, down = explain(values, np.zeros((1, 4)), bundle, top=3)
    assert up == [["no high-intent action yet", "n_like_7d=1.0"]]
    assert down == [["n_view_7d=4.0"]]


def test_phrases_are_remembered_and_every_kind_of_missing_is_one():
    from serving.model.phrasing import NotSent, Phrasebook

    calls: list[object] = []

    def say(column: str, value: object) -> str:
        calls.append(value)
        return f"{column}: {'missing' if pd.isna(value) else value}"

    book = Phrasebook(say, ["a", "b"])
    assert book(0, 3) == book(0, 3.0) == "a: 3" and book(1, 3) == "b: 3"
    assert book(0, None) == book(0, np.nan) == book(0, pd.NA) == "a: missing"
    assert len(calls) == 3  # a: 3, b: 3, a: missing
    assert book(0, NotSent("a: not sent", 0.0)) == "a: not sent" and len(calls) == 3
