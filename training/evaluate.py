"""Metrics for a scored frame: ranking, probability quality, and the base rate beside them."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score


def evaluate_scores(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """ROC AUC, PR AUC, log loss, the positive rate and row count of one scored set."""
    labels = np.asarray(labels)
    probabilities = np.clip(np.asarray(probabilities, dtype=float), 1e-7, 1 - 1e-7)
    if labels.min() == labels.max():
        raise ValueError("evaluation set has a single class: metrics are undefined")
    base_rate = float(labels.mean())
    return {
        "roc_auc": float(roc_auc_score(labels, probabilities)),
        "pr_auc": float(average_precision_score(labels, probabilities)),
        "log_loss": float(log_loss(labels, probabilities)),
        # A constant prediction at the base rate: the log loss to beat.
        "log_loss_baseline": float(log_loss(labels, np.full(len(labels), base_rate))),
        "base_rate": base_rate,
        "rows": float(len(labels)),
    }
