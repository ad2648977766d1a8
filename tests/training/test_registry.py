"""Promotion rules: the readiness floor first, then the champion on the same test rows."""

from __future__ import annotations

import pytest

from training.registry import MIN_ROC_AUC, decide_promotion, readiness_floor


def _metrics(roc_auc: float, log_loss: float, baseline: float = 0.15) -> dict[str, float]:
    return {"roc_auc": roc_auc, "log_loss": log_loss, "log_loss_baseline": baseline}


def test_a_good_first_model_is_promoted():
    promoted, reason = decide_promotion(_metrics(0.8, 0.12), None)
    assert promoted and reason == "passes the readiness floor; no champion yet"


@pytest.mark.parametrize("champion", [None, _metrics(0.5, 0.2)])
def test_ranking_close_to_chance_fails_the_floor_even_without_a_better_champion(champion):
    promoted, reason = decide_promotion(_metrics(0.59, 0.12), champion)
    assert not promoted
    assert reason == "not promoted: readiness floor: test roc_auc 0.5900 < 0.60"


@pytest.mark.parametrize("log_loss", [0.15, 0.16])
def test_probabilities_no_better_than_the_base_rate_fail_the_floor(log_loss):
    promoted, reason = decide_promotion(_metrics(0.9, log_loss), None)
    assert not promoted
    assert (
        "readiness floor: test log_loss" in reason
        and ">= the constant prediction's 0.1500" in reason
    )


def test_the_floor_is_inclusive_at_the_minimum_auc():
    assert readiness_floor(_metrics(MIN_ROC_AUC, 0.149)) is None
    assert readiness_floor(_metrics(0.7, 0.1), min_roc_auc=0.75) is not None


def test_the_champion_decides_once_the_floor_is_passed():
    champion = _metrics(0.80, 0.11)
    promoted, reason = decide_promotion(_metrics(0.80, 0.12), champion)
    assert promoted and reason.startswith("test roc_auc 0.8000 >= champion's 0.8000")
    promoted, reason = decide_promotion(_metrics(0.79, 0.10), champion)
    assert not promoted and reason.startswith("test roc_auc 0.7900 < champion's 0.8000")
    assert reason.endswith("on the same test rows")
