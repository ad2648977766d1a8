"""LightGBM for every source: early stopping on one named set, calibration, scoring an input."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from serving.model.calibration import apply_calibration
from training.evaluate import evaluate_scores

if TYPE_CHECKING:
    import lightgbm
    from dask.distributed import Client

    from training.config import Boosting

logger = logging.getLogger(__name__)

# Names of the evaluated sets: early stopping looks only at STOP_SET; tuning prunes on VALID_SET.
STOP_SET = "stop"
VALID_SET = "valid"


@dataclass(frozen=True)
class Labelled:
    """A model input and its 0/1 labels."""

    matrix: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class ScoredRows:
    """Rows scored by a fitted model: their model input, calibrated probabilities, metrics."""

    matrix: np.ndarray
    probabilities: np.ndarray
    metrics: dict[str, float]


@dataclass(frozen=True)
class BoostSettings:
    """How the trees are grown: LightGBM parameters, seed, round limits, column facts."""

    params: Mapping[str, Any]
    seed: int
    num_boost_round: int
    early_stopping_rounds: int
    feature_names: list[str]
    categorical: list[int]  # positions of the categorical columns


def boost_settings(
    boosting: Boosting, seed: int, columns: Sequence[str], levels: Mapping[str, Sequence[str]]
) -> BoostSettings:
    """LightGBM settings of a run: categorical columns (those with levels) native, and names
    LightGBM accepts (the spec keeps the columns' own names)."""
    return BoostSettings(
        params=boosting.lgbm_params,
        seed=seed,
        num_boost_round=boosting.num_boost_round,
        early_stopping_rounds=boosting.early_stopping_rounds,
        feature_names=booster_feature_names(columns),
        categorical=[i for i, column in enumerate(columns) if column in levels],
    )


def booster_feature_names(columns: Sequence[str]) -> list[str]:
    """Column names LightGBM accepts (letters, digits, _), unique; names that are already
    fine stay as they are."""
    names: list[str] = []
    for column in columns:
        name = re.sub(r"[^0-9A-Za-z_]+", "_", column).strip("_") or "column"
        names.append(name if name not in names else f"{name}_{len(names)}")
    return names


def train_booster(
    settings: BoostSettings,
    fit: Labelled,
    watched: Mapping[str, Labelled],
    callbacks: Sequence[Callable[..., None]] = (),
    client: Client | None = None,
) -> lightgbm.Booster:
    """LightGBM on `fit`, stopped early on `watched[STOP_SET]` only.

    The other watched sets are evaluated every iteration for `callbacks` (tuning prunes on
    VALID_SET); early stopping never looks at them, so the trees are the same with or without.
    With a Dask `client` the trees grow on its workers (training.distributed); `callbacks`
    do not run there, so trials are not pruned.
    """
    import lightgbm as lgb

    if client is not None:
        from training.distributed import dask_booster

        return dask_booster(client, settings, fit, {STOP_SET: watched[STOP_SET]})

    def dataset(rows: Labelled, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        return lgb.Dataset(
            rows.matrix,
            label=rows.labels,
            feature_name=settings.feature_names,
            categorical_feature=settings.categorical,
            reference=reference,
        )

    train_set = dataset(fit)
    params = {**settings.params, "seed": settings.seed, "deterministic": True}
    stopping = lgb.early_stopping(settings.early_stopping_rounds, verbose=False)
    return lgb.train(
        params,
        train_set,
        num_boost_round=settings.num_boost_round,
        valid_sets=[dataset(rows, reference=train_set) for rows in watched.values()],
        valid_names=list(watched),
        callbacks=[only_on(STOP_SET, stopping), *callbacks],
    )


def fit_model(
    settings: BoostSettings,
    fit: Labelled,
    stop: Labelled,
    judged: Labelled | None = None,
    callbacks: Sequence[Callable[..., None]] = (),
    client: Client | None = None,
) -> tuple[lightgbm.Booster, dict[str, Any]]:
    """The booster (fit rows, stopped early on stop rows) and its calibration on the stop rows.

    Every model of every source is made this way: an untuned run's, each tuning trial's and the
    refit with the best settings. `judged` rows (a trial's) are evaluated as VALID_SET for
    `callbacks`; they change nothing in the trees.
    """
    watched = {STOP_SET: stop} | ({VALID_SET: judged} if judged is not None else {})
    booster = train_booster(settings, fit, watched, callbacks, client)
    return booster, fit_calibration(booster, stop, settings.seed)


def only_on(name: str, callback: Any) -> Callable[..., None]:
    """A LightGBM callback that sees only the evaluation results of the set `name`."""

    def call(env: Any) -> None:
        results = [r for r in env.evaluation_result_list or [] if r[0] == name]
        callback(replace(env, evaluation_result_list=results))

    call.order = callback.order  # LightGBM runs callbacks sorted by `order`
    return call


def fit_calibration(booster: lightgbm.Booster, rows: Labelled, seed: int) -> dict[str, Any]:
    """Isotonic or Platt (chosen by cross-validated log loss) on rows the trees never fit."""
    from training.calibrate import ProbabilityCalibrator

    raw = booster.predict(rows.matrix)
    calibrator = ProbabilityCalibrator("auto", seed=seed).fit(raw, rows.labels)
    # Debug: every tuning trial calibrates too; the run logs the final model's method.
    logger.debug("calibration: %s", calibrator.method_)
    return calibrator.to_dict()


def score_input(
    booster: lightgbm.Booster, calibration: dict[str, Any], rows: Labelled
) -> ScoredRows:
    """Calibrated probabilities and metrics of `rows` (plus the raw booster's log loss)."""
    raw = booster.predict(rows.matrix)
    probabilities = apply_calibration(calibration, raw)
    metrics = evaluate_scores(rows.labels, probabilities)
    metrics["uncalibrated_log_loss"] = evaluate_scores(rows.labels, raw)["log_loss"]
    return ScoredRows(rows.matrix, probabilities, metrics)
