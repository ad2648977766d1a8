"""The model bundle: booster and spec, saved by training and read back by one loader."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from serving.model.calibration import apply_calibration
from serving.model.encode import InputEncoder
from serving.model.phrasing import Phrasebook
from serving.model.spec import ModelSpec, spec_from_dict
from serving.model.treeshap import LeafTables, checked_tables

if TYPE_CHECKING:
    import lightgbm

BOOSTER_FILE = "booster.txt"
SPEC_FILE = "spec.json"
# Where an MLflow model logged by training keeps the bundle (its pyfunc artifact "bundle").
MLFLOW_BUNDLE = Path("artifacts") / "bundle"
# Below this many rows LightGBM predicts on one thread: handing a few rows to a thread pool
# costs more than it saves (one lead: ~0.35 ms instead of ~1.5 ms on a busy 2-core box).
SMALL_BATCH_ROWS = 256
# An MLflow URI (models:/, runs:/, s3://, ...): a scheme of two or more letters, then ":/".
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


@dataclass(frozen=True)
class ScoringBundle:
    """A loaded model: the LightGBM booster and its spec."""

    booster: lightgbm.Booster
    spec: ModelSpec

    def prepare(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Rows as sent or read (feature records, lead-table rows) as this model's features.

        Training, batch scoring, the service and the pyfunc all prepare rows here.
        """
        return self.spec.inputs.prepare(rows)

    @cached_property
    def encoder(self) -> InputEncoder:
        """This model's columns and level tables, built once."""
        return InputEncoder.of(self.spec.feature_columns, self.spec.categorical_levels)

    @cached_property
    def phrasebook(self) -> Phrasebook:
        """This model's values in words (`spec.inputs.say`), by column position."""
        return Phrasebook(self.spec.inputs.say, self.spec.feature_columns)

    def model_input(self, features: pd.DataFrame) -> np.ndarray:
        """The matrix this model reads from a frame of prepared features."""
        return self.encoder.frame(features)

    @cached_property
    def explainer(self) -> LeafTables | None:
        """TreeSHAP from per-tree tables (~8x LightGBM's walk at 100 rows), when this model's
        trees are small enough and the tables agree with LightGBM to 1e-9; else None."""
        return checked_tables(self.booster)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions (log-odds) per row of a model input, bias last."""
        if self.explainer is not None:
            return self.explainer.contributions(matrix)
        return self.booster.predict(matrix, pred_contrib=True, **_threads(len(matrix)))

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of converting, one per row of prepared `features`."""
        return self.predict_input(self.model_input(features))

    def predict_input(self, matrix: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for a matrix from `model_input`."""
        if len(matrix) == 0:
            return np.empty(0, dtype=np.float64)
        raw = self.booster.predict(matrix, **_threads(len(matrix)))
        if not self.spec.calibration:
            return raw
        return apply_calibration(self.spec.calibration, raw)


def _threads(rows: int) -> dict[str, int]:
    """LightGBM predict settings for a batch of `rows`: one thread for a small one."""
    return {"num_threads": 1} if rows < SMALL_BATCH_ROWS else {}


def save_bundle(bundle: ScoringBundle, directory: Path) -> Path:
    """Write the booster and spec into `directory` (created) and return it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    bundle.booster.save_model(str(directory / BOOSTER_FILE))
    (directory / SPEC_FILE).write_text(json.dumps(bundle.spec.to_dict(), indent=2))
    return directory


def load_bundle(location: Path | str) -> ScoringBundle:
    """The one loader of a model: a bundle folder, an MLflow model folder holding one, or an
    MLflow URI such as models:/lead-scorer@champion (downloaded first)."""
    import lightgbm

    directory = bundle_dir(location)
    if not (directory / BOOSTER_FILE).exists():
        raise FileNotFoundError(f"{directory} holds no {BOOSTER_FILE}: the model is incomplete")
    booster = lightgbm.Booster(model_file=str(directory / BOOSTER_FILE))
    return ScoringBundle(booster=booster, spec=_read_spec(directory))


def load_spec(location: Path | str) -> ModelSpec:
    """Only the spec of a model (no booster): enough to know what it reads."""
    return _read_spec(bundle_dir(location))


def bundle_dir(location: Path | str) -> Path:
    """The bundle folder of `location` (see `load_bundle`); a clear error if there is none."""
    if isinstance(location, str) and _URI.match(location):
        import mlflow

        location = mlflow.artifacts.download_artifacts(location)
    folder = Path(location)
    for candidate in (folder, folder / MLFLOW_BUNDLE):
        if (candidate / SPEC_FILE).exists():
            return candidate
    raise FileNotFoundError(f"{folder} holds no {SPEC_FILE}: not a leadscore model")


def _read_spec(directory: Path) -> ModelSpec:
    return spec_from_dict(json.loads((directory / SPEC_FILE).read_text()))
