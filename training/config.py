"""Training settings: one frozen dataclass, defaults in code, command-line flags on top."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from features.events.mapping import EventLogMapping
from features.schema import DEFAULT_FEATURE_CONFIG, FeatureConfig

DEFAULT_MODEL_NAME = "lead-scorer"
DEFAULT_EXPERIMENT = "leadscore"
# What tuning can optimise on the validation rows (training.tune): lower log loss, higher PR AUC.
TUNE_METRICS: dict[str, str] = {"log_loss": "minimize", "pr_auc": "maximize"}


def default_lgbm_params() -> dict[str, Any]:
    """LightGBM settings that suit tens to hundreds of thousands of rows of count features."""
    return {
        "objective": "binary",
        "learning_rate": 0.05,
        # Small, well-regularised trees: conversions are rare and followers drift over time.
        "num_leaves": 7,
        "min_data_in_leaf": 200,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 10.0,
        "verbosity": -1,
        "num_threads": 2,
    }


def check_tuning(trials: int, tune_metric: str) -> None:
    """Raise a clear error for a negative trial count or a metric Optuna cannot optimise."""
    if trials < 0:
        raise ValueError(f"trials must be 0 or more, got {trials}")
    if tune_metric not in TUNE_METRICS:
        raise ValueError(f"tune_metric must be one of {sorted(TUNE_METRICS)}: {tune_metric!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run on an events data folder or a single events file."""

    data_dir: Path
    model_name: str = DEFAULT_MODEL_NAME
    experiment: str = DEFAULT_EXPERIMENT
    horizon_days: int = 28
    snapshot_every_days: int = 7
    # Snapshots start once the longest window is full, so a count means the same at every date
    # (None: the longest feature window).
    min_history_days: int | None = None
    # Validation (tuning, score cut-offs) and the later test period (headline metrics, promotion).
    n_valid_snapshots: int = 2
    n_test_snapshots: int = 2
    num_boost_round: int = 500
    early_stopping_rounds: int = 50
    seed: int = 42
    lgbm_params: dict[str, Any] = field(default_factory=default_lgbm_params)
    features: FeatureConfig = DEFAULT_FEATURE_CONFIG
    # Fit the points rule, logistic regression and default LightGBM beside the model.
    baselines: bool = True
    # How a foreign event log maps onto our tables (None: the data follows our contract).
    mapping: EventLogMapping | None = None
    # Optuna trials over the LightGBM settings (0: train once with `lgbm_params` as they are).
    trials: int = 0
    # Validation metric the trials optimise (a key of TUNE_METRICS).
    tune_metric: str = "log_loss"

    def __post_init__(self) -> None:
        check_tuning(self.trials, self.tune_metric)
