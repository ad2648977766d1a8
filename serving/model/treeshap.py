"""Exact TreeSHAP for many rows at once, from per-leaf tables: LightGBM's own algorithm, run ahead.

Path-dependent TreeSHAP gives each leaf's share to the features on its path from the covers
along the path (fixed) and from which of the path's splits a row follows (one bit per feature
on the path). A leaf with d features on its path therefore has only 2^d possible shares: they
are computed once per model, with LightGBM's EXTEND and UNWIND steps, and a batch of rows then
costs a few array operations (decide every split, read each leaf's bits, gather, sum) instead of
a walk of every path per row: ~4x faster at 100 rows. Models whose tables would be too large
(deep trees) keep LightGBM's walk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from serving.model.shapley import Leaf, Split, tree_table

# Table entries (float64) a model may use; beyond, LightGBM's walk is used.
MAX_TABLE = 8_000_000
MAX_TREE_SPLITS = 12
# Rows per pass: the gathered index arrays are rows x path-steps.
CHUNK_ROWS = 1_024
# How closely the tables must agree with LightGBM's own TreeSHAP to be used.
AGREEMENT = 1e-9
# LightGBM's kZeroThreshold: |value| at most this is "zero" for missing_type Zero.
ZERO = 1e-35


class LeafTables:
    """TreeSHAP contributions of a LightGBM model (a `Booster.dump_model()`), vectorised."""

    def __init__(self, model: dict[str, Any]) -> None:
        self.width = model["max_feature_idx"] + 1
        nodes: list[dict[str, Any]] = []
        trees: list[tuple[int, int, dict[int, np.ndarray]]] = []
        self.bias = 0.0
        for tree in model["tree_info"]:
            root, first = tree["tree_structure"], len(nodes)
            self.bias += _expected(root)
            leaves: list[Leaf] = []
            _walk(root, nodes, leaves, Leaf(0.0, [], [], []))
            if len(nodes) > first:
                trees.append((first, len(nodes) - first, tree_table(leaves, first, len(nodes))))
        self._nodes(nodes)
        self._trees(trees, len(nodes))

    @classmethod
    def of(cls, model: dict[str, Any]) -> LeafTables | None:
        """The tables, or None when they would be too large for this model (deep trees)."""
        splits = [_splits(tree["tree_structure"]) for tree in model["tree_info"]]
        if not splits or not 0 < max(splits) <= MAX_TREE_SPLITS:
            return None
        if sum((1 << k) * k for k in splits) > MAX_TABLE:
            return None
        return cls(model)

    def contributions(self, matrix: np.ndarray) -> np.ndarray:
        """As `Booster.predict(matrix, pred_contrib=True)`: one column per feature, bias last."""
        out = np.zeros((len(matrix), self.width + 1))
        out[:, -1] = self.bias
        for start in range(0, len(matrix), CHUNK_ROWS):
            rows = slice(start, start + CHUNK_ROWS)
            out[rows, self.used] = self._chunk(np.asarray(matrix[rows], dtype=np.float64))
        return out

    def _chunk(self, matrix: np.ndarray) -> np.ndarray:
        # Rows run along the last axis, so every step below works on whole contiguous rows.
        left = self._decide(np.ascontiguousarray(matrix.T))
        pattern = np.zeros((len(self.base), len(matrix)), dtype=np.int64)
        for bit, nodes in enumerate(self.node_grid.T):
            pattern |= left[nodes].astype(np.int64) << bit
        index = self.base[:, None] + pattern * self.depth
        shares = self.table[index[self.cell_tree] + self.cell_offset[:, None]]
        return np.add.reduceat(shares, self.feature_start, axis=0).T

    def _decide(self, columns: np.ndarray) -> np.ndarray:
        """Whether each row (a column of `columns`) goes left at each split, as LightGBM
        decides: one row per split."""
        values = columns[self.node_feature]
        missing = np.isnan(values)
        numbers = np.where(missing & ~self.nan_missing[:, None], 0.0, values)
        default = (self.zero_missing[:, None] & (np.abs(numbers) <= ZERO)) | (
            self.nan_missing[:, None] & missing
        )
        with np.errstate(invalid="ignore"):
            left = np.where(default, self.default_left[:, None], numbers <= self.threshold[:, None])
        if len(self.categorical):
            codes = values[self.categorical]
            usable = ~np.isnan(codes) & (codes >= 0) & (codes < self.levels.shape[1])
            whole = np.where(usable, codes, 0).astype(np.int64)
            picked = self.levels[np.arange(len(self.categorical))[:, None], whole]
            left[self.categorical] = usable & picked
        return np.vstack([left, np.zeros((1, left.shape[1]), dtype=bool)])

    def _nodes(self, nodes: list[dict[str, Any]]) -> None:
        self.node_feature = np.array([n["split_feature"] for n in nodes], dtype=np.int64)
        numeric = [n["decision_type"] == "<=" for n in nodes]
        self.threshold = np.array(
            [
                float(n["threshold"]) if is_numeric else np.inf
                for n, is_numeric in zip(nodes, numeric, strict=True)
            ]
        )
        self.nan_missing = np.array([n["missing_type"] == "NaN" for n in nodes])
        self.zero_missing = np.array([n["missing_type"] == "Zero" for n in nodes])
        self.default_left = np.array([bool(n["default_left"]) for n in nodes])
        self.categorical = np.array(
            [i for i, is_numeric in enumerate(numeric) if not is_numeric], dtype=np.int64
        )
        # Categorical splits never go to the default branch: their default is decided below.
        self.nan_missing[self.categorical] = False
        self.zero_missing[self.categorical] = False
        sets = [[int(c) for c in str(nodes[i]["threshold"]).split("||")] for i in self.categorical]
        self.levels = np.zeros((len(sets), max((max(s) for s in sets), default=0) + 1), bool)
        for row, levels in enumerate(sets):
            self.levels[row, levels] = True

    def _trees(self, trees: list[tuple[int, int, dict[int, np.ndarray]]], nodes: int) -> None:
        """Each tree's splits (padded with a split no row takes) and its table of shares per
        pattern of decisions, one column per feature it splits on."""
        splits = max(count for _, count, _ in trees)
        self.depth = max(len(shares) for _, _, shares in trees)
        never = nodes  # `_decide` adds a last row of False
        self.node_grid = np.full((len(trees), splits), never, dtype=np.int64)
        tables, base, cell_tree, cell_offset, cell_feature = [], [], [], [], []
        offset = 0
        for number, (first, count, shares) in enumerate(trees):
            self.node_grid[number, :count] = np.arange(first, first + count)
            block = np.zeros((1 << count, self.depth))
            for column, (feature, values) in enumerate(shares.items()):
                block[:, column] = values
                cell_tree.append(number)
                cell_offset.append(column)
                cell_feature.append(feature)
            base.append(offset)
            tables.append(block.ravel())
            offset += block.size
        self.base = np.array(base, dtype=np.int64)
        self.table = np.concatenate(tables)
        # Cells (a tree's column) ordered by feature, so one sum per feature adds them up.
        features = np.array(cell_feature, dtype=np.int64)
        order = np.argsort(features, kind="stable")
        self.cell_tree = np.array(cell_tree, dtype=np.int64)[order]
        self.cell_offset = np.array(cell_offset, dtype=np.int64)[order]
        self.used, self.feature_start = np.unique(features[order], return_index=True)


def _walk(node: dict[str, Any], nodes: list, leaves: list[Leaf], path: Leaf) -> None:
    """Every leaf with its path: features in LightGBM's order (a repeated feature moves to the
    end, its fractions multiplied), each with the splits (and sides) the path takes on it."""
    if "leaf_value" in node:
        leaves.append(Leaf(float(node["leaf_value"]), path.features, path.zero, path.splits))
        return
    position = len(nodes)
    nodes.append(node)
    feature, total = node["split_feature"], _count(node)
    for side, child in ((True, node["left_child"]), (False, node["right_child"])):
        features, zero, splits = list(path.features), list(path.zero), list(path.splits)
        fraction, taken = _count(child) / total, [Split(position, side)]
        if feature in features:
            at = features.index(feature)
            fraction *= zero.pop(at)
            taken = splits.pop(at) + taken
            features.pop(at)
        features.append(feature)
        zero.append(fraction)
        splits.append(taken)
        _walk(child, nodes, leaves, Leaf(0.0, features, zero, splits))


def _count(node: dict[str, Any]) -> float:
    return float(node["leaf_count"] if "leaf_value" in node else node["internal_count"])


def _expected(node: dict[str, Any]) -> float:
    """The tree's mean output weighted by cover: its part of the bias column."""
    if "leaf_value" in node:
        return float(node["leaf_value"])
    total = _count(node)
    return sum(
        _count(child) / total * _expected(child)
        for child in (node["left_child"], node["right_child"])
    )


