"""From probabilities to what a salesperson reads: 1-99 scores by held-out cut-offs, and tiers."""

from __future__ import annotations

import numpy as np

TIERS: tuple[tuple[str, int], ...] = (("A", 90), ("B", 70), ("C", 40), ("D", 1))


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
