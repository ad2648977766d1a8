"""Probability calibration fitted in training, stored as plain JSON, applied with numpy alone."""

from __future__ import annotations

from typing import Any

import numpy as np

from serving.model.calibration import EPSILON, apply_calibration, logit

# Re-exported: the fitted form is applied by serving.model.calibration, which serving can import.
__all__ = ["EPSILON", "ProbabilityCalibrator", "apply_calibration", "cross_validated_log_loss"]

METHODS: tuple[str, ...] = ("isotonic", "platt")


def _fit_isotonic(raw: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    model.fit(raw, labels)
    return {
        "method": "isotonic",
        "x": [float(v) for v in model.X_thresholds_],
        "y": [float(v) for v in model.y_thresholds_],
    }


def _fit_platt(raw: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=np.inf, max_iter=1000).fit(logit(raw).reshape(-1, 1), labels)
    a, b = float(model.coef_[0, 0]), float(model.intercept_[0])
    if a < 0:
        # A falling curve would reverse the model's ranking: fall back to the base rate.
        rate = float(np.clip(labels.mean(), EPSILON, 1 - EPSILON))
        a, b = 0.0, float(np.log(rate / (1 - rate)))
    return {"method": "platt", "a": a, "b": b}


_FITTERS = {"isotonic": _fit_isotonic, "platt": _fit_platt}


def cross_validated_log_loss(
    raw: np.ndarray, labels: np.ndarray, method: str, folds: int = 5, seed: int = 0
) -> float:
    """Out-of-fold log loss of `method` under stratified, shuffled, seeded k-fold."""
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    folds = int(min(folds, np.bincount(labels.astype(np.int64)).min()))
    if folds < 2:
        raise ValueError("calibration needs at least two rows of each class")
    out_of_fold = np.empty(len(raw), dtype=float)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_rows in splitter.split(raw.reshape(-1, 1), labels):
        params = _FITTERS[method](raw[fit_rows], labels[fit_rows])
        out_of_fold[held_rows] = apply_calibration(params, raw[held_rows])
    return float(log_loss(labels, out_of_fold))


class ProbabilityCalibrator:
    """Maps raw model probabilities to calibrated ones with an isotonic or Platt curve.

    method: "isotonic" (a monotone step function, linear between its thresholds), "platt"
    (logistic regression on the logit of the raw probability) or "auto": the one of the two
    with the lower out-of-fold log loss on the fit data, by `folds`-fold stratified shuffled
    cross-validation seeded with `seed` (ties go to Platt, the simpler curve). The chosen one
    is then refitted on all the fit data. Follows the scikit-learn contract: `fit` sets
    `method_`, `params_` and, for "auto", `cv_log_loss_`.
    """

    def __init__(self, method: str = "auto", folds: int = 5, seed: int = 0):
        self.method = method
        self.folds = folds
        self.seed = seed

    def fit(self, raw_probabilities: np.ndarray, labels: np.ndarray) -> ProbabilityCalibrator:
        """Learn the curve from raw probabilities and 0/1 labels of the same rows."""
        raw = np.asarray(raw_probabilities, dtype=float)
        labels = np.asarray(labels, dtype=float)
        if self.method not in (*METHODS, "auto"):
            raise ValueError(f"method must be one of {(*METHODS, 'auto')}, got {self.method!r}")
        if raw.shape != labels.shape or raw.ndim != 1 or np.isnan(raw).any():
            raise ValueError("raw probabilities and labels must be 1-D, equal length, no NaN")
        if self.method == "auto":
            self.cv_log_loss_ = {
                method: cross_validated_log_loss(raw, labels, method, self.folds, self.seed)
                for method in ("platt", "isotonic")
            }
            self.method_ = min(self.cv_log_loss_, key=self.cv_log_loss_.__getitem__)
        else:
            self.method_ = self.method
        self.params_ = _FITTERS[self.method_](raw, labels)
        return self

    def _fitted_params(self) -> dict[str, Any]:
        if not hasattr(self, "params_"):
            raise RuntimeError("ProbabilityCalibrator is not fitted yet: call fit first")
        return self.params_

    def transform(self, raw_probabilities: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, one per raw probability."""
        return apply_calibration(self._fitted_params(), raw_probabilities)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (for the model spec): the fitted curve and how it was chosen."""
        data = dict(self._fitted_params())
        if hasattr(self, "cv_log_loss_"):
            data["cv_log_loss"] = dict(self.cv_log_loss_)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbabilityCalibrator:
        """Inverse of `to_dict`: a fitted calibrator that transforms exactly as the original."""
        calibrator = cls(method=data["method"])
        calibrator.method_ = data["method"]
        calibrator.params_ = {k: v for k, v in data.items() if k != "cv_log_loss"}
        if "cv_log_loss" in data:
            calibrator.cv_log_loss_ = dict(data["cv_log_loss"])
        return calibrator