def _splits(node: dict[str, Any]) -> int:
    if "leaf_value" in node:
        return 0
    return 1 + _splits(node["left_child"]) + _splits(node["right_child"])


def checked_tables(booster: Any, rows: int = 256, seed: int = 0) -> LeafTables | None:
    """The tables of a LightGBM booster if they agree with its own TreeSHAP to 1e-9 on rows made
    to meet every split (each threshold itself, just past it, missing, zero, negative); else None,
    and LightGBM's walk is used."""
    model = booster.dump_model()
    tables = LeafTables.of(model)
    if tables is None:
        return None
    matrix = _probe_rows(tables, rows, seed)
    expected = booster.predict(matrix, pred_contrib=True)
    return tables if np.abs(tables.contributions(matrix) - expected).max() <= AGREEMENT else None


def _probe_rows(tables: LeafTables, rows: int, seed: int) -> np.ndarray:
    random = np.random.default_rng(seed)
    candidates: dict[int, list[float]] = {f: [np.nan, 0.0, -1.0] for f in range(tables.width)}
    for feature, threshold in zip(tables.node_feature, tables.threshold, strict=True):
        if np.isfinite(threshold):
            candidates[int(feature)] += [threshold, np.nextafter(threshold, np.inf)]
    for row, feature in enumerate(tables.node_feature[tables.categorical]):
        candidates[int(feature)] += [float(level) for level in np.flatnonzero(tables.levels[row])]
    return np.column_stack(
        [random.choice(np.array(candidates[f]), size=rows) for f in range(tables.width)]
    )
