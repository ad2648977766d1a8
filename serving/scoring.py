"""Scores from feature frames: the one scoring function of the service and of batch scoring."""

from __future__ import annotations

import pandas as pd

from features.bundle import ScoringBundle, score_from_probability, tier_from_score

SCORE_COLUMNS: tuple[str, ...] = ("follower_id", "probability", "score", "tier", "model_version")


def score_features(
    features: pd.DataFrame, bundle: ScoringBundle, model_version: str
) -> pd.DataFrame:
    """One row per follower of `features` (indexed by follower_id), in the same order."""
    probability = bundle.predict_proba(features)
    score = score_from_probability(probability, bundle.spec.score_cutoffs)
    return pd.DataFrame(
        {
            "follower_id": features.index.astype("str"),
            "probability": probability,
            "score": score,
            "tier": tier_from_score(score),
            "model_version": model_version,
        },
        columns=list(SCORE_COLUMNS),
    )
