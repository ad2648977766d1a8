"""Calibration on seeded synthetic scores that are systematically too low (raw = true p ** 2)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import log_loss

from training.calibrate import EPSILON, ProbabilityCalibrator, apply_calibration
from training.evaluate import expected_calibration_error


def _miscalibrated(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true_p = rng.beta(2, 5, size=rows)
    labels = (rng.random(rows) < true_p).astype(np.int8)
    return true_p**2, labels


@pytest.fixture(scope="module")
def fit_rows() -> tuple[np.ndarray, np.ndarray]:
    return _miscalibrated(4000, seed=1)


@pytest.fixture(scope="module")
def held_rows() -> tuple[np.ndarray, np.ndarray]:
    return _miscalibrated(4000, seed=2)


@pytest.mark.parametrize("method", ["isotonic", "platt", "auto"])
def test_calibration_lowers_held_out_log_loss_and_ece(method, fit_rows, held_rows):
    calibrator = ProbabilityCalibrator(method).fit(*fit_rows)
    raw, labels = held_rows
    calibrated = calibrator.transform(raw)
    assert log_loss(labels, calibrated) < log_loss(labels, raw) - 0.02
    # About 0.02 is sampling noise with 400 rows a bin; the raw scores are off by over 0.1.
    assert expected_calibration_error(labels, raw) > 0.1
    assert expected_calibration_error(labels, calibrated) < 0.045


@pytest.mark.parametrize("method", ["isotonic", "platt", "auto"])
def test_output_is_monotone_and_clipped(method, fit_rows):
    calibrator = ProbabilityCalibrator(method).fit(*fit_rows)
    grid = np.linspace(0, 1, 2001)
    calibrated = calibrator.transform(grid)
    assert np.all(np.diff(calibrated) >= 0)
    assert calibrated.min() >= EPSILON and calibrated.max() <= 1 - EPSILON


@pytest.mark.parametrize("method", ["isotonic", "platt", "auto"])
def test_json_round_trip_transforms_identically(method, fit_rows, held_rows):
    calibrator = ProbabilityCalibrator(method).fit(*fit_rows)
    data = json.loads(json.dumps(calibrator.to_dict()))
    restored = ProbabilityCalibrator.from_dict(data)
    raw = held_rows[0]
    np.testing.assert_array_equal(restored.transform(raw), calibrator.transform(raw))
    np.testing.assert_array_equal(apply_calibration(data, raw), calibrator.transform(raw))
    assert restored.method_ == calibrator.method_


def test_auto_records_the_method_and_its_cross_validated_losses(fit_rows):
    calibrator = ProbabilityCalibrator("auto").fit(*fit_rows)
    assert calibrator.method_ in ("isotonic", "platt")
    assert set(calibrator.cv_log_loss_) == {"isotonic", "platt"}
    assert calibrator.method_ == min(calibrator.cv_log_loss_, key=calibrator.cv_log_loss_.get)
    assert calibrator.to_dict()["method"] == calibrator.method_


def test_auto_is_deterministic_with_a_seed(fit_rows):
    first = ProbabilityCalibrator("auto", seed=3).fit(*fit_rows).to_dict()
    assert ProbabilityCalibrator("auto", seed=3).fit(*fit_rows).to_dict() == first


def test_init_only_stores_arguments_and_fit_returns_self(fit_rows):
    calibrator = ProbabilityCalibrator("platt", folds=3, seed=7)
    assert vars(calibrator) == {"method": "platt", "folds": 3, "seed": 7}
    assert calibrator.fit(*fit_rows) is calibrator


def test_platt_never_reverses_the_ranking():
    raw = np.linspace(0.01, 0.99, 200)
    labels = (raw < 0.5).astype(int)  # scores that run the wrong way
    calibrated = ProbabilityCalibrator("platt").fit(raw, labels).transform(raw)
    assert np.all(np.diff(calibrated) >= 0)
    assert calibrated == pytest.approx(np.full(200, labels.mean()))


def test_unfitted_and_bad_method_raise(fit_rows):
    with pytest.raises(RuntimeError, match="not fitted"):
        ProbabilityCalibrator().transform(np.array([0.1]))
    with pytest.raises(ValueError, match="method"):
        ProbabilityCalibrator("beta").fit(*fit_rows)
