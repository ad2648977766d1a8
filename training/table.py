"""Tabular mode: a lead table to an audited, calibrated LightGBM, logged, registered, promoted."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from features.bundle import ModelSpec, ScoringBundle, make_score_cutoffs
from features.calibration import apply_calibration
from features.encode import CategoryLevels, to_model_input
from features.table_phrases import TablePhrases
from features.tabular import TABLE_VERSION
from training.compare import MODEL_NAME, compare_and_report
from training.evaluate import evaluate_scores
from training.table_data import (
    TableConfig,
    TableData,
    kept_columns,
    named_parts,
    prepare_table_data,
    score_table_baselines,
)
from training.table_model import (
    log_run_inputs,
    log_table_model,
    promote_if_better,
    register_table_model,
)
from training.tracking import ensure_experiment

if TYPE_CHECKING:
    import lightgbm

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


def train_table(config: TableConfig) -> TableResult:
    """One full run on a lead table: audit, model, baselines, MLflow run, version, promotion."""
    import mlflow

    data = prepare_table_data(config)
    ensure_experiment(config.experiment)
    mlflow.set_experiment(config.experiment)
    with mlflow.start_run(run_name=f"{config.model_name}-table") as run:
        log_run_inputs(config, data)
        fit_rows, valid_rows, test_rows = data.parts
        columns = list(data.spec.features)
        levels = CategoryLevels(data.spec.categorical).fit(data.features.iloc[fit_rows]).levels_
        booster = fit_table_booster(data, levels, config)
        calibration = _fit_calibration(booster, data, levels, config.seed)
        test_matrix = to_model_input(data.features.iloc[test_rows], columns, levels)
        raw = booster.predict(test_matrix)
        probabilities = apply_calibration(calibration, raw)
        metrics = _test_metrics(data.target[test_rows], raw, probabilities)
        metrics["best_iteration"] = float(booster.best_iteration)
        mlflow.log_metrics({f"test_{name}": value for name, value in metrics.items()})
        baselines = _compare(config, data, booster, test_matrix, probabilities)
        spec = _make_spec(config, data, levels, calibration, metrics, probabilities)
        bundle = ScoringBundle(booster, spec)
        info = log_table_model(bundle, data.table.iloc[test_rows[:5]])
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
    )


def fit_table_booster(
    data: TableData, levels: dict[str, list[str]], config: TableConfig
) -> lightgbm.Booster:
    """LightGBM on the fit rows, categoricals native, stopped early on the valid rows."""
    import lightgbm as lgb

    columns = list(data.spec.features)
    categorical = [i for i, column in enumerate(columns) if column in levels]
    names = booster_feature_names(columns)

    def dataset(rows: np.ndarray, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        return lgb.Dataset(
            to_model_input(data.features.iloc[rows], columns, levels),
            label=data.target[rows],
            feature_name=names,
            categorical_feature=categorical,
            reference=reference,
        )

    fit_rows, valid_rows, _ = data.parts
    fit = dataset(fit_rows)
    params = {**config.lgbm_params, "seed": config.seed, "deterministic": True}
    return lgb.train(
        params,
        fit,
        num_boost_round=config.num_boost_round,
        valid_sets=[dataset(valid_rows, reference=fit)],
        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
    )


def booster_feature_names(columns: Sequence[str]) -> list[str]:
    """Column names LightGBM accepts (letters, digits, _), unique; the spec keeps the originals."""
    names: list[str] = []
    for column in columns:
        name = re.sub(r"[^0-9A-Za-z_]+", "_", column).strip("_") or "column"
        names.append(name if name not in names else f"{name}_{len(names)}")
    return names


def _fit_calibration(
    booster: lightgbm.Booster, data: TableData, levels: dict[str, list[str]], seed: int
) -> dict[str, Any]:
    """Isotonic or Platt, by cross-validated log loss, on the early-stopping rows."""
    from training.calibrate import ProbabilityCalibrator

    _, valid_rows, _ = data.parts
    matrix = to_model_input(data.features.iloc[valid_rows], data.spec.features, levels)
    calibrator = ProbabilityCalibrator("auto", seed=seed)
    calibrator.fit(booster.predict(matrix), data.target[valid_rows])
    logger.info("calibration: %s", calibrator.method_)
    return calibrator.to_dict()


def _test_metrics(
    labels: np.ndarray, raw: np.ndarray, probabilities: np.ndarray
) -> dict[str, float]:
    metrics = evaluate_scores(labels, probabilities)
    metrics["uncalibrated_log_loss"] = evaluate_scores(labels, raw)["log_loss"]
    # Accuracy at 0.5, only to compare with published results on the same data.
    metrics["accuracy"] = float(np.mean((probabilities >= 0.5) == labels))
    return metrics


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
