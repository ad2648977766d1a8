"""Training settings: one frozen run config with its data source, defaults in code, flags on top.

Kept free of heavy imports: the command line reads its defaults from here at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from training.sources.base import SourceSettings

DEFAULT_MODEL_NAME = "lead-scorer"
DEFAULT_EXPERIMENT = "leadscore"
# What tuning can optimise on the judged rows (training.tune): lower log loss, higher PR AUC.
TUNE_METRICS: dict[str, str] = {"log_loss": "minimize", "pr_auc": "maximize"}


def base_lgbm_params() -> dict[str, Any]:
    """LightGBM settings every source starts from; each source sets its tree size on top."""
    return {
        "objective": "binary",
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "verbosity": -1,
        "num_threads": 2,
    }


@dataclass(frozen=True)
class Boosting:
    """How many trees at most, when to stop early, and the LightGBM settings."""

    lgbm_params: dict[str, Any]
    num_boost_round: int
    early_stopping_rounds: int


def check_tuning(trials: int, tune_metric: str) -> None:
    """Raise a clear error for a negative trial count or a metric Optuna cannot optimise."""
    if trials < 0:
        raise ValueError(f"trials must be 0 or more, got {trials}")
    if tune_metric not in TUNE_METRICS:
        raise ValueError(f"tune_metric must be one of {sorted(TUNE_METRICS)}: {tune_metric!r}")


@dataclass(frozen=True)
class RunConfig:
    """Settings of one training run on any data source.

    `source` says where the rows come from and how they are split (training.sources). The
    boosting settings left at None take the source's defaults (`source.boosting()`).
    """

    source: SourceSettings
    model_name: str = DEFAULT_MODEL_NAME
    experiment: str = DEFAULT_EXPERIMENT
    seed: int = 42
    lgbm_params: dict[str, Any] | None = None
    num_boost_round: int | None = None
    early_stopping_rounds: int | None = None
    # Fit the baselines (points rule, logistic regression, default LightGBM) beside the model.
    baselines: bool = True
    # Optuna trials over the LightGBM settings (0: train once with `lgbm_params` as they are).
    trials: int = 0
    # The judged rows' metric the trials optimise (a key of TUNE_METRICS).
    tune_metric: str = "log_loss"
    # A Dask scheduler ("local": a LocalCluster on 127.0.0.1) for the snapshots and the trees.
    dask: str | None = None

    def __post_init__(self) -> None:
        check_tuning(self.trials, self.tune_metric)
        defaults = self.source.boosting()
        for name in (item.name for item in fields(Boosting)):
            if getattr(self, name) is None:
                object.__setattr__(self, name, getattr(defaults, name))

    @property
    def boosting(self) -> Boosting:
        """The boosting settings of this run, the source's defaults filled in."""
        return Boosting(
            dict(self.lgbm_params or {}),
            int(self.num_boost_round or 0),
            int(self.early_stopping_rounds or 0),
        )
