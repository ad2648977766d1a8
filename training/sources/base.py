"""What a source of training rows provides to the one training run (training.run).

A source reads its data, splits it into periods and knows what only it can know: which
baselines make sense, what the model spec's part is, what to tag and note. A new kind of
data is one module here with a settings class (`SourceSettings`) whose `load` gives a `Source`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from dask.distributed import Client

    from serving.model.bundle import ScoringBundle
    from serving.model.spec import ModelInput
    from training.config import Boosting

# The periods a source may give, in time order; "valid" is optional (a lead table has none).
PERIODS: tuple[str, ...] = ("fit", "stop", "valid", "test")


@dataclass(frozen=True, eq=False)
class Period:
    """Rows of one period: prepared features (the model's columns at least) and 0/1 labels."""

    features: pd.DataFrame
    labels: np.ndarray


@dataclass(frozen=True)
class TuningRows:
    """The rows tuning trials fit on, stop early and calibrate on, and are judged on; and what
    the run logs about them."""

    fit: Period
    stop: Period
    judged: Period
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    """What the command line shows of a run besides its metrics."""

    test_title: str
    excluded: tuple[tuple[str, str], ...] = ()
    kept: tuple[tuple[str, str], ...] = ()
    rows: dict[str, int] = field(default_factory=dict)


class Source(Protocol):
    """Training rows of one data set, split into periods, and what belongs to their kind."""

    kind: str  # the model's kind: "events" or "table"
    feature_version: str
    columns: tuple[str, ...]  # the model's feature columns, in order
    categorical: tuple[str, ...]  # those that are categorical
    periods: Mapping[str, Period]  # fit, stop, optionally valid, test (PERIODS)
    cutoff_period: str  # the period whose scores set the 1-99 cut-offs
    data_path: Path  # the file or folder the rows come from (fingerprinted)

    def params(self) -> dict[str, Any]:
        """The source's settings and split as flat run parameters."""
        ...

    def describe(self) -> list[tuple[str, str]]:
        """The plan of the run in (what, value) lines: what was read and how it is split."""
        ...

    def tags(self) -> dict[str, str]:
        """Run tags besides the kind and feature version."""
        ...

    def artifacts(self) -> dict[str, dict[str, Any]]:
        """JSON files to log with the run, by path."""
        ...

    def tuning_rows(self, seed: int) -> TuningRows:
        """The rows trials train and are judged on: never the test rows."""
        ...

    def extra_metrics(self, labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
        """Metrics this kind reports besides training.evaluate's, on any scored rows."""
        ...

    def references(self) -> dict[str, float]:
        """Reference figures of the test rows that no model makes (the oracle's ROC AUC)."""
        ...

    def baseline_scores(self, seed: int) -> dict[str, np.ndarray]:
        """Test probabilities of each baseline, by name, fitted on rows the model learnt from."""
        ...

    def report_notes(self) -> tuple[str, dict[str, str]]:
        """The report's title and the lines under it."""
        ...

    def spec_part(self, levels: dict[str, list[str]]) -> ModelInput:
        """What the model spec carries for this kind (serving.model.spec)."""
        ...

    def model_example(self, bundle: ScoringBundle) -> tuple[pd.DataFrame, Any]:
        """An input example of the pyfunc and its MLflow signature."""
        ...

    def version_tags(self) -> dict[str, str]:
        """Registered-version tags; "split" says how the test rows were chosen."""
        ...

    def champion_rows(self) -> pd.DataFrame:
        """The test rows as a registered model reads them (`bundle.prepare`)."""
        ...

    def champion_note(self, champion_tags: dict[str, str], tags: dict[str, str]) -> str:
        """A warning for the promotion reason when the champion (its version tags) may have
        learnt from this version's (`tags`) test rows; empty when it cannot have."""
        ...

    def summary(self, metrics: dict[str, float]) -> RunSummary:
        """What the command line shows of the run."""
        ...


class SourceSettings(Protocol):
    """The settings of a source: where the data is and how to split it."""

    def boosting(self) -> Boosting:
        """Default boosting settings for data of this kind."""
        ...

    def load(self, seed: int, client: Client | None = None) -> Source:
        """Read, check and split the data (work spread over a Dask `client` where it helps)."""
        ...


def data_fingerprint(data: Path) -> str:
    """SHA-256 (first 16 hex digits) over the names and bytes of the input files."""
    digest = hashlib.sha256()
    data = Path(data)
    files = [data] if data.is_file() else sorted(p for p in data.iterdir() if p.is_file())
    for path in files:
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def flat_params(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Settings as MLflow parameters: lists and tuples joined by commas, long text clipped."""
    params = {}
    for key, value in settings.items():
        if isinstance(value, list | tuple):
            value = ",".join(map(str, value))
        params[f"{prefix}{key}"] = clip(str(value)) if isinstance(value, str) else value
    return params


def clip(text: str, limit: int = 4000) -> str:
    """MLflow caps parameter and tag values; a long column list is cut with a marker."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
