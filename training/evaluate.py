"""Metrics for a scored set: ranking, probability quality, top-k lift, with the base rate beside."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

# Fractions of the highest-scored rows that lift and recall are reported for.
TOP_FRACTIONS: tuple[tuple[str, float], ...] = (("top10", 0.10), ("top20", 0.20))


def _check(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels, dtype=float)
    probabilities = np.asarray(probabilities, dtype=float)
    if labels.shape != probabilities.shape or labels.ndim != 1:
        raise ValueError("labels and probabilities must be 1-D arrays of the same length")
    if len(labels) == 0 or labels.min() == labels.max():
        raise ValueError("evaluation set has a single class: metrics are undefined")
    return labels, probabilities


def _equal_frequency_bins(probabilities: np.ndarray, bins: int, descending: bool) -> np.ndarray:
    """Bin number (0-based) of each row: rows sorted by probability, cut into `bins` runs.

    Run sizes differ by at most one. The sort is stable, so tied probabilities keep their input
    order and may straddle a bin edge.
    """
    keys = -probabilities if descending else probabilities
    order = np.argsort(keys, kind="stable")
    rows = len(probabilities)
    bin_of_rank = (np.arange(rows) * bins) // rows
    assigned = np.empty(rows, dtype=np.int64)
    assigned[order] = bin_of_rank
    return assigned


def _top_rows(probabilities: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the ceil(fraction * rows) highest probabilities (ties: input order)."""
    count = max(1, int(np.ceil(fraction * len(probabilities) - 1e-9)))
    return np.argsort(-probabilities, kind="stable")[:count]


def top_k_lift_recall(
    labels: np.ndarray, probabilities: np.ndarray, fraction: float
) -> tuple[float, float]:
    """Lift (positive rate in the top `fraction` over the base rate) and recall of that top."""
    labels, probabilities = _check(labels, probabilities)
    top = labels[_top_rows(probabilities, fraction)]
    return float(top.mean() / labels.mean()), float(top.sum() / labels.sum())


def calibration_table(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> pd.DataFrame:
    """Reliability table over `bins` equal-frequency bins, lowest probabilities first.

    Returns:
        One row per bin: bin (1-based), rows, mean_predicted, observed_rate.
    """
    labels, probabilities = _check(labels, probabilities)
    frame = pd.DataFrame(
        {
            "bin": _equal_frequency_bins(probabilities, bins, descending=False) + 1,
            "label": labels,
            "probability": probabilities,
        }
    )
    table = frame.groupby("bin").agg(
        rows=("label", "size"),
        mean_predicted=("probability", "mean"),
        observed_rate=("label", "mean"),
    )
    return table.reset_index()


def expected_calibration_error(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> float:
    """Row-weighted mean of |mean predicted - observed rate| over equal-frequency bins.

    Equal-frequency (not equal-width) bins, so every bin holds enough rows even when almost all
    probabilities are small, as they are for rare conversions.
    """
    table = calibration_table(labels, probabilities, bins)
    gaps = (table["mean_predicted"] - table["observed_rate"]).abs()
    return float((gaps * table["rows"]).sum() / table["rows"].sum())


def gains_table(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Cumulative gains by equal-frequency bin, highest probabilities first (decile 1).

    Returns:
        One row per bin: decile, rows, positives, rate, cumulative_recall (share of all
        positives in this bin and the ones above it), lift (rate over the base rate) and
        cumulative_lift (positive rate of this bin and the ones above, over the base rate).
    """
    labels, probabilities = _check(labels, probabilities)
    frame = pd.DataFrame(
        {"decile": _equal_frequency_bins(probabilities, bins, descending=True) + 1, "label": labels}
    )
    table = frame.groupby("decile").agg(rows=("label", "size"), positives=("label", "sum"))
    table["rate"] = table["positives"] / table["rows"]
    base_rate = labels.mean()
    table["cumulative_recall"] = table["positives"].cumsum() / labels.sum()
    table["lift"] = table["rate"] / base_rate
    table["cumulative_lift"] = table["positives"].cumsum() / table["rows"].cumsum() / base_rate
    table["positives"] = table["positives"].astype(np.int64)
    return table.reset_index()


def evaluate_scores(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """Ranking, probability quality and top-k metrics of one scored set, with the base rate.

    ece is over 10 equal-frequency bins (see `expected_calibration_error`); lift_topK and
    recall_topK are over the ceil(K% of rows) highest probabilities.
    """
    labels, raw = _check(labels, probabilities)
    probabilities = np.clip(raw, 1e-7, 1 - 1e-7)
    base_rate = float(labels.mean())
    constant = np.full(len(labels), base_rate)
    metrics = {
        "roc_auc": float(roc_auc_score(labels, probabilities)),
        "pr_auc": float(average_precision_score(labels, probabilities)),
        "log_loss": float(log_loss(labels, probabilities)),
        # A constant prediction at the base rate: the log loss (and Brier score) to beat.
        "log_loss_baseline": float(log_loss(labels, constant)),
        "brier": float(np.mean((raw - labels) ** 2)),
        "brier_baseline": float(np.mean((constant - labels) ** 2)),
        "ece": expected_calibration_error(labels, raw),
    }
    for name, fraction in TOP_FRACTIONS:
        lift, recall = top_k_lift_recall(labels, raw, fraction)
        metrics[f"lift_{name}"] = lift
        metrics[f"recall_{name}"] = recall
    return metrics | {"base_rate": base_rate, "rows": float(len(labels))}
