"""The model registry: register versions, move the champion and challenger aliases, roll back."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from serving.model.spec import ModelSpec

logger = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
# Registered-model tag listing past champions, oldest first, so rollback knows where to go.
HISTORY_TAG = "champion_history"
# Readiness floor: below this test ROC AUC a model ranks too close to chance to serve.
MIN_ROC_AUC = 0.6


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


def champion_version(model_name: str) -> str | None:
    """The version the champion alias points at, or None when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        return str(_client().get_model_version_by_alias(model_name, CHAMPION).version)
    except MlflowException:
        return None


def _history(client: Any, model_name: str) -> list[str]:
    tags = client.get_registered_model(model_name).tags
    return [v for v in tags.get(HISTORY_TAG, "").split(",") if v]


def set_challenger(model_name: str, version: str) -> None:
    """Point the challenger alias at `version`."""
    _client().set_registered_model_alias(model_name, CHALLENGER, version)


def promote(model_name: str, version: str) -> None:
    """Make `version` the champion and remember it for rollback."""
    client = _client()
    client.get_model_version(model_name, version)  # raises a clear error for a missing version
    client.set_registered_model_alias(model_name, CHAMPION, version)
    history = [v for v in _history(client, model_name) if v != version] + [version]
    client.set_registered_model_tag(model_name, HISTORY_TAG, ",".join(history))
    logger.info("%s version %s is now champion", model_name, version)


def rollback(model_name: str) -> str:
    """Give the champion alias back to the previous champion; return that version."""
    client = _client()
    history = _history(client, model_name)
    current = champion_version(model_name)
    if current in history:
        history = history[: history.index(current)]
    if not history:
        raise ValueError(f"{model_name}: no earlier champion to roll back to")
    previous = history[-1]
    client.set_registered_model_alias(model_name, CHAMPION, previous)
    client.set_registered_model_tag(model_name, HISTORY_TAG, ",".join(history))
    return previous


def readiness_floor(metrics: dict[str, float], min_roc_auc: float = MIN_ROC_AUC) -> str | None:
    """Why test metrics are not good enough to serve at all, or None when they are.

    The floor is absolute, so a first model (no champion to beat) is judged too: it must rank
    clearly better than chance and its probabilities must beat predicting the base rate for
    everyone, or scores would mislead more than they help.
    """
    if metrics["roc_auc"] < min_roc_auc:
        return f"readiness floor: test roc_auc {metrics['roc_auc']:.4f} < {min_roc_auc:.2f}"
    if metrics["log_loss"] >= metrics["log_loss_baseline"]:
        return (
            f"readiness floor: test log_loss {metrics['log_loss']:.4f} >= the constant "
            f"prediction's {metrics['log_loss_baseline']:.4f}"
        )
    return None


def decide_promotion(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    metric: str = "roc_auc",
    min_roc_auc: float = MIN_ROC_AUC,
) -> tuple[bool, str]:
    """Promote when the challenger passes the readiness floor and ties or beats the champion.

    Both metric dicts are test-period metrics (`training.evaluate.evaluate_scores`) on the same
    rows. The reason names the rule that decided.
    """
    failed = readiness_floor(challenger, min_roc_auc)
    if failed is not None:
        return False, f"not promoted: {failed}"
    if champion is None:
        return True, "passes the readiness floor; no champion yet"
    if challenger[metric] >= champion[metric]:
        return True, (
            f"test {metric} {challenger[metric]:.4f} >= champion's {champion[metric]:.4f} "
            "on the same test rows"
        )
    return False, (
        f"test {metric} {challenger[metric]:.4f} < champion's {champion[metric]:.4f} "
        "on the same test rows"
    )


def spec_mismatch(champion: ModelSpec, challenger: ModelSpec) -> str | None:
    """Why two models cannot be compared on the same test rows, or None when they can."""
    if champion.kind != challenger.kind:
        return f"is a {champion.kind}-mode model, this one a {challenger.kind}-mode model"
    part = challenger.inputs.mismatch(champion.inputs)  # type: ignore[arg-type]
    if part is not None:
        return part
    if champion.feature_version != challenger.feature_version:
        return (
            f"uses feature version {champion.feature_version} "
            f"(this one {challenger.feature_version})"
        )
    old, new = champion.feature_columns, challenger.feature_columns
    if old != new:
        added = [c for c in new if c not in old]
        dropped = [c for c in old if c not in new]
        return f"reads other columns (this one adds {added or 'none'}, drops {dropped or 'none'})"
    return None
