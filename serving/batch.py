"""Batch scoring of a data folder's followers or a lead table, with the service's scoring code."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.build import build_follower_features, to_utc_timestamp
from features.events.load import load_tables
from features.events.mapping import EventLogMapping
from features.events.span import without_strays
from features.io import DEFAULT_READ, ReadOptions, read_table
from features.labels import select_snapshot_followers
from serving.model.bundle import ScoringBundle
from serving.model.spec import EventsInput, TableInput
from serving.scoring import DEFAULT_REASONS, score_features

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowerScores:
    """Scores of a data folder's followers, and the cutoff they were scored as of."""

    scores: pd.DataFrame
    as_of: pd.Timestamp


def score_followers(
    data: Path,
    as_of: pd.Timestamp | str | None,
    bundle: ScoringBundle,
    model_version: str,
    mapping: EventLogMapping | None = None,
    reasons: int = DEFAULT_REASONS,
    read: ReadOptions = DEFAULT_READ,
) -> FollowerScores:
    """Scores of every follower who had followed before `as_of` and not yet converted.

    `data` is a data folder or one events file, read through `mapping` if given; each score
    carries up to `reasons` reasons up and down (0 skips them, which is faster). Without
    `as_of`, scores are as of the midnight after the last dense day of events. `read` says how
    text files are read.
    """
    inputs = bundle.spec.expect(EventsInput)
    tables = load_tables(data, mapping, read)
    if tables.interactions.empty:
        raise ValueError("no interactions to score from")
    # Stray timestamps (clock errors) are left out as training left them out.
    tables, span = without_strays(tables)
    cutoff = to_utc_timestamp(as_of) if as_of is not None else span.end
    followers = select_snapshot_followers(tables.followers, tables.conversions, cutoff)
    logger.info("scoring %s followers as of %s", f"{len(followers):,}", cutoff)
    features = build_follower_features(
        tables.interactions, followers, cutoff, tables.posts, inputs.features
    )
    return FollowerScores(score_features(features, bundle, model_version, reasons), cutoff)


def score_lead_table(
    path: Path,
    bundle: ScoringBundle,
    model_version: str,
    reasons: int = DEFAULT_REASONS,
    read: ReadOptions = DEFAULT_READ,
) -> pd.DataFrame:
    """Scores of every row of a lead table (any file `read_table` reads) with a table model.

    The first column is the model's id column; the rows keep the table's order. The target
    column, if present, and any other extra columns are ignored; a missing feature column or a
    bad value stops with an error naming it.
    """
    bundle.spec.expect(TableInput)
    features = bundle.prepare(read_table(path, read))
    logger.info("scoring %d leads of %s", len(features), path)
    return score_features(features, bundle, model_version, reasons)
