"""Batch scoring of a data folder's followers or a lead table, with the service's scoring code."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from features.build import build_follower_features, to_utc_timestamp
from features.events.load import load_tables
from features.events.mapping import EventLogMapping
from features.labels import select_snapshot_followers
from features.tabular.spec import load_table
from serving.model.bundle import ScoringBundle
from serving.scoring import DEFAULT_REASONS, score_features

logger = logging.getLogger(__name__)


def score_data_dir(
    data_dir: Path,
    as_of: pd.Timestamp | str | None,
    bundle: ScoringBundle,
    model_version: str,
    mapping: EventLogMapping | None = None,
    reasons: int = DEFAULT_REASONS,
) -> pd.DataFrame:
    """Scores of every follower who had followed before `as_of` and not yet converted.

    `data_dir` is a data folder or one events file, read through `mapping` if given; each
    score carries up to `reasons` reasons up and down (0 skips them, which is faster).
    Without `as_of`, scores are as of the midnight after the newest event; the cutoff used
    is in `scores.attrs["as_of"]`.
    """
    if bundle.spec.mode != "events":
        raise ValueError(
            f"the model's mode is {bundle.spec.mode!r}: it scores a lead table (--table), "
            "not followers' events"
        )
    tables = load_tables(data_dir, mapping)
    as_of = to_utc_timestamp(as_of) if as_of is not None else end_of_data(tables.interactions)
    followers = select_snapshot_followers(tables.followers, tables.conversions, as_of)
    logger.info("scoring %d followers as of %s", len(followers), to_utc_timestamp(as_of))
    features = build_follower_features(
        tables.interactions, followers, as_of, tables.posts, bundle.features_config
    )
    scores = score_features(features, bundle, model_version, reasons)
    scores.attrs["as_of"] = as_of
    return scores


def end_of_data(interactions: pd.DataFrame) -> pd.Timestamp:
    """Midnight after the newest interaction: scores as of the end of the data."""
    if interactions.empty:
        raise ValueError("no interactions to score from")
    return interactions["occurred_at"].max().normalize() + pd.Timedelta(days=1)


def score_table(
    path: Path, bundle: ScoringBundle, model_version: str, reasons: int = DEFAULT_REASONS
) -> pd.DataFrame:
    """Scores of every row of a lead table (.csv or .parquet) with a table-mode model.

    The first column is the model's id column; the rows keep the table's order. The target
    column, if present, and any other extra columns are ignored; a missing feature column or a
    bad value stops with an error naming it.
    """
    features = bundle.table_features(load_table(path))
    logger.info("scoring %d leads of %s", len(features), path)
    return score_features(features, bundle, model_version, reasons)
