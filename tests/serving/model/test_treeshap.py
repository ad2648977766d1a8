"""TreeSHAP from per-tree tables agrees with LightGBM's own, splits of every kind included."""

from __future__ import annotations

import lightgbm
import numpy as np
import pytest

from serving.model.treeshap import LeafTables, checked_tables


def _booster(leaves: int, seed: int = 0) -> tuple[lightgbm.Booster, np.ndarray]:
    """A small model with numeric, zero-as-missing and categorical splits, and missing values."""
    random = np.random.default_rng(seed)
    rows = 3_000
    matrix = np.column_stack(
        [
            random.normal(size=rows),
            np.where(random.random(rows) < 0.3, np.nan, random.exponential(size=rows)),
            random.integers(0, 6, size=rows).astype(float),  # categorical
            np.where(random.random(rows) < 0.4, 0.0, random.normal(size=rows)),
        ]
    )
    signal = matrix[:, 0] + np.nan_to_num(matrix[:, 1]) + (matrix[:, 2] % 2) - matrix[:, 3]
    labels = (signal + random.normal(size=rows) > 1).astype(int)
    params = {"objective": "binary", "num_leaves": leaves, "min_data_in_leaf": 5,
              "zero_as_missing": False, "verbose": -1, "seed": seed}  # fmt: skip
    data = lightgbm.Dataset(matrix, labels, categorical_feature=[2])
    return lightgbm.train(params, data, num_boost_round=40), matrix


def test_tables_agree_with_lightgbm_on_real_and_awkward_rows():
    booster, matrix = _booster(leaves=7)
    tables = LeafTables.of(booster.dump_model())
    assert tables is not None and len(tables.categorical) > 0
    awkward = matrix[:400].copy()
    awkward[::7, 1] = np.nan
    awkward[::5, 2] = np.nan  # a missing category
    awkward[::11, 2] = 17.0  # a category never seen
    awkward[::13, 3] = 0.0
    awkward[::3, 0] = -1e-40  # "zero" to LightGBM
    for rows in (matrix[:1], matrix[:100], matrix, awkward):
        expected = booster.predict(rows, pred_contrib=True)
        np.testing.assert_allclose(tables.contributions(rows), expected, rtol=0, atol=1e-9)


def test_deep_trees_keep_lightgbm_and_the_check_passes_small_ones():
    deep, _ = _booster(leaves=63)
    assert LeafTables.of(deep.dump_model()) is None
    assert checked_tables(deep) is None
    small, matrix = _booster(leaves=5, seed=3)
    tables = checked_tables(small)
    assert tables is not None
    np.testing.assert_allclose(
        tables.contributions(matrix[:50]), small.predict(matrix[:50], pred_contrib=True), atol=1e-9
    )


def test_a_broken_table_is_not_used(monkeypatch: pytest.MonkeyPatch):
    small, _ = _booster(leaves=5, seed=4)
    original = LeafTables.contributions
    monkeypatch.setattr(LeafTables, "contributions", lambda self, m: original(self, m) + 1e-6)
    assert checked_tables(small) is None
