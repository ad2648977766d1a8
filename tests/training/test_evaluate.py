"""Metrics of a scored set on ten hand-checked rows."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluate import (
    calibration_table,
    evaluate_scores,
    expected_calibration_error,
    gains_table,
    top_k_lift_recall,
)

# Three positives in ten rows, probabilities falling from 0.9 to 0.05.
LABELS = np.array([1, 0, 1, 0, 0, 0, 1, 0, 0, 0])
PROBABILITIES = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])


def test_evaluate_scores_keeps_old_keys_and_adds_new_ones():
    metrics = evaluate_scores(LABELS, PROBABILITIES)
    assert list(metrics) == [
        "roc_auc", "pr_auc", "log_loss", "log_loss_baseline", "brier", "brier_baseline", "ece",
        "lift_top10", "recall_top10", "lift_top20", "recall_top20", "base_rate", "rows",
    ]  # fmt: skip
    # Positives at 0.9, 0.7 and 0.3 outrank 7, 6 and 3 of the 7 negatives.
    assert metrics["roc_auc"] == pytest.approx(16 / 21)
    assert metrics["base_rate"] == pytest.approx(0.3)
    assert metrics["rows"] == 10.0


def test_brier_and_its_baseline():
    metrics = evaluate_scores(LABELS, PROBABILITIES)
    # Squared errors: .01 .64 .09 .36 .25 .16 .49 .04 .01 .0025
    assert metrics["brier"] == pytest.approx(2.0525 / 10)
    # Constant 0.3: three positives at 0.49, seven negatives at 0.09.
    assert metrics["brier_baseline"] == pytest.approx((3 * 0.49 + 7 * 0.09) / 10)


def test_ece_with_one_row_per_bin_is_the_mean_absolute_error():
    assert evaluate_scores(LABELS, PROBABILITIES)["ece"] == pytest.approx(3.75 / 10)


def test_ece_with_five_bins_of_two():
    # Bins from the bottom: gaps .075, .25, .45, .15, .35, all of weight 1/5.
    assert expected_calibration_error(LABELS, PROBABILITIES, bins=5) == pytest.approx(1.275 / 5)


def test_top_k_lift_and_recall():
    metrics = evaluate_scores(LABELS, PROBABILITIES)
    # Top 10% is the single row at 0.9 (a positive); top 20% adds the negative at 0.8.
    assert metrics["lift_top10"] == pytest.approx(1 / 0.3)
    assert metrics["recall_top10"] == pytest.approx(1 / 3)
    assert metrics["lift_top20"] == pytest.approx(0.5 / 0.3)
    assert metrics["recall_top20"] == pytest.approx(1 / 3)


def test_top_k_rounds_the_row_count_up():
    # 15% of 10 rows is 1.5 rows: the top two count.
    assert top_k_lift_recall(LABELS, PROBABILITIES, 0.15) == pytest.approx((0.5 / 0.3, 1 / 3))


def test_gains_table_by_fifths():
    table = gains_table(LABELS, PROBABILITIES, bins=5)
    assert list(table.columns) == [
        "decile", "rows", "positives", "rate", "cumulative_recall", "lift", "cumulative_lift",
    ]  # fmt: skip
    assert table["decile"].tolist() == [1, 2, 3, 4, 5]
    assert table["rows"].tolist() == [2, 2, 2, 2, 2]
    assert table["positives"].tolist() == [1, 1, 0, 1, 0]
    assert table["rate"].tolist() == pytest.approx([0.5, 0.5, 0.0, 0.5, 0.0])
    assert table["cumulative_recall"].tolist() == pytest.approx([1 / 3, 2 / 3, 2 / 3, 1, 1])
    assert table["lift"].tolist() == pytest.approx([5 / 3, 5 / 3, 0, 5 / 3, 0])
    assert table["cumulative_lift"].tolist() == pytest.approx([5 / 3, 5 / 3, 10 / 9, 1.25, 1])


def test_gains_table_bins_differ_by_at_most_one_row():
    labels = np.array([1, 0, 0, 1, 0, 0, 0])
    table = gains_table(labels, np.linspace(0.9, 0.1, 7), bins=3)
    assert table["rows"].tolist() == [3, 2, 2]
    assert table["positives"].tolist() == [1, 1, 0]


def test_calibration_table_by_fifths():
    table = calibration_table(LABELS, PROBABILITIES, bins=5)
    assert list(table.columns) == ["bin", "rows", "mean_predicted", "observed_rate"]
    assert table["rows"].tolist() == [2] * 5
    assert table["mean_predicted"].tolist() == pytest.approx([0.075, 0.25, 0.45, 0.65, 0.85])
    assert table["observed_rate"].tolist() == pytest.approx([0, 0.5, 0, 0.5, 0.5])


def test_single_class_is_rejected():
    with pytest.raises(ValueError, match="single class"):
        evaluate_scores(np.zeros(4), np.full(4, 0.2))


def test_inputs_are_left_untouched():
    probabilities = PROBABILITIES.copy()
    evaluate_scores(LABELS, probabilities)
    gains_table(LABELS, probabilities)
    np.testing.assert_array_equal(probabilities, PROBABILITIES)
