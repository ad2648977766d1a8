"""Baselines on a seeded synthetic audience whose conversions follow clicks, DMs and platform."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.schema import EVENT_POINTS, count_column
from training import baselines
from training.baselines import (
    POINTS_EVENTS,
    fit_default_lightgbm,
    fit_logistic,
    fit_points_baseline,
    points_score,
)

CATEGORICAL = ["platform"]
COLUMNS = [count_column(e, w) for e in POINTS_EVENTS for w in (7, 30)]
COLUMNS += ["follower_count", "platform"]


def _audience(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = {}
    for event in POINTS_EVENTS:
        month = rng.poisson(0.3 if event == "unfollow" else 1.5, size=rows)
        frame[count_column(event, 30)] = month.astype(np.int32)
        frame[count_column(event, 7)] = rng.binomial(month, 0.25).astype(np.int32)
    frame = pd.DataFrame(frame)
    frame["follower_count"] = np.where(rng.random(rows) < 0.2, np.nan, rng.lognormal(5, 1, rows))
    platform = rng.choice(["instagram", "linkedin", "x"], size=rows).astype(object)
    platform[rng.random(rows) < 0.1] = None
    frame["platform"] = pd.Series(platform, dtype="str")
    logit = -3.0 + 0.5 * frame["n_click_30d"] + 0.8 * frame["n_dm_7d"]
    logit += 1.0 * (frame["platform"] == "linkedin")
    frame["converted"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return frame


@pytest.fixture(scope="module")
def fit_frame() -> pd.DataFrame:
    return _audience(3000, seed=1)


@pytest.fixture(scope="module")
def test_frame() -> pd.DataFrame:
    return _audience(2000, seed=2)


def test_points_rule_on_one_hand_written_follower():
    follower = pd.DataFrame({column: [0] for column in COLUMNS[:-2]})
    follower["n_click_30d"] = 2  # one of them also in the last 7 days
    follower["n_click_7d"] = 1
    follower["n_dm_30d"] = 1
    follower["n_unfollow_30d"] = 1
    expected = 3 * EVENT_POINTS["click"] + EVENT_POINTS["dm"] + EVENT_POINTS["unfollow"]
    assert points_score(follower).tolist() == [expected]


def test_points_score_ranks_above_chance_without_fitting(test_frame):
    auc = roc_auc_score(test_frame["converted"], points_score(test_frame))
    assert auc > 0.58


def _check_scorer(scorer, test_frame: pd.DataFrame, floor: float) -> np.ndarray:
    probabilities = scorer.predict(test_frame)
    assert probabilities.shape == (len(test_frame),)
    assert np.all((probabilities > 0) & (probabilities < 1))
    assert roc_auc_score(test_frame["converted"], probabilities) > floor
    return probabilities


def test_points_baseline_gives_calibrated_probabilities(fit_frame, test_frame):
    scorer = fit_points_baseline(fit_frame, seed=0)
    probabilities = _check_scorer(scorer, test_frame, floor=0.58)
    assert scorer.calibrator.method_ in ("isotonic", "platt")
    assert abs(probabilities.mean() - test_frame["converted"].mean()) < 0.03


def test_logistic_learns_the_signal_without_warnings(fit_frame, test_frame):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scorer = fit_logistic(fit_frame, COLUMNS, CATEGORICAL, seed=0)
        _check_scorer(scorer, test_frame, floor=0.7)  # oracle: 0.73


def test_default_lightgbm_learns_the_signal(fit_frame, test_frame):
    scorer = fit_default_lightgbm(fit_frame, COLUMNS, CATEGORICAL, seed=0)
    assert scorer.booster.num_trees() == 100
    _check_scorer(scorer, test_frame, floor=0.67)


@pytest.mark.parametrize(
    "fit",
    [
        lambda frame: fit_points_baseline(frame, seed=3),
        lambda frame: fit_logistic(frame, COLUMNS, CATEGORICAL, seed=3),
        lambda frame: fit_default_lightgbm(frame, COLUMNS, CATEGORICAL, seed=3),
    ],
    ids=["points", "logistic", "lightgbm"],
)
def test_baselines_are_deterministic_and_leave_input_untouched(fit, fit_frame, test_frame):
    before = fit_frame.copy()
    first = fit(fit_frame).predict(test_frame)
    np.testing.assert_array_equal(fit(fit_frame).predict(test_frame), first)
    pd.testing.assert_frame_equal(fit_frame, before)


def test_unseen_category_still_scores(fit_frame):
    newcomer = fit_frame.head(3).assign(platform=pd.Series(["myspace"] * 3, dtype="str"))
    for scorer in (
        fit_logistic(fit_frame, COLUMNS, CATEGORICAL),
        fit_default_lightgbm(fit_frame, COLUMNS, CATEGORICAL),
    ):
        assert np.isfinite(scorer.predict(newcomer)).all()


def test_predicting_in_slices_changes_no_probability(fit_frame, test_frame, monkeypatch):
    scorers = [
        fit_logistic(fit_frame, COLUMNS, CATEGORICAL, seed=0),
        fit_default_lightgbm(fit_frame, COLUMNS, CATEGORICAL, seed=0),
    ]
    whole = [scorer.predict(test_frame) for scorer in scorers]
    monkeypatch.setattr(baselines, "PREDICT_SLICE", 97)
    assert len(test_frame) > 5 * 97
    logistic, lightgbm = (scorer.predict(test_frame) for scorer in scorers)
    # The matrix product of a smaller block may round the last bit differently.
    np.testing.assert_allclose(logistic, whole[0], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(lightgbm, whole[1])
