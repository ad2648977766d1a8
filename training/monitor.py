"""Monitoring runs: a drift report logged to MLflow beside the model version it was scored with."""

from __future__ import annotations

import re
from typing import Any

from training.tracking import ensure_experiment

MONITORING_EXPERIMENT = "leadscore-monitoring"


def log_drift(report: dict[str, Any], model_name: str, version: str, data: str) -> str:
    """Log a drift report as a run of MONITORING_EXPERIMENT tagged with the model version it
    concerns; return the run id. PSI values become metrics ("psi/<column>")."""
    import mlflow

    experiment = ensure_experiment(MONITORING_EXPERIMENT)
    name = f"drift {model_name} v{version}"
    with mlflow.start_run(experiment_id=experiment, run_name=name) as run:
        mlflow.set_tags({"leadscore.kind": "drift", "model_name": model_name,
                         "model_version": version, "data": data})  # fmt: skip
        metrics = {"score_psi": report["score_psi"], "drifted_features": len(report["drifted"])}
        metrics |= {f"psi/{_metric_name(c)}": v for c, v in report["features"].items()}
        mlflow.log_metrics(metrics)
        mlflow.log_dict(report, "drift.json")
    return run.info.run_id


def _metric_name(column: str) -> str:
    # MLflow allows letters, digits and "_-. /" in metric names; lead tables have any text.
    return re.sub(r"[^\w\-. /]", "_", column)
