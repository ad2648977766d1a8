"""Scores from feature values: the one scoring function of the service and of batch scoring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter

import numpy as np
import pandas as pd

from serving.model.bundle import ScoringBundle
from serving.model.drift import DriftCounts
from serving.model.phrasing import Phrasebook
from serving.model.scores import score_from_probability, tier_from_score

SCORE_COLUMNS: tuple[str, ...] = (
    "follower_id",
    "probability",
    "score",
    "tier",
    "reasons_up",
    "reasons_down",
    "model_version",
)
DEFAULT_REASONS = 3
# Rows explained at a time: TreeSHAP's matrix is rows x columns floats.
EXPLAIN_CHUNK = 50_000


@dataclass(frozen=True)
class Scores:
    """Scores of rows, column by column, in the rows' order; `key` names the id column."""

    key: str
    ids: list[str]
    probability: np.ndarray
    score: np.ndarray
    tier: np.ndarray
    reasons_up: list[list[str]]
    reasons_down: list[list[str]]
    model_version: str

    def frame(self) -> pd.DataFrame:
        """As a frame whose first column is the id, then SCORE_COLUMNS' others."""
        return pd.DataFrame(
            {
                self.key: pd.Series(self.ids, dtype="str"),
                "probability": self.probability,
                "score": self.score,
                # Text dtypes said outright: a Dask worker may infer other defaults.
                "tier": pd.Series(self.tier, dtype="str"),
                "reasons_up": self.reasons_up,
                "reasons_down": self.reasons_down,
                "model_version": self.model_version,
            },
            columns=[self.key, *SCORE_COLUMNS[1:]],
        )

    def records(self, key: str | None = None) -> list[dict[str, object]]:
        """One plain dict per row (JSON-ready), the id under `key` (default: `self.key`)."""
        names = (key or self.key, *SCORE_COLUMNS[1:])
        version = [self.model_version] * len(self.ids)
        columns = (self.ids, self.probability.tolist(), self.score.tolist(), self.tier.tolist(),
                   self.reasons_up, self.reasons_down, version)  # fmt: skip
        return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def score_rows(
    ids: list[str],
    values: Sequence[np.ndarray],
    matrix: np.ndarray,
    bundle: ScoringBundle,
    model_version: str,
    reasons: int = DEFAULT_REASONS,
) -> Scores:
    """Scores of rows given as the model reads them (`matrix`) and as people read them
    (`values`, one array per model column, for the reasons), with their ids.

    Each row gets up to `reasons` plain-words reasons up and down: the features pushing its
    score up (or down) most, by their exact TreeSHAP contributions.
    """
    probability = bundle.predict_input(matrix)
    score = score_from_probability(probability, bundle.spec.score_cutoffs)
    if reasons and len(ids):
        up, down = explain(values, matrix, bundle, reasons)
    else:
        up, down = [[] for _ in ids], [[] for _ in ids]
    return Scores(
        bundle.spec.entity_key, ids, probability, score, tier_from_score(score), up, down,
        model_version,
    )  # fmt: skip


def score_frame(
    features: pd.DataFrame,
    bundle: ScoringBundle,
    model_version: str,
    reasons: int = DEFAULT_REASONS,
    drift: DriftCounts | None = None,
) -> Scores:
    """Scores of the rows of prepared `features` (indexed by the id), in the same order;
    `drift`, if given, counts the rows as the model read them."""
    matrix = bundle.model_input(features)
    values = [features[column].to_numpy() for column in bundle.spec.feature_columns]
    ids = features.index.astype("str").tolist()
    scores = score_rows(ids, values, matrix, bundle, model_version, reasons)
    if drift is not None:
        drift.add(matrix, scores.probability)
    return scores


def score_features(
    features: pd.DataFrame,
    bundle: ScoringBundle,
    model_version: str,
    reasons: int = DEFAULT_REASONS,
) -> pd.DataFrame:
    """One row per row of prepared `features` (indexed by the id), in the same order.

    The first column is the model's id column (`spec.entity_key`): follower_id, or a table
    model's own id (e.g. "Prospect ID"); see `score_rows` for the rest.
    """
    return score_frame(features, bundle, model_version, reasons).frame()


def explain(
    values: Sequence[np.ndarray], matrix: np.ndarray, bundle: ScoringBundle, top: int
) -> tuple[list[list[str]], list[list[str]]]:
    """Per row, the phrases of the `top` features raising and lowering the score most.

    The phrases quote `values` (one array per model column, unencoded), in the words of the
    model's inputs (the feature catalogue, or a lead table's own columns).
    """
    up: list[list[str]] = []
    down: list[list[str]] = []
    for start in range(0, len(matrix), EXPLAIN_CHUNK):
        rows = slice(start, start + EXPLAIN_CHUNK)
        weights = bundle.contributions(matrix[rows])[:, : len(values)]
        chunk = [column[rows] for column in values]
        _phrase_rows(chunk, weights, bundle.phrasebook, top, up, down)
    return up, down


def _phrase_rows(
    values: Sequence[np.ndarray],
    weights: np.ndarray,
    phrase: Phrasebook,
    top: int,
    up: list[list[str]],
    down: list[list[str]],
) -> None:
    """Append each row's reasons to `up` and `down`."""
    width = weights.shape[1]
    strongest = min(2 * top, width)
    # The strongest features either way, in column order, for all rows at once.
    order = np.argsort(weights, axis=1)
    candidates = np.sort(np.hstack([order[:, :strongest], order[:, width - strongest :]]), axis=1)
    for row, (row_weights, row_candidates) in enumerate(
        zip(weights.tolist(), candidates.tolist(), strict=True)
    ):
        # Features that say the same thing in words ("no events in the last 90 days") count
        # once, with their weights summed, so a phrase is never both a reason up and down.
        said: dict[str, float] = {}
        last = -1
        for i in row_candidates:
            # A feature with no weight changes no sum: it is neither said nor merged.
            if i != last and (weight := row_weights[i]):
                words = phrase(i, values[i][row])
                said[words] = said.get(words, 0.0) + weight
            last = i
        ranked = sorted(said.items(), key=itemgetter(1))
        up.append([words for words, weight in ranked[::-1][:top] if weight > 0])
        down.append([words for words, weight in ranked[:top] if weight < 0])


def flatten_reasons(scores: pd.DataFrame, separator: str = "; ") -> pd.DataFrame:
    """Reasons as one text cell each, for CSV files."""
    return scores.assign(
        reasons_up=scores["reasons_up"].map(separator.join),
        reasons_down=scores["reasons_down"].map(separator.join),
    )
