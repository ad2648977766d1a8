"""Drift: how far the rows being scored have moved from the model's reference rows (PSI)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Quantile bins of a reference column; a column with at most this many distinct values gets
# one bin per value (counts, flags and category codes).
BINS = 10
# The usual reading of the population stability index: under 0.1 stable, 0.1 to 0.2 a moderate
# shift, above 0.2 a shift worth acting on.
THRESHOLD = 0.2
# Fewer scored rows than this say nothing about a population: a handful of followers sits in a
# few bins by chance, so PSI is reported but nothing is flagged.
MIN_ROWS = 100
# A bin's share is at least this in PSI, so an empty bin on one side is a large term, not an
# infinite one.
FLOOR = 1e-4


def bin_edges(values: np.ndarray) -> list[float]:
    """Cut points of a reference column: its distinct values when few, else its deciles."""
    present = values[~np.isnan(values)]
    distinct = np.unique(present)
    if distinct.size <= BINS:
        return distinct.tolist()
    quantiles = np.quantile(present, np.arange(1, BINS) / BINS, method="nearest")
    return np.unique(quantiles).tolist()


def bin_counts(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Rows per bin: below the first edge, from each edge up to the next, then missing last."""
    missing = np.isnan(values)
    slots = np.searchsorted(np.asarray(edges, dtype=np.float64), values[~missing], side="right")
    counts = np.bincount(slots, minlength=len(edges) + 1)
    return np.append(counts, np.count_nonzero(missing)).astype(np.int64)


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """The population stability index of two count vectors over the same bins."""
    if reference.sum() == 0 or current.sum() == 0:
        return 0.0
    expected = np.maximum(reference / reference.sum(), FLOOR)
    actual = np.maximum(current / current.sum(), FLOOR)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


@dataclass(frozen=True)
class Reference:
    """The bins of every model column and of the probability, with the reference's counts."""

    columns: list[str]
    edges: dict[str, list[float]]
    counts: dict[str, list[int]]
    rows: int

    @classmethod
    def of(cls, matrix: np.ndarray, probabilities: np.ndarray, columns: Sequence[str]) -> Reference:
        """The reference of a model input (the model's matrix) and its probabilities."""
        named = {column: matrix[:, i] for i, column in enumerate(columns)}
        named[SCORE] = np.asarray(probabilities, dtype=np.float64)
        edges = {name: bin_edges(values) for name, values in named.items()}
        counts = {name: bin_counts(named[name], edges[name]).tolist() for name in named}
        return cls(list(columns), edges, counts, len(matrix))

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "edges": self.edges, "counts": self.counts,
                "rows": self.rows}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        return cls(list(data["columns"]), data["edges"], data["counts"], int(data["rows"]))


# The probability's name among the binned columns (no feature column has it).
SCORE = "(score)"


@dataclass
class DriftCounts:
    """Counts of rows scored so far in the reference's bins: added chunk by chunk."""

    reference: Reference
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    rows: int = 0

    def add(self, matrix: np.ndarray, probabilities: np.ndarray) -> None:
        """Count a chunk of scored rows (the model's matrix, in the reference's columns)."""
        named = {column: matrix[:, i] for i, column in enumerate(self.reference.columns)}
        named[SCORE] = np.asarray(probabilities, dtype=np.float64)
        for name, values in named.items():
            chunk = bin_counts(values, self.reference.edges[name])
            self.counts[name] = self.counts[name] + chunk if name in self.counts else chunk
        self.rows += len(matrix)

    def merge(self, other: DriftCounts | None) -> None:
        """Add the counts of rows counted elsewhere (another part of the same scoring)."""
        if other is None:
            return
        for name, counts in other.counts.items():
            self.counts[name] = self.counts[name] + counts if name in self.counts else counts
        self.rows += other.rows

    def report(self, threshold: float = THRESHOLD) -> DriftReport:
        """The PSI of every column and of the score against the reference."""
        reference = {name: np.asarray(c) for name, c in self.reference.counts.items()}
        values = {
            name: psi(reference[name], self.counts.get(name, np.zeros_like(reference[name])))
            for name in reference
        }
        score = values.pop(SCORE)
        judged = self.rows >= MIN_ROWS
        over = [name for name, value in values.items() if judged and value > threshold]
        drifted = sorted(over, key=lambda name: -values[name])
        return DriftReport(score, values, drifted, threshold, self.rows, self.reference.rows)


@dataclass(frozen=True)
class DriftReport:
    """PSI of the score and of each feature; the features above the threshold, worst first."""

    score_psi: float
    features: dict[str, float]
    drifted: list[str]
    threshold: float
    rows: int
    reference_rows: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: {"score_psi", "features", "drifted", "threshold", ...}."""
        return {
            "score_psi": round(self.score_psi, 6),
            "features": {name: round(value, 6) for name, value in self.features.items()},
            "drifted": self.drifted,
            "threshold": self.threshold,
            "rows": self.rows,
            "reference_rows": self.reference_rows,
            "judged": self.rows >= MIN_ROWS,
        }
