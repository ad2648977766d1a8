"""Applying a fitted probability calibration with NumPy alone: training fits, serving applies."""

from __future__ import annotations

from typing import Any

import numpy as np

# Calibrated probabilities stay strictly inside (0, 1), so log loss is always finite.
EPSILON = 1e-6


def logit(probabilities: np.ndarray) -> np.ndarray:
    """Log-odds, with probabilities kept inside (0, 1)."""
    clipped = np.clip(np.asarray(probabilities, dtype=float), EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


def apply_calibration(params: dict[str, Any], raw: np.ndarray) -> np.ndarray:
    """Calibrated probabilities of `raw` from a `to_dict()` form, using numpy alone.

    This is what serving needs; it is monotone non-decreasing in `raw` and clipped to
    [EPSILON, 1 - EPSILON].
    """
    raw = np.asarray(raw, dtype=float)
    if params["method"] == "isotonic":
        # np.interp is constant beyond the end points, as IsotonicRegression(out_of_bounds="clip").
        calibrated = np.interp(raw, params["x"], params["y"])
    elif params["method"] == "platt":
        calibrated = 1 / (1 + np.exp(-(params["a"] * logit(raw) + params["b"])))
    else:
        raise ValueError(f"unknown calibration method {params['method']!r}")
    return np.clip(calibrated, EPSILON, 1 - EPSILON)
