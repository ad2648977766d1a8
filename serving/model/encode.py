"""Model input: feature frames to the numeric matrix LightGBM sees, the same for train and serve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from features.schema import CATEGORICAL_COLUMNS


class CategoryLevels:
    """Learns the levels of categorical columns, most frequent first; unseen levels map to missing.

    Follows the scikit-learn contract: `__init__` stores arguments, `fit` sets `levels_`.
    """

    def __init__(self, columns: Sequence[str] = CATEGORICAL_COLUMNS, max_levels: int = 200):
        self.columns = columns
        self.max_levels = max_levels

    def fit(self, features: pd.DataFrame) -> CategoryLevels:
        """Learn each column's levels from a training frame."""
        self.levels_ = {
            column: [
                str(level)
                for level in features[column].dropna().value_counts().index[: self.max_levels]
            ]
            for column in self.columns
        }
        return self


def to_model_input(
    features: pd.DataFrame, columns: Sequence[str], levels: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """The float64 matrix of `columns` in order; a categorical is its level code, NaN if unseen.

    This is the single place where train/serve skew could hide: training, batch scoring and the
    service all call it.
    """
    missing = [column for column in columns if column not in features.columns]
    if missing:
        raise ValueError(f"missing feature column(s): {', '.join(missing)}")
    matrix = np.empty((len(features), len(columns)), dtype=np.float64)
    for position, column in enumerate(columns):
        values = features[column]
        if column in levels:
            # A dict lookup: building a pandas Index per column and call cost ~0.6 ms, which
            # dominated scoring one record.
            codes = {str(level): float(code) for code, level in enumerate(levels[column])}
            matrix[:, position] = [
                codes.get(_level_text(value), np.nan) for value in values.to_numpy(dtype=object)
            ]
        else:
            matrix[:, position] = pd.to_numeric(values, errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
    return matrix


def _level_text(value: object) -> str | None:
    """A value as the text its level is stored under; None (no level) when missing."""
    if isinstance(value, str):
        return value
    return None if value is None or pd.isna(value) else str(value)
