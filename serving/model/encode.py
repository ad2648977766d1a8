"""Model input: feature frames to the numeric matrix LightGBM sees, the same for train and serve."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    service all encode through `InputEncoder`.
    """
    return InputEncoder.of(columns, levels).frame(features)


@dataclass(frozen=True)
class InputEncoder:
    """A model's columns and level tables, built once: feature values to the model's matrix."""

    columns: tuple[str, ...]
    # Per column, its level -> code table, or None for a numeric column.
    codes: tuple[dict[str, float] | None, ...]

    @classmethod
    def of(cls, columns: Sequence[str], levels: Mapping[str, Sequence[str]]) -> InputEncoder:
        tables = [
            {str(level): float(code) for code, level in enumerate(levels[column])}
            if column in levels
            else None
            for column in columns
        ]
        return cls(tuple(columns), tuple(tables))

    def frame(self, features: pd.DataFrame) -> np.ndarray:
        """The matrix of a feature frame (any dtypes; text in a numeric column is missing)."""
        missing = [column for column in self.columns if column not in features.columns]
        if missing:
            raise ValueError(f"missing feature column(s): {', '.join(missing)}")
        matrix = np.empty((len(features), len(self.columns)), dtype=np.float64)
        for position, (column, codes) in enumerate(zip(self.columns, self.codes, strict=True)):
            values = features[column]
            if codes is not None:
                matrix[:, position] = _coded(values.to_numpy(dtype=object), codes)
            else:
                matrix[:, position] = pd.to_numeric(values, errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
        return matrix

    def arrays(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """The matrix of feature columns given as arrays, as `frame` encodes them: numbers in
        any numeric dtype, categoricals as text (NaN or None where missing)."""
        matrix = np.empty((len(columns[self.columns[0]]), len(self.columns)), dtype=np.float64)
        for position, (column, codes) in enumerate(zip(self.columns, self.codes, strict=True)):
            values = columns[column]
            matrix[:, position] = values if codes is None else _coded(values, codes)
        return matrix

    def rows(self, values: np.ndarray) -> np.ndarray:
        """The matrix of feature values in column order (an object array, one row per record),
        as `frame` encodes them: numbers are anything `float()` reads, missing as NaN."""
        matrix = np.empty(values.shape, dtype=np.float64)
        for position, codes in enumerate(self.codes):
            if codes is not None:
                matrix[:, position] = _coded(values[:, position], codes)
            else:
                matrix[:, position] = values[:, position]
        return matrix


def _coded(values: np.ndarray, codes: dict[str, float]) -> list[float]:
    # A dict lookup: building a pandas Index per column and call cost ~0.6 ms, which dominated
    # scoring one record.
    return [codes.get(_level_text(value), np.nan) for value in values]


def _level_text(value: object) -> str | None:
    """A value as the text its level is stored under; None (no level) when missing."""
    if isinstance(value, str):
        return value
    return None if value is None or pd.isna(value) else str(value)
