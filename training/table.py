"""Tabular mode: a lead table to an audited, calibrated LightGBM, logged, registered, promoted."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from features.tabular.phrases import TablePhrases
from features.tabular.spec import TABLE_VERSION
from serving.model.bundle import ModelSpec, ScoringBundle, make_score_cutoffs
from serving.model.encode import CategoryLevels
from training.boost import fit_model
from training.compare import MODEL_NAME, compare_and_report
from training.sources.table import (
    TableConfig,
    TableData,
    kept_columns,
    named_parts,
    prepare_table_data,
    score_table_baselines,
)
from training.table_fit import score_table, table_input, table_settings
from training.table_model import (
    log_run_inputs,
    log_table_model,
    promote_if_better,
    register_table_model,
)
from training.tracking import ensure_experiment

if TYPE_CHECKING:
    import lightgbm

    from training.tune import TuneResult

logger = logging.getLogger(__name__)

__all__ = ["TableConfig", "TableResult", "train_table"]


@dataclass(frozen=True)
class TableResult:
    """What a table training run produced and decided."""

    run_id: str
    version: str
    metrics: dict[str, float]
    promoted: bool
    reason: str
    baselines: dict[str, dict[str, float]]
    # Every column left out of the model with the reason, and the flagged ones kept by request.
    excluded: tuple[tuple[str, str], ...]
    kept: tuple[tuple[str, str], ...]
    rows: dict[str, int]
    # The study's summary when the settings were tuned (None: the fixed settings).
    tuning: TuneResult | None = None


def train_table(config: TableConfig) -> TableResult:
    """One full run on a lead table: audit, (tuning,) model, baselines, MLflow run, version,
    promotion.

    With `config.trials` > 0, an Optuna study (training.table_tune) chooses the LightGBM settings
    on rows carved from the fit part, and the model is refit with the best ones exactly like an
    untuned run. The test rows are only scored, after every choice is made.
    """
    import mlflow

    data = prepare_table_data(config)
    ensure_experiment(config.experiment)
    mlflow.set_experiment(config.experiment)
    with mlflow.start_run(run_name=f"{config.model_name}-table") as run:
        log_run_inputs(config, data)
        tuning = None
        if config.trials:
            from training.table_tune import tune_table

            tuning = tune_table(data, config, run.info.run_id)
            config = replace(config, lgbm_params=tuning.lgbm_params)
        # The settings the final model is trained with (after tuning: the best trial's).
        mlflow.log_params({f"lgbm_{key}": value for key, value in config.lgbm_params.items()})
        fit_rows, _, test_rows = data.parts
        levels = CategoryLevels(data.spec.categorical).fit(data.features.iloc[fit_rows]).levels_
        fit, stop = (table_input(data, levels, rows) for rows in data.parts[:2])
        booster, calibration = fit_model(table_settings(config, data, levels), fit, stop)
        logger.info("calibration: %s", calibration["method"])
        test = score_table(booster, calibration, table_input(data, levels, test_rows))
        metrics = test.metrics | {"best_iteration": float(booster.best_iteration)}
        mlflow.log_metrics({f"test_{name}": value for name, value in metrics.items()})
        baselines = _compare(config, data, booster, test.matrix, test.probabilities)
        spec = _make_spec(config, data, levels, calibration, metrics, test.probabilities)
        info = log_table_model(ScoringBundle(booster, spec), data.table.iloc[test_rows[:5]])
        version = register_table_model(config, info.model_uri, data, metrics)
        test_table, labels = data.table.iloc[test_rows], data.target[test_rows]
        promoted, reason = promote_if_better(config, version, spec, metrics, test_table, labels)
        mlflow.set_tags({"registered_version": version, "promotion": reason})
    return TableResult(
        run.info.run_id,
        version,
        metrics,
        promoted,
        reason,
        baselines,
        data.spec.excluded,
        kept_columns(data.audit),
        {name: len(rows) for name, rows in named_parts(data)},
        tuning,
    )


def _compare(
    config: TableConfig,
    data: TableData,
    booster: lightgbm.Booster,
    test_matrix: np.ndarray,
    probabilities: np.ndarray,
) -> dict[str, dict[str, float]]:
    if not config.baselines:
        return {}
    from training.report import shap_importance

    test_rows = data.parts[2]
    scored = {MODEL_NAME: probabilities} | score_table_baselines(data, config.seed)
    importance = shap_importance(booster, test_matrix, list(data.spec.features), seed=config.seed)
    excluded = [column for column, reason in data.spec.excluded if reason.startswith("leakage")]
    notes = {
        "Test": f"{len(test_rows):,} rows, a stratified random {config.test_share:.0%} held out "
        f"(seed {config.seed}); the table has no time column",
        "Baselines": "fitted on all non-test rows",
        "Left out by the leakage audit": ", ".join(excluded) or "nothing",
    }
    labels = data.target[test_rows]
    metrics = compare_and_report(labels, scored, importance, notes)
    return {
        name: values | {"accuracy": float(np.mean((scored[name] >= 0.5) == labels))}
        for name, values in metrics.items()
        if name != MODEL_NAME
    }


def _make_spec(
    config: TableConfig,
    data: TableData,
    levels: dict[str, list[str]],
    calibration: dict[str, Any],
    metrics: dict[str, float],
    probabilities: np.ndarray,
) -> ModelSpec:
    fit_rows = data.parts[0]
    phrases = TablePhrases(data.spec, levels).fit(
        data.table.iloc[fit_rows], data.features.iloc[fit_rows]
    )
    return ModelSpec(
        feature_version=TABLE_VERSION,
        feature_columns=list(data.spec.features),
        categorical_levels=levels,
        # Scores are percentiles among the held-out test leads.
        score_cutoffs=make_score_cutoffs(probabilities),
        horizon_days=0,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        mode="table",
        calibration=calibration,
        entity_key=data.spec.id_column,
        metrics=metrics,
        table=data.spec.to_dict(),
        placeholders=list(config.placeholders),
        phrases=phrases.to_dict(),
    )
