"""What a run writes to MLflow: the pyfunc model, baseline metrics, the report, the version."""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from serving.model.bundle import ScoringBundle, save_bundle
from training import registry

logger = logging.getLogger(__name__)

# What the logged pyfunc needs to load and predict; listed, so MLflow does not infer them
# (inferring takes about 9 s).
PIP_REQUIREMENTS = ["lightgbm>=4.7", "pandas>=3.1", "numpy>=2.4", "mlflow>=3.17"]


def log_model(bundle: ScoringBundle, example: pd.DataFrame, signature: Any) -> Any:
    """Log the bundle as the pyfunc model of the active run; the model info."""
    import mlflow

    from serving.model.pyfunc import LeadScorerModel

    with tempfile.TemporaryDirectory() as tmp:
        bundle_dir = save_bundle(bundle, Path(tmp) / "bundle")
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=LeadScorerModel(),
            artifacts={"bundle": str(bundle_dir)},
            signature=signature,
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
        )


def log_baselines(metrics: Mapping[str, Mapping[str, float]]) -> None:
    """Each baseline's test metrics as `baseline_<name>_<metric>`."""
    import mlflow

    for name, values in metrics.items():
        key = name.replace(" ", "_").replace("(", "").replace(")", "")
        mlflow.log_metrics({f"baseline_{key}_{metric}": v for metric, v in values.items()})


def log_report(report: Path) -> None:
    """The report's folder (report.html and its charts) as the run's `report/` artifacts."""
    import mlflow

    mlflow.log_artifacts(str(report.parent), "report")


def register(model_name: str, model_uri: str, tags: dict[str, str]) -> str:
    """Register the logged model under `model_name`, alias it challenger; its version."""
    import mlflow

    # MLflow prints "Successfully registered model ..." straight to stderr; the run says it.
    with contextlib.redirect_stderr(io.StringIO()) as said:
        version = str(mlflow.register_model(model_uri, model_name, tags=tags).version)
    logger.debug("%s", said.getvalue().strip())
    registry.set_challenger(model_name, version)
    return version


def version_tags(model_name: str, version: str) -> dict[str, str]:
    """The tags of a registered version."""
    from mlflow import MlflowClient

    return dict(MlflowClient().get_model_version(model_name, version).tags)
