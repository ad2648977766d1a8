"""One table model's inputs and settings: rows of a `TableData` as LightGBM reads them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from serving.model.encode import to_model_input
from training.boost import BoostSettings, Labelled, ScoredRows, score_input
from training.sources.table import TableConfig, TableData

if TYPE_CHECKING:
    import lightgbm


def table_input(data: TableData, levels: dict[str, list[str]], rows: np.ndarray) -> Labelled:
    """The model input and labels of the rows at positions `rows`."""
    matrix = to_model_input(data.features.iloc[rows], list(data.spec.features), levels)
    return Labelled(matrix, data.target[rows])


def table_settings(
    config: TableConfig, data: TableData, levels: dict[str, list[str]]
) -> BoostSettings:
    """LightGBM settings of a table run: categoricals native, names LightGBM accepts."""
    columns = list(data.spec.features)
    return BoostSettings(
        params=config.lgbm_params,
        seed=config.seed,
        num_boost_round=config.num_boost_round,
        early_stopping_rounds=config.early_stopping_rounds,
        feature_names=booster_feature_names(columns),
        categorical=[i for i, column in enumerate(columns) if column in levels],
    )


def booster_feature_names(columns: Sequence[str]) -> list[str]:
    """Column names LightGBM accepts (letters, digits, _), unique; the spec keeps the originals."""
    names: list[str] = []
    for column in columns:
        name = re.sub(r"[^0-9A-Za-z_]+", "_", column).strip("_") or "column"
        names.append(name if name not in names else f"{name}_{len(names)}")
    return names


def score_table(
    booster: lightgbm.Booster, calibration: dict[str, Any], rows: Labelled
) -> ScoredRows:
    """`score_input`, plus accuracy at 0.5 (only to compare with published results)."""
    scored = score_input(booster, calibration, rows)
    scored.metrics["accuracy"] = float(np.mean((scored.probabilities >= 0.5) == rows.labels))
    return scored
