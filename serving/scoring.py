"""Scores from feature frames: the one scoring function of the service and of batch scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd

from serving.model.bundle import ScoringBundle
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


def score_features(
    features: pd.DataFrame,
    bundle: ScoringBundle,
    model_version: str,
    reasons: int = DEFAULT_REASONS,
) -> pd.DataFrame:
    """One row per row of prepared `features` (indexed by the id), in the same order.

    `reasons_up` and `reasons_down` hold up to `reasons` plain-words reasons each: the features
    pushing this row's score up (or down) most, by their exact TreeSHAP contributions. The
    first column is the model's id column (`spec.entity_key`): follower_id, or a table model's
    own id (e.g. "Prospect ID").
    """
    matrix = bundle.model_input(features)
    probability = bundle.predict_input(matrix)
    score = score_from_probability(probability, bundle.spec.score_cutoffs)
    if reasons:
        up, down = explain_rows(features, matrix, bundle, reasons)
    else:
        up = down = [[] for _ in range(len(features))]
    key = bundle.spec.entity_key
    return pd.DataFrame(
        {
            key: features.index.astype("str"),
            "probability": probability,
            "score": score,
            "tier": tier_from_score(score),
            "reasons_up": up,
            "reasons_down": down,
            "model_version": model_version,
        },
        columns=[key, *SCORE_COLUMNS[1:]],
    )


def explain_rows(
    features: pd.DataFrame, matrix: np.ndarray, bundle: ScoringBundle, top: int
) -> tuple[list[list[str]], list[list[str]]]:
    """Per row, the phrases of the `top` features raising and lowering the score most.

    `matrix` is the model input of `features`; the phrases quote the unencoded values, in the
    words of the model's inputs (the feature catalogue, or a lead table's own columns).
    """
    if len(features) == 0:
        return [], []
    columns = bundle.spec.feature_columns
    contributions = bundle.contributions(matrix)[:, : len(columns)]
    values = features[columns].to_numpy(dtype=object)
    say = bundle.spec.inputs.say
    up: list[list[str]] = []
    down: list[list[str]] = []
    for row, weights in enumerate(contributions):
        # The strongest features either way, phrased; features that say the same thing in
        # words ("no events in the last 90 days") count once, with their weights summed, so a
        # phrase is never both a reason up and a reason down.
        order = np.argsort(weights)
        candidates = np.unique(np.concatenate([order[::-1][: 2 * top], order[: 2 * top]]))
        said: dict[str, float] = {}
        for i in candidates:
            phrase = say(columns[i], values[row, i])
            said[phrase] = said.get(phrase, 0.0) + float(weights[i])
        ranked = sorted(said.items(), key=lambda item: item[1])
        up.append([phrase for phrase, weight in ranked[::-1][:top] if weight > 0])
        down.append([phrase for phrase, weight in ranked[:top] if weight < 0])
    return up, down


def flatten_reasons(scores: pd.DataFrame, separator: str = "; ") -> pd.DataFrame:
    """Reasons as one text cell each, for CSV files."""
    return scores.assign(
        reasons_up=scores["reasons_up"].map(separator.join),
        reasons_down=scores["reasons_down"].map(separator.join),
    )
