"""Baselines fitted in the same run as the model: CRM points rule, logistic regression, LightGBM."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from features.schema import (
    DEFAULT_FEATURE_CONFIG,
    EVENT_POINTS,
    LABEL_COLUMN,
    FeatureConfig,
    count_column,
)
from serving.model.encode import CategoryLevels, to_model_input
from training.calibrate import ProbabilityCalibrator

if TYPE_CHECKING:
    import lightgbm
    from sklearn.pipeline import Pipeline

# Rows a baseline predicts at a time.
PREDICT_SLICE = 200_000
# The events a CRM points rule typically scores; views, saves and mentions are left out.
POINTS_EVENTS: tuple[str, ...] = (
    "like", "comment", "share", "click", "profile_visit", "dm", "unfollow",
)  # fmt: skip


class Scorer(Protocol):
    """Anything fitted that gives a conversion probability per row of a feature frame."""

    def predict(self, features: pd.DataFrame) -> np.ndarray: ...


def points_score(
    features: pd.DataFrame, config: FeatureConfig = DEFAULT_FEATURE_CONFIG
) -> np.ndarray:
    """A rule-based marketing points score, as CRM tools compute it (no fitting).

    Rule: each like, comment, share, click, profile visit and DM in the mid window (30 days by
    default) earns its `EVENT_POINTS`, and the same event earns them again if it was also in the
    short window (7 days), so recent events count double: the time decay of a two-step rule.
    Each unfollow takes points away the same way. Missing counts count as zero.
    """
    score = np.zeros(len(features), dtype=float)
    for event in POINTS_EVENTS:
        for window in sorted({config.short_days, config.mid_days}):
            counts = pd.to_numeric(features[count_column(event, window)], errors="coerce")
            score += EVENT_POINTS[event] * counts.fillna(0).to_numpy(dtype=float)
    return score


def _squash(points: np.ndarray) -> np.ndarray:
    """A fixed monotone map of points into (0, 1): the sigmoid of the signed log of the points.

    The log keeps up to about a million points apart after the calibrator clips to 1e-6, so a
    Platt curve on top is a logistic regression on log-points.
    """
    return 1 / (1 + np.exp(-np.sign(points) * np.log1p(np.abs(points))))


@dataclass(frozen=True)
class PointsScorer:
    """The points rule with a 1-D calibration curve from points to probabilities."""

    calibrator: ProbabilityCalibrator
    config: FeatureConfig = DEFAULT_FEATURE_CONFIG

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of each row's points score."""
        return self.calibrator.transform(_squash(points_score(features, self.config)))


def fit_points_baseline(
    fit_frame: pd.DataFrame,
    config: FeatureConfig = DEFAULT_FEATURE_CONFIG,
    method: str = "auto",
    seed: int = 0,
) -> PointsScorer:
    """Map the points rule to probabilities with a calibrator fitted on the fit rows."""
    raw = _squash(points_score(fit_frame, config))
    calibrator = ProbabilityCalibrator(method, seed=seed).fit(raw, fit_frame[LABEL_COLUMN])
    return PointsScorer(calibrator, config)


def _as_float(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(pd.to_numeric, errors="coerce").astype("float64")


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    # One spelling of "missing" for every kind of null, so it becomes its own one-hot column.
    return frame.astype("object").where(frame.notna(), "__missing__").astype(str)


def _logistic_pipeline(numeric: list[str], categorical: list[str], seed: int) -> Pipeline:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numbers = make_pipeline(
        FunctionTransformer(_as_float),
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
    )
    text = make_pipeline(
        FunctionTransformer(_as_text), OneHotEncoder(handle_unknown="ignore", min_frequency=5)
    )
    prepare = ColumnTransformer([("numeric", numbers, numeric), ("categorical", text, categorical)])
    model = LogisticRegression(max_iter=5000, random_state=seed)
    return make_pipeline(prepare, model)


@dataclass(frozen=True)
class PipelineScorer:
    """A fitted scikit-learn classifier pipeline over named feature columns."""

    pipeline: Pipeline
    columns: tuple[str, ...]

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of the positive class, one per row (in slices: the pipeline's scaled
        and one-hot copies of a million rows would set the run's peak memory)."""
        return in_slices(
            features, lambda rows: self.pipeline.predict_proba(rows[list(self.columns)])[:, 1]
        )


def in_slices(features: pd.DataFrame, predict: Callable[[pd.DataFrame], np.ndarray]) -> np.ndarray:
    """`predict` of the rows a slice at a time (each row's prediction is its own)."""
    if len(features) <= PREDICT_SLICE:
        return np.asarray(predict(features))
    slices = range(0, len(features), PREDICT_SLICE)
    return np.concatenate([predict(features.iloc[i : i + PREDICT_SLICE]) for i in slices])


def fit_logistic(
    fit_frame: pd.DataFrame,
    columns: Sequence[str],
    categorical: Sequence[str] = (),
    seed: int = 0,
) -> PipelineScorer:
    """Logistic regression: median imputation with missing flags and scaling, one-hot text.

    `columns` are all the input columns; those also in `categorical` are one-hot encoded
    (levels seen fewer than 5 times pooled, unseen levels ignored), the rest are numeric.
    """
    numeric = [column for column in columns if column not in categorical]
    text = [column for column in columns if column in categorical]
    pipeline = _logistic_pipeline(numeric, text, seed)
    pipeline.fit(fit_frame[list(columns)], fit_frame[LABEL_COLUMN].to_numpy())
    return PipelineScorer(pipeline, tuple(columns))


@dataclass(frozen=True)
class BoosterScorer:
    """A LightGBM booster with the columns and category levels its matrix was built with."""

    booster: lightgbm.Booster
    columns: tuple[str, ...]
    levels: dict[str, list[str]]

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Probability per row, through the same `to_model_input` as the tuned model."""
        return in_slices(
            features,
            lambda rows: self.booster.predict(to_model_input(rows, self.columns, self.levels)),
        )


def default_lightgbm_params(seed: int = 0) -> dict[str, Any]:
    """LightGBM's defaults for a binary objective, single-threaded and seeded."""
    return {
        "objective": "binary",
        "num_threads": 1,
        "seed": seed,
        "deterministic": True,
        "verbosity": -1,
    }


def fit_default_lightgbm(
    fit_frame: pd.DataFrame,
    columns: Sequence[str],
    categorical: Sequence[str] = (),
    seed: int = 0,
    num_boost_round: int = 100,
) -> BoosterScorer:
    """LightGBM with library defaults (100 trees, no early stopping): what tuning must beat."""
    import lightgbm as lgb

    columns = tuple(columns)
    categorical = [column for column in columns if column in categorical]
    levels = CategoryLevels(categorical).fit(fit_frame).levels_
    data = lgb.Dataset(
        to_model_input(fit_frame, columns, levels),
        label=fit_frame[LABEL_COLUMN].to_numpy(),
        feature_name=list(columns),
        categorical_feature=[columns.index(column) for column in categorical],
    )
    booster = lgb.train(default_lightgbm_params(seed), data, num_boost_round=num_boost_round)
    return BoosterScorer(booster, columns, levels)
