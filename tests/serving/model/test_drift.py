"""PSI against a reference: bins of the reference, missing values as their own bin."""

from __future__ import annotations

import numpy as np
import pytest

from serving.model.drift import BINS, DriftCounts, Reference, bin_counts, bin_edges, psi

COLUMNS = ["count", "amount", "code"]


def _rows(rng: np.random.Generator, n: int, missing: float = 0.1) -> np.ndarray:
    amount = rng.lognormal(3, 1, n)
    amount[rng.random(n) < missing] = np.nan
    return np.column_stack([rng.poisson(1.5, n), amount, rng.integers(0, 4, n)]).astype(float)


def _drift(reference: np.ndarray, current: np.ndarray, chunks: int = 1) -> dict:
    counts = DriftCounts(Reference.of(reference, reference[:, 1] % 1, COLUMNS))
    for part in np.array_split(current, chunks):
        counts.add(part, part[:, 1] % 1)
    return counts.report().to_dict()


def test_few_values_get_a_bin_each_and_many_get_deciles():
    assert bin_edges(np.array([0.0, 1, 1, 2, np.nan])) == [0.0, 1.0, 2.0]
    edges = bin_edges(np.arange(1000.0))
    assert len(edges) == BINS - 1 and edges[0] == pytest.approx(100, abs=1)
    # Below the first edge, each edge up to the next, then missing last.
    counts = bin_counts(np.array([-1.0, 0, 0.5, 1, 7, np.nan, np.nan]), [0.0, 1.0])
    assert counts.tolist() == [1, 2, 2, 2]


def test_psi_is_zero_for_the_same_shares_and_grows_with_the_shift():
    same = np.array([10, 20, 30, 0])
    assert psi(same, same * 3) == 0.0
    assert 0 < psi(same, np.array([12, 20, 28, 0])) < psi(same, np.array([30, 20, 10, 0]))


def test_a_fresh_sample_does_not_drift_and_chunks_add_up_to_the_whole():
    rng = np.random.default_rng(0)
    reference, fresh = _rows(rng, 20_000), _rows(rng, 20_000)
    report = _drift(reference, fresh)
    assert report["drifted"] == [] and max(report["features"].values()) < 0.01
    assert _drift(reference, fresh, chunks=7) == report
    assert report["rows"] == report["reference_rows"] == 20_000


def test_shifted_values_and_a_vanished_missing_bin_are_flagged():
    rng = np.random.default_rng(1)
    reference, current = _rows(rng, 20_000), _rows(rng, 20_000, missing=0.0)
    current[:, 0] = 0  # every count gone
    report = _drift(reference, current)
    assert report["drifted"][0] == "count" and set(report["drifted"]) == {"count", "amount"}
    assert report["features"]["code"] < 0.01


def test_the_reference_survives_its_json_form():
    rng = np.random.default_rng(2)
    reference = Reference.of(_rows(rng, 500), rng.random(500), COLUMNS)
    assert Reference.from_dict(reference.to_dict()) == reference


def test_a_handful_of_rows_is_not_judged():
    rng = np.random.default_rng(3)
    reference, few = _rows(rng, 20_000), _rows(rng, 5)
    few[:, 0] = 0
    report = _drift(reference, few)
    assert report["drifted"] == [] and report["judged"] is False
    assert report["features"]["count"] > 0.2  # the values are still there to read
