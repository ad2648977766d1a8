"""Shapley shares of one tree's leaves for every pattern of decisions: LightGBM's EXTEND and
UNWIND steps of path-dependent TreeSHAP, run over all patterns at once with NumPy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Split:
    """One split on a leaf's path, and the side the path takes there."""

    node: int  # position among all splits of the model
    left: bool  # the path goes left here


@dataclass
class Leaf:
    """A leaf and its path, as path-dependent TreeSHAP sees it."""

    value: float
    # Features on the path in LightGBM's order, each with its cover fraction and its splits.
    features: list[int]
    zero: list[float]
    splits: list[list[Split]]


def _leaf_table(leaf: Leaf) -> np.ndarray:
    """The leaf's share to each feature on its path, for every pattern of one-fractions:
    LightGBM's EXTEND over the path, then UNWOUND-PATH-SUM per feature, over 2^d patterns."""
    depth = len(leaf.features)
    patterns = np.arange(1 << depth)
    ones = [((patterns >> j) & 1).astype(np.float64) for j in range(depth)]
    # pweights of the root's dummy element (zero = one = 1), then each feature's.
    weights = [np.ones(len(patterns))]
    for count, (zero, one) in enumerate(zip(leaf.zero, ones, strict=True), start=1):
        weights.append(np.zeros(len(patterns)))
        for i in range(count - 1, -1, -1):
            weights[i + 1] = weights[i + 1] + one * weights[i] * (i + 1) / (count + 1)
            weights[i] = zero * weights[i] * (count - i) / (count + 1)
    table = np.empty((len(patterns), depth))
    for j in range(depth):
        table[:, j] = _unwound_sum(weights, depth, leaf.zero[j], ones[j])
        table[:, j] *= (ones[j] - leaf.zero[j]) * leaf.value
    return table


def tree_table(leaves: list[Leaf], first: int, end: int) -> dict[int, np.ndarray]:
    """A tree's share to each feature it splits on, for every pattern of decisions at its
    splits (bit j: the row goes left at split first + j): the sum of its leaves' shares."""
    patterns = np.arange(1 << (end - first))
    shares: dict[int, np.ndarray] = {}
    for leaf in leaves:
        if not leaf.features:
            continue
        table = _leaf_table(leaf)
        bits = np.zeros(len(patterns), dtype=np.int64)
        for position, splits in enumerate(leaf.splits):
            follows = np.ones(len(patterns), dtype=bool)
            for split in splits:
                follows &= ((patterns >> (split.node - first)) & 1).astype(bool) == split.left
            bits |= follows.astype(np.int64) << position
        for position, feature in enumerate(leaf.features):
            share = table[bits, position]
            shares[feature] = shares[feature] + share if feature in shares else share
    return shares


def _unwound_sum(weights: list[np.ndarray], depth: int, zero: float, one: np.ndarray) -> np.ndarray:
    """LightGBM's UnwoundPathSum for one path element, for every pattern (one is 0 or 1)."""
    hot = one != 0
    safe_one = np.where(hot, one, 1.0)
    next_portion = weights[depth]
    total = np.zeros(len(one))
    for i in range(depth - 1, -1, -1):
        share = next_portion * (depth + 1) / ((i + 1) * safe_one)
        cold = (weights[i] / zero) / ((depth - i) / (depth + 1)) if zero else 0.0
        total = total + np.where(hot, share, cold)
        next_portion = weights[i] - share * zero * ((depth - i) / (depth + 1))
    return total
