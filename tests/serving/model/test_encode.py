"""Model input and score mapping: unseen categories still score, scores span 1–99."""

from __future__ import annotations

import numpy as np
import pandas as pd

from serving.model.encode import CategoryLevels, to_model_input
from serving.model.scores import make_score_cutoffs, score_from_probability, tier_from_score


def test_levels_are_learned_most_frequent_first():
    frame = pd.DataFrame({"platform": ["x", "tiktok", "x", None], "country": ["FR"] * 4})
    levels = CategoryLevels(columns=("platform", "country")).fit(frame).levels_
    assert levels == {"platform": ["x", "tiktok"], "country": ["FR"]}


def test_unseen_and_missing_categories_become_nan():
    frame = pd.DataFrame({"n": [1, 2, 3], "platform": ["tiktok", "myspace", None]})
    matrix = to_model_input(frame, ["n", "platform"], {"platform": ["x", "tiktok"]})
    assert matrix.dtype == np.float64
    assert matrix[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert matrix[0, 1] == 1.0 and np.isnan(matrix[1, 1]) and np.isnan(matrix[2, 1])


def test_missing_feature_column_is_named():
    try:
        to_model_input(pd.DataFrame({"n": [1]}), ["n", "m"], {})
    except ValueError as error:
        assert "missing feature column(s): m" in str(error)
    else:
        raise AssertionError("no error")


def test_scores_are_percentiles_of_the_reference():
    reference = np.linspace(0, 1, 10_001)
    cutoffs = make_score_cutoffs(reference)
    scores = score_from_probability(np.array([0.0, 0.005, 0.5, 0.995, 1.0]), cutoffs)
    assert scores.tolist() == [1, 1, 50, 99, 99]
    assert score_from_probability(reference, cutoffs).min() == 1
    assert score_from_probability(reference, cutoffs).max() == 99


def test_tiers():
    assert tier_from_score(np.array([1, 39, 40, 69, 70, 89, 90, 99])).tolist() == list("DDCCBBAA")
