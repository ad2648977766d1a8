"""The model beside its baselines on the same test rows, logged with the run's report."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from features.schema import CATEGORICAL_COLUMNS, FeatureConfig
from training.evaluate import evaluate_scores
from training.sources.snapshots import TimeSplit

MODEL_NAME = "LightGBM (calibrated)"


def score_baselines(
    split: TimeSplit, columns: Sequence[str], features: FeatureConfig, seed: int
) -> dict[str, np.ndarray]:
    """Test-period probabilities of each baseline, all fitted on the model's fit rows."""
    from training.baselines import fit_default_lightgbm, fit_logistic, fit_points_baseline

    categorical = [c for c in CATEGORICAL_COLUMNS if c in columns]
    scorers = {
        "points rule": fit_points_baseline(split.fit, features, seed=seed),
        "logistic": fit_logistic(split.fit, columns, categorical, seed=seed),
        "LightGBM default": fit_default_lightgbm(split.fit, columns, categorical, seed=seed),
    }
    return {name: scorer.predict(split.test) for name, scorer in scorers.items()}


def compare_and_report(
    labels: np.ndarray,
    scored: Mapping[str, np.ndarray],
    importance: pd.Series | None,
    notes: Mapping[str, str],
    title: str = "Lead scoring: the model against baselines (test rows)",
) -> dict[str, dict[str, float]]:
    """Metrics of every scorer; the first is the model. Logs them and the HTML report."""
    import mlflow

    from training.report import ReportInputs, write_report

    metrics = {name: evaluate_scores(labels, p) for name, p in scored.items()}
    for name, values in list(metrics.items())[1:]:
        key = name.replace(" ", "_").replace("(", "").replace(")", "")
        mlflow.log_metrics({f"baseline_{key}_{metric}": v for metric, v in values.items()})
    inputs = ReportInputs(
        model=next(iter(scored)),
        scored={name: (labels, p) for name, p in scored.items()},
        importance=importance,
        notes=notes,
        title=title,
    )
    with tempfile.TemporaryDirectory() as tmp:
        report = write_report(Path(tmp), inputs)
        mlflow.log_artifacts(str(report.parent), "report")
    return metrics
