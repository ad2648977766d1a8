"""One LightGBM fit for every source: names, categorical columns, early stopping, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from serving.model.calibration import apply_calibration
from training.boost import (
    STOP_SET,
    Labelled,
    boost_settings,
    booster_feature_names,
    fit_model,
    score_input,
    train_booster,
)
from training.config import Boosting

COLUMNS = ["Total Time Spent on Website", "Lead Source", "n_click_7d", "Lead Source"]
PARAMS = {"objective": "binary", "num_leaves": 7, "learning_rate": 0.2, "verbosity": -1}
PARAMS |= {"min_data_in_leaf": 10, "num_threads": 1}


def _rows(size: int, seed: int, signal: float = 1.0) -> Labelled:
    """Three columns (the middle one categorical with four levels coded 0..3) and labels."""
    rng = np.random.default_rng(seed)
    matrix = np.column_stack(
        [rng.normal(size=size), rng.integers(0, 4, size).astype(float), rng.poisson(2, size)]
    )
    log_odds = signal * (1.2 * matrix[:, 0] + 1.5 * (matrix[:, 1] == 2) - 1.0)
    labels = (rng.random(size) < 1 / (1 + np.exp(-log_odds))).astype(int)
    return Labelled(matrix, labels)


def _settings(rounds: int = 200, patience: int = 10, params: dict | None = None):
    boosting = Boosting(dict(params or PARAMS), rounds, patience)
    return boost_settings(boosting, 3, ["x", "source", "n_click_7d"], {"source": ["a", "b"]})


def test_names_become_ones_lightgbm_accepts_and_stay_unique():
    names = booster_feature_names(COLUMNS)
    assert names == ["Total_Time_Spent_on_Website", "Lead_Source", "n_click_7d", "Lead_Source_3"]
    assert booster_feature_names(["%%", "ok"]) == ["column", "ok"]
    assert booster_feature_names(["n_view_30d"]) == ["n_view_30d"]


def test_settings_mark_the_columns_with_levels_as_categorical():
    settings = _settings()
    assert settings.categorical == [1]
    assert settings.feature_names == ["x", "source", "n_click_7d"]
    assert (settings.seed, settings.num_boost_round, settings.early_stopping_rounds) == (3, 200, 10)


def test_the_categorical_column_is_split_on_as_a_category():
    booster = train_booster(_settings(), _rows(2000, 0), {STOP_SET: _rows(800, 1)})
    model = booster.dump_model()
    decisions = {
        node.get("decision_type")
        for tree in model["tree_info"]
        for node in _nodes(tree["tree_structure"])
        if node.get("split_feature") == 1
    }
    assert decisions == {"=="}  # numeric splits would be "<="
    assert model["feature_names"] == ["x", "source", "n_click_7d"]


def _nodes(node: dict):
    yield node
    for child in ("left_child", "right_child"):
        if child in node:
            yield from _nodes(node[child])


def test_stopping_keeps_the_best_round_on_the_stop_rows():
    # Stop rows whose labels are noise: the best round comes early and training stops soon after.
    noise = _rows(800, 2, signal=0.0)
    rounds: list[int] = []
    booster = train_booster(
        _settings(rounds=300, patience=5),
        _rows(2000, 0),
        {STOP_SET: noise},
        [lambda env: rounds.append(env.iteration + 1)],
    )
    assert 1 <= booster.best_iteration < 300
    assert max(rounds) == booster.best_iteration + 5  # five more rounds without a gain, then stop
    assert booster.current_iteration() == booster.best_iteration  # the trees after it are dropped


def test_the_same_settings_give_the_same_trees():
    fit, stop = _rows(1500, 0), _rows(600, 1)
    params = PARAMS | {"bagging_fraction": 0.7, "bagging_freq": 1, "feature_fraction": 0.7}
    first = train_booster(_settings(params=params), fit, {STOP_SET: stop})
    second = train_booster(_settings(params=params), fit, {STOP_SET: stop})
    assert first.model_to_string() == second.model_to_string()


def test_the_model_is_calibrated_on_the_stop_rows():
    fit, stop = _rows(2000, 0), _rows(1000, 1)
    booster, calibration = fit_model(_settings(), fit, stop)
    assert calibration["method"] in {"isotonic", "platt"}
    calibrated = apply_calibration(calibration, booster.predict(stop.matrix))
    # Calibrated on these rows, the mean probability matches their base rate.
    assert calibrated.mean() == pytest.approx(stop.labels.mean(), abs=0.02)


def test_scored_rows_carry_calibrated_probabilities_and_their_metrics():
    fit, stop, test = _rows(2000, 0), _rows(1000, 1), _rows(1000, 4)
    booster, calibration = fit_model(_settings(), fit, stop)
    scored = score_input(booster, calibration, test)
    expected = apply_calibration(calibration, booster.predict(test.matrix))
    np.testing.assert_array_equal(scored.probabilities, expected)
    assert scored.matrix is test.matrix
    assert scored.metrics["base_rate"] == pytest.approx(test.labels.mean())
    assert 0.7 < scored.metrics["roc_auc"] < 1.0
    assert scored.metrics["log_loss"] < scored.metrics["log_loss_baseline"]
    assert scored.metrics["uncalibrated_log_loss"] > 0
