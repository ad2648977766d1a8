"""The model bundle: saved and loaded back whole, found in MLflow folders, scoring calibrated."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from serving.model.bundle import (
    BOOSTER_FILE,
    MLFLOW_BUNDLE,
    SMALL_BATCH_ROWS,
    SPEC_FILE,
    ScoringBundle,
    load_bundle,
    load_spec,
    save_bundle,
)
from serving.model.calibration import apply_calibration
from serving.model.encode import to_model_input
from serving.model.scores import make_score_cutoffs
from serving.model.spec import EventsInput, ModelSpec

COLUMNS = ["n_click_7d", "days_since_last_event", "platform"]
LEVELS = {"platform": ["instagram", "x", "tiktok"]}
CALIBRATION = {"method": "platt", "a": 0.8, "b": -0.3}


def _features(rows: int, seed: int) -> pd.DataFrame:
    """Synthetic feature rows: counts, recencies with gaps, platforms with unseen ones."""
    rng = np.random.default_rng(seed)
    days = rng.exponential(10, rows)
    days[rng.random(rows) < 0.2] = np.nan
    platform = rng.choice(["instagram", "x", "tiktok", "myspace", None], rows)
    return pd.DataFrame(
        {
            "n_click_7d": rng.poisson(2, rows).astype(np.int32),
            "days_since_last_event": days,
            "platform": pd.array(platform, dtype="str"),
        },
        index=pd.Index([f"f{i}" for i in range(rows)], name="follower_id"),
    )


def _labels(features: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    days = features["days_since_last_event"].fillna(60).to_numpy()
    log_odds = -1.0 + 0.6 * features["n_click_7d"].to_numpy() - 0.08 * days
    log_odds = log_odds + 1.2 * (features["platform"] == "tiktok").to_numpy()
    return (rng.random(len(features)) < 1 / (1 + np.exp(-log_odds))).astype(int)


def _spec(cutoffs: list[float], calibration: dict) -> ModelSpec:
    return ModelSpec(
        "v2",
        list(COLUMNS),
        {column: list(levels) for column, levels in LEVELS.items()},
        cutoffs,
        "2026-03-01T00:00:00+00:00",
        inputs=EventsInput(28),
        calibration=dict(calibration),
        metrics={"roc_auc": 0.75},
    )


@pytest.fixture(scope="module")
def bundle() -> ScoringBundle:
    """A tiny booster on the three columns, with a Platt calibration that visibly moves it."""
    features = _features(800, seed=0)
    matrix = to_model_input(features, COLUMNS, LEVELS)
    params = {"objective": "binary", "num_leaves": 7, "min_data_in_leaf": 10, "verbosity": -1}
    params |= {"learning_rate": 0.2, "num_threads": 1, "deterministic": True, "seed": 3}
    train_set = lgb.Dataset(matrix, label=_labels(features, seed=1), categorical_feature=[2])
    booster = lgb.train(params, train_set, num_boost_round=30)
    return ScoringBundle(booster, _spec(make_score_cutoffs(booster.predict(matrix)), CALIBRATION))


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return _features(700, seed=5)


def test_saved_bundle_loads_back_with_identical_predictions_and_spec(
    bundle: ScoringBundle, rows: pd.DataFrame, tmp_path: Path
):
    directory = save_bundle(bundle, tmp_path / "new" / "bundle")
    assert directory == tmp_path / "new" / "bundle"
    assert (directory / BOOSTER_FILE).is_file() and (directory / SPEC_FILE).is_file()
    loaded = load_bundle(directory)
    matrix = bundle.model_input(rows)
    np.testing.assert_array_equal(loaded.booster.predict(matrix), bundle.booster.predict(matrix))
    np.testing.assert_array_equal(loaded.predict_proba(rows), bundle.predict_proba(rows))
    assert loaded.spec.to_dict() == bundle.spec.to_dict()
    assert loaded.spec == bundle.spec


def test_a_bundle_folder_given_as_text_loads(bundle: ScoringBundle, tmp_path: Path):
    directory = save_bundle(bundle, tmp_path / "bundle")
    assert load_bundle(str(directory)).spec.to_dict() == bundle.spec.to_dict()


def test_the_bundle_is_found_inside_an_mlflow_model_folder(
    bundle: ScoringBundle, rows: pd.DataFrame, tmp_path: Path
):
    model = tmp_path / "model"
    save_bundle(bundle, model / MLFLOW_BUNDLE)
    (model / "MLmodel").write_text("flavors: {}\n")
    assert not (model / SPEC_FILE).exists()
    loaded = load_bundle(model)
    np.testing.assert_array_equal(loaded.predict_proba(rows), bundle.predict_proba(rows))
    assert load_spec(model).to_dict() == bundle.spec.to_dict()


def test_a_folder_without_a_spec_is_not_a_model(tmp_path: Path):
    (tmp_path / BOOSTER_FILE).write_text("not read")
    with pytest.raises(FileNotFoundError, match="spec.json"):
        load_bundle(tmp_path)
    with pytest.raises(FileNotFoundError, match="spec.json"):
        load_spec(tmp_path)


def test_a_spec_without_a_booster_is_an_incomplete_model(bundle: ScoringBundle, tmp_path: Path):
    directory = save_bundle(bundle, tmp_path / "bundle")
    (directory / BOOSTER_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="booster.txt"):
        load_bundle(directory)
    # The spec alone still says what the model reads.
    spec = load_spec(directory)
    assert spec.feature_columns == COLUMNS and spec.categorical_levels == LEVELS
    assert spec.kind == "events" and spec.inputs.horizon_days == 28


def test_the_model_input_codes_the_categorical_column(bundle: ScoringBundle):
    rows = pd.DataFrame(
        {"n_click_7d": [1, 0], "days_since_last_event": [2.5, np.nan], "platform": ["x", "bebo"]}
    )
    matrix = bundle.model_input(rows)
    assert matrix[0].tolist() == [1.0, 2.5, 1.0]
    assert matrix[1, 0] == 0.0 and np.isnan(matrix[1, 1]) and np.isnan(matrix[1, 2])
    assert bundle.prepare(rows) is rows  # feature rows are already what an events model reads


def test_probabilities_apply_the_stored_calibration(bundle: ScoringBundle, rows: pd.DataFrame):
    matrix = bundle.model_input(rows)
    raw = bundle.booster.predict(matrix)
    expected = apply_calibration(CALIBRATION, raw)
    np.testing.assert_array_equal(bundle.predict_proba(rows), expected)
    np.testing.assert_array_equal(bundle.predict_input(matrix), expected)
    assert np.abs(expected - raw).max() > 0.01  # the calibration does change the numbers


def test_without_calibration_the_raw_probabilities_are_returned(
    bundle: ScoringBundle, rows: pd.DataFrame
):
    plain = ScoringBundle(bundle.booster, _spec(bundle.spec.score_cutoffs, {}))
    matrix = plain.model_input(rows)
    np.testing.assert_array_equal(plain.predict_input(matrix), bundle.booster.predict(matrix))


def test_an_empty_matrix_gives_an_empty_float_array(bundle: ScoringBundle, rows: pd.DataFrame):
    empty = bundle.predict_input(np.empty((0, len(COLUMNS))))
    assert empty.shape == (0,) and empty.dtype == np.float64
    from_frame = bundle.predict_proba(rows.iloc[:0])
    assert from_frame.shape == (0,) and from_frame.dtype == np.float64


def test_small_and_big_batches_give_the_same_probabilities(
    bundle: ScoringBundle, rows: pd.DataFrame
):
    assert len(rows) > SMALL_BATCH_ROWS
    matrix = bundle.model_input(rows)
    whole = bundle.predict_input(matrix)
    chunk = SMALL_BATCH_ROWS // 3
    pieces = [bundle.predict_input(matrix[i : i + chunk]) for i in range(0, len(matrix), chunk)]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    singles = [bundle.predict_input(matrix[i : i + 1])[0] for i in range(5)]
    np.testing.assert_array_equal(singles, whole[:5])


@pytest.mark.parametrize("size", [3, SMALL_BATCH_ROWS + 50])
def test_contributions_add_up_to_the_raw_log_odds(
    bundle: ScoringBundle, rows: pd.DataFrame, size: int
):
    matrix = bundle.model_input(rows.iloc[:size])
    contributions = bundle.contributions(matrix)
    assert contributions.shape == (size, len(COLUMNS) + 1)  # one per column, bias last
    log_odds = bundle.booster.predict(matrix, raw_score=True)
    np.testing.assert_allclose(contributions.sum(axis=1), log_odds, rtol=1e-9, atol=1e-9)
    # The bias is the same for every row; the columns' parts are not all zero.
    assert np.unique(contributions[:, -1]).size == 1
    assert np.abs(contributions[:, :-1]).sum() > 0
