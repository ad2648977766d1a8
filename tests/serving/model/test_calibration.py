"""Applying a stored calibration: isotonic and Platt curves, clipped, monotone, NumPy alone."""

from __future__ import annotations

import numpy as np
import pytest

from serving.model.calibration import EPSILON, apply_calibration, logit

ISOTONIC = {"method": "isotonic", "x": [0.1, 0.3, 0.6, 0.9], "y": [0.05, 0.2, 0.2, 0.7]}
PLATT = {"method": "platt", "a": 1.7, "b": -0.4}


def test_isotonic_interpolates_linearly_between_thresholds():
    raw = np.linspace(0.1, 0.9, 81)
    expected = np.interp(raw, ISOTONIC["x"], ISOTONIC["y"])
    np.testing.assert_allclose(apply_calibration(ISOTONIC, raw), expected)
    # Half-way between the first two thresholds is half-way between their values.
    assert apply_calibration(ISOTONIC, np.array([0.2]))[0] == pytest.approx(0.125)


def test_isotonic_is_constant_beyond_the_end_points():
    below = apply_calibration(ISOTONIC, np.array([0.0, 0.05, 0.1]))
    above = apply_calibration(ISOTONIC, np.array([0.9, 0.95, 1.0]))
    assert below.tolist() == [ISOTONIC["y"][0]] * 3
    assert above.tolist() == [ISOTONIC["y"][-1]] * 3


def test_platt_is_the_logistic_of_a_scaled_logit():
    raw = np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    log_odds = np.log(raw / (1 - raw))
    expected = 1 / (1 + np.exp(-(PLATT["a"] * log_odds + PLATT["b"])))
    np.testing.assert_allclose(apply_calibration(PLATT, raw), expected, rtol=1e-12)
    # At raw 0.5 the logit is 0, so only the intercept is left.
    assert apply_calibration(PLATT, np.array([0.5]))[0] == pytest.approx(1 / (1 + np.exp(0.4)))


@pytest.mark.parametrize(
    "params",
    [
        ISOTONIC,
        PLATT,
        {"method": "isotonic", "x": [0.0, 1.0], "y": [0.0, 1.0]},
        {"method": "platt", "a": 40.0, "b": 0.0},
    ],
)
def test_output_is_clipped_and_monotone_in_raw(params: dict):
    raw = np.linspace(0.0, 1.0, 2001)
    calibrated = apply_calibration(params, raw)
    assert calibrated.dtype == np.float64 and calibrated.shape == raw.shape
    assert calibrated.min() >= EPSILON and calibrated.max() <= 1 - EPSILON
    assert np.all(np.diff(calibrated) >= 0)


def test_an_identity_curve_is_clipped_at_both_ends():
    identity = {"method": "isotonic", "x": [0.0, 1.0], "y": [0.0, 1.0]}
    assert apply_calibration(identity, np.array([0.0, 1.0])).tolist() == [EPSILON, 1 - EPSILON]
    steep = {"method": "platt", "a": 40.0, "b": 0.0}
    ends = apply_calibration(steep, np.array([0.0, 1.0]))
    assert ends[0] == EPSILON and ends[1] == 1 - EPSILON


def test_lists_are_accepted_as_raw_probabilities():
    np.testing.assert_array_equal(
        apply_calibration(PLATT, [0.2, 0.4]), apply_calibration(PLATT, np.array([0.2, 0.4]))
    )


def test_an_unknown_method_is_named():
    with pytest.raises(ValueError, match="unknown calibration method 'beta'"):
        apply_calibration({"method": "beta", "a": 1.0}, np.array([0.5]))


def test_logit_is_finite_at_zero_and_one():
    values = logit(np.array([0.0, 0.5, 1.0]))
    assert np.all(np.isfinite(values))
    assert values[1] == 0.0
    assert values[0] == pytest.approx(np.log(EPSILON / (1 - EPSILON)))
    assert values[2] == pytest.approx(-values[0])


def test_logit_inverts_the_logistic_inside_the_clip():
    probabilities = np.array([0.001, 0.25, 0.75, 0.999])
    np.testing.assert_allclose(1 / (1 + np.exp(-logit(probabilities))), probabilities)
