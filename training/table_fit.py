"""One table model: LightGBM on row positions of a `TableData`, its calibration, its scores."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from features.calibration import apply_calibration
from features.encode import to_model_input
from training.evaluate import evaluate_scores
from training.table_data import TableConfig, TableData
from training.train import STOP_SET, VALID_SET, ScoredRows, only_on

if TYPE_CHECKING:
    import lightgbm

logger = logging.getLogger(__name__)


def fit_table_model(
    data: TableData,
    levels: dict[str, list[str]],
    config: TableConfig,
    fit_rows: np.ndarray | None = None,
    judged_rows: np.ndarray | None = None,
    callbacks: Sequence[Callable[..., None]] = (),
) -> tuple[lightgbm.Booster, dict[str, Any]]:
    """The booster (`fit_table_booster`) and its calibration on the early-stopping rows.

    Every model of a table run is made this way: an untuned run's, each tuning trial's and the
    refit with the best trial's settings.
    """
    booster = fit_table_booster(data, levels, config, fit_rows, judged_rows, callbacks)
    return booster, _fit_calibration(booster, data, levels, config.seed)


def fit_table_booster(
    data: TableData,
    levels: dict[str, list[str]],
    config: TableConfig,
    fit_rows: np.ndarray | None = None,
    judged_rows: np.ndarray | None = None,
    callbacks: Sequence[Callable[..., None]] = (),
) -> lightgbm.Booster:
    """LightGBM on the fit rows, categoricals native, stopped early on the valid (stop) rows.

    `fit_rows` (positions) replace the fit part: a tuning trial fits on some of it. With
    `judged_rows`, LightGBM also evaluates those rows every iteration (as VALID_SET) for
    `callbacks` (tuning prunes on them); early stopping never looks at them.
    """
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

    fit = dataset(data.parts[0] if fit_rows is None else fit_rows)
    watched = {STOP_SET: data.parts[1]}
    if judged_rows is not None:
        watched[VALID_SET] = judged_rows
    params = {**config.lgbm_params, "seed": config.seed, "deterministic": True}
    stopping = lgb.early_stopping(config.early_stopping_rounds, verbose=False)
    return lgb.train(
        params,
        fit,
        num_boost_round=config.num_boost_round,
        valid_sets=[dataset(rows, reference=fit) for rows in watched.values()],
        valid_names=list(watched),
        callbacks=[only_on(STOP_SET, stopping), *callbacks],
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
    # Debug: every tuning trial calibrates too; the run logs the final model's method.
    logger.debug("calibration: %s", calibrator.method_)
    return calibrator.to_dict()


def score_table_rows(
    booster: lightgbm.Booster,
    calibration: dict[str, Any],
    data: TableData,
    levels: dict[str, list[str]],
    rows: np.ndarray,
) -> ScoredRows:
    """The model input, calibrated probabilities and metrics of the rows at positions `rows`."""
    matrix = to_model_input(data.features.iloc[rows], list(data.spec.features), levels)
    raw = booster.predict(matrix)
    probabilities = apply_calibration(calibration, raw)
    labels = data.target[rows]
    metrics = evaluate_scores(labels, probabilities)
    metrics["uncalibrated_log_loss"] = evaluate_scores(labels, raw)["log_loss"]
    # Accuracy at 0.5, only to compare with published results on the same data.
    metrics["accuracy"] = float(np.mean((probabilities >= 0.5) == labels))
    return ScoredRows(matrix, probabilities, metrics)
