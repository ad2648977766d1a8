"""Where runs go: the local SQLite store under mlruns/ unless MLFLOW_TRACKING_URI says otherwise."""

from __future__ import annotations

import os
from pathlib import Path


def default_tracking_uri(store_dir: Path) -> str:
    """The SQLite store inside `store_dir` (mlruns/)."""
    return f"sqlite:///{(store_dir / 'mlflow.db').resolve()}"


def configure_tracking(store_dir: Path = Path("mlruns")) -> str:
    """Point MLflow at MLFLOW_TRACKING_URI, or at the local store (created); return the URI.

    The variable is exported so that child processes (the server, the UI) use the same store.
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        store_dir.mkdir(parents=True, exist_ok=True)
        uri = default_tracking_uri(store_dir)
        os.environ["MLFLOW_TRACKING_URI"] = uri
    return uri


def artifact_root(tracking_uri: str) -> str | None:
    """Artifacts beside a SQLite store (its folder's artifacts/); None lets a server decide."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return (Path(tracking_uri.removeprefix("sqlite:///")).parent / "artifacts").resolve().as_uri()


def ensure_experiment(name: str) -> str:
    """Create the experiment (artifacts beside a local store) if needed; return its id."""
    import mlflow

    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = artifact_root(mlflow.get_tracking_uri())
    return mlflow.create_experiment(name, artifact_location=location)
