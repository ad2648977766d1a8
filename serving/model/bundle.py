"""The model bundle: what a registered model carries to score (booster, spec, levels, cutoffs)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.schema import DEFAULT_FEATURE_CONFIG, FeatureConfig
from features.tabular.spec import TabularSpec, prepare_tabular
from serving.model.calibration import apply_calibration
from serving.model.encode import to_model_input

if TYPE_CHECKING:
    import lightgbm

BOOSTER_FILE = "booster.txt"
SPEC_FILE = "spec.json"
TIERS: tuple[tuple[str, int], ...] = (("A", 90), ("B", 70), ("C", 40), ("D", 1))
# Below this many rows LightGBM predicts on one thread: handing a few rows to a thread pool
# costs more than it saves (one lead: ~0.35 ms instead of ~1.5 ms on a busy 2-core box).
SMALL_BATCH_ROWS = 256


@dataclass(frozen=True)
class ModelSpec:
    """Everything besides the trees that scoring needs, stored as JSON beside the booster."""

    feature_version: str
    feature_columns: list[str]
    categorical_levels: dict[str, list[str]]
    # 98 ascending probabilities that cut held-out scores (events: validation, table: test)
    # into 99 equal groups.
    score_cutoffs: list[float]
    horizon_days: int
    trained_at: str
    mode: str = "events"
    # Windows and half-life the features were built with (FeatureConfig.to_dict()).
    feature_config: dict[str, Any] = field(default_factory=dict)
    # Maps the raw probability to a calibrated one (serving.model.calibration); empty: none.
    calibration: dict[str, Any] = field(default_factory=dict)
    entity_key: str = "follower_id"
    metrics: dict[str, float] = field(default_factory=dict)
    # Table mode only (mode "table"; events-mode specs leave them empty):
    # the TabularSpec (id, target, column kinds, excluded columns and why) as a dict,
    table: dict[str, Any] = field(default_factory=dict)
    # the form values read as missing (e.g. "Select"),
    placeholders: list[str] = field(default_factory=list)
    # and how reasons say values (features.tabular.phrases.TablePhrases.to_dict()).
    phrases: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoringBundle:
    """A loaded model: the LightGBM booster and its spec."""

    booster: lightgbm.Booster
    spec: ModelSpec

    @property
    def features_config(self) -> FeatureConfig:
        """The feature windows and half-life to build this model's input with."""
        if not self.spec.feature_config:
            return DEFAULT_FEATURE_CONFIG
        return FeatureConfig.from_dict(self.spec.feature_config)

    @property
    def tabular_spec(self) -> TabularSpec:
        """The columns of a table-mode model's input; a clear error for an events-mode model."""
        if self.spec.mode != "table":
            raise ValueError(
                f"the model's mode is {self.spec.mode!r}: it scores followers from their events, "
                "not a lead table"
            )
        return TabularSpec.from_dict(self.spec.table)

    def table_features(self, table: pd.DataFrame) -> pd.DataFrame:
        """Table mode: rows of a lead table as this model's feature frame, indexed by the id.

        Training, batch scoring and the service all prepare table rows here (extra columns,
        such as the target, are ignored).
        """
        return prepare_tabular(table, self.tabular_spec, self.spec.placeholders)

    def model_input(self, features: pd.DataFrame) -> np.ndarray:
        """The matrix this model reads, built once per call by `to_model_input`."""
        return to_model_input(features, self.spec.feature_columns, self.spec.categorical_levels)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions (log-odds) per row of a model input, bias last."""
        return self.booster.predict(matrix, pred_contrib=True, **_threads(len(matrix)))

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of converting within the horizon, one per row of `features`."""
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


def save_bundle(booster: lightgbm.Booster, spec: ModelSpec, directory: Path) -> Path:
    """Write the booster and spec into `directory` (created) and return it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(directory / BOOSTER_FILE))
    (directory / SPEC_FILE).write_text(json.dumps(asdict(spec), indent=2))
    return directory


def load_bundle(directory: Path) -> ScoringBundle:
    """Read a bundle written by `save_bundle`."""
    import lightgbm

    directory = Path(directory)
    booster = lightgbm.Booster(model_file=str(directory / BOOSTER_FILE))
    return ScoringBundle(booster=booster, spec=load_spec(directory))


def load_spec(directory: Path) -> ModelSpec:
    """Only the spec of a bundle folder (no booster): enough to know a model's inputs."""
    return spec_from_dict(json.loads((Path(directory) / SPEC_FILE).read_text()))


def make_score_cutoffs(probabilities: np.ndarray) -> list[float]:
    """The 1st..98th of 99 quantiles of reference probabilities, for 1–99 scores."""
    quantiles = np.linspace(0, 1, 100)[1:-1]
    return [float(x) for x in np.quantile(np.asarray(probabilities, dtype=float), quantiles)]


def score_from_probability(probabilities: np.ndarray, cutoffs: list[float]) -> np.ndarray:
    """1–99: how many reference followers of 99 a follower outranks, plus one."""
    return 1 + np.searchsorted(np.asarray(cutoffs), probabilities, side="right").astype(np.int64)


def tier_from_score(scores: np.ndarray) -> np.ndarray:
    """A (90–99), B (70–89), C (40–69) or D (1–39)."""
    tiers = np.full(len(scores), "D", dtype=object)
    for tier, floor in reversed(TIERS):
        tiers[np.asarray(scores) >= floor] = tier
    return tiers


def spec_from_dict(data: dict[str, Any]) -> ModelSpec:
    """Rebuild a spec from its JSON form."""
    return ModelSpec(**data)


def find_bundle_dir(model_dir: Path) -> Path:
    """The bundle folder inside a downloaded MLflow model (or the folder itself)."""
    model_dir = Path(model_dir)
    for candidate in (model_dir, model_dir / "artifacts" / "bundle"):
        if (candidate / SPEC_FILE).exists():
            return candidate
    found = sorted(model_dir.rglob(SPEC_FILE))
    if not found:
        raise FileNotFoundError(f"{model_dir} holds no {SPEC_FILE}: not a leadscore model")
    return found[0].parent


def download_bundle(model_uri: str) -> ScoringBundle:
    """Load a bundle from an MLflow model URI such as models:/lead-scorer@champion."""
    import mlflow

    return load_bundle(find_bundle_dir(Path(mlflow.artifacts.download_artifacts(model_uri))))
