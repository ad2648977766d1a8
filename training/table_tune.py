"""Tuning a table run: trials train on most of the fit rows and are judged on the rest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from features.tabular.spec import stratified_split
from serving.model.encode import CategoryLevels
from training.boost import fit_model
from training.sources.table import TableConfig, TableData
from training.table_fit import score_table, table_input, table_settings
from training.tune import FitAndScore, TuneResult, log_tuning, tune


def split_for_tuning(data: TableData, config: TableConfig) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (trial fit, trial valid): a seeded stratified `tune_share` of the fit rows
    judges the trials, the rest trains them.

    Neither the early-stopping rows (they choose each trial's number of trees and fit its
    calibration) nor the test rows (only scored, after every choice) can judge a trial.
    """
    fit_rows = data.parts[0]
    kept, _, held = stratified_split(data.target[fit_rows], config.tune_share, 0, config.seed)
    return fit_rows[kept], fit_rows[held]


def trial_scorer(
    data: TableData, config: TableConfig, trial_fit: np.ndarray, trial_valid: np.ndarray
) -> FitAndScore:
    """What each trial runs: LightGBM on the trial-fit rows, stopped early and calibrated on the
    early-stopping rows as the final model is, judged calibrated on the trial-valid rows.

    Category levels come from the trial-fit rows only, so the trial-valid rows score as new
    leads do (a level the trees never saw is missing).
    """
    levels = CategoryLevels(data.spec.categorical).fit(data.features.iloc[trial_fit]).levels_
    # Each part's model input is built once, not once per trial.
    fit, judged = table_input(data, levels, trial_fit), table_input(data, levels, trial_valid)
    stop = table_input(data, levels, data.parts[1])

    def fit_and_score(
        params: dict[str, Any], callbacks: Sequence[Callable[..., None]]
    ) -> dict[str, float]:
        settings = table_settings(replace(config, lgbm_params=params), data, levels)
        booster, calibration = fit_model(settings, fit, stop, judged, callbacks)
        metrics = score_table(booster, calibration, judged).metrics
        return metrics | {"best_iteration": float(booster.best_iteration)}

    return fit_and_score


def tune_table(data: TableData, config: TableConfig, run_id: str) -> TuneResult:
    """Run a table run's study (inside its MLflow run `run_id`) and log the outcome there.

    The best settings are then refit like an untuned run (all fit rows, early stopping and
    calibration on the early-stopping rows): the trial-valid rows train the final model too.
    """
    import mlflow

    trial_fit, trial_valid = split_for_tuning(data, config)
    mlflow.log_params({"tune_fit_rows": len(trial_fit), "tune_valid_rows": len(trial_valid)})
    result = tune(
        trial_scorer(data, config, trial_fit, trial_valid),
        config.lgbm_params,
        model_name=config.model_name,
        run_id=run_id,
        trials=config.trials,
        metric=config.tune_metric,
        seed=config.seed,
    )
    log_tuning(result)
    return result
