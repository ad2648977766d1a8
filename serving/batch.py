"""Batch scoring of a data folder's followers or a lead table, with the service's scoring code."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.build import build_follower_features, to_utc_timestamp
from features.cluster import (
    Part,
    event_positions,
    in_followers_order,
    parts_for,
    run_parts,
    split_by_follower,
)
from features.events.load import Tables, load_tables
from features.events.mapping import EventLogMapping
from features.events.span import without_strays
from features.io import DEFAULT_READ, ReadOptions, read_table
from features.labels import select_snapshot_followers
from features.schema import ENTITY_KEY, FeatureConfig
from features.write import TableWriter
from serving.model.bundle import ScoringBundle
from serving.model.drift import DriftCounts, Reference
from serving.model.spec import EventsInput, TableInput
from serving.scoring import DEFAULT_REASONS, flatten_reasons, score_frame

if TYPE_CHECKING:
    from dask.distributed import Client

logger = logging.getLogger(__name__)


# Followers whose features and scores are held at once: memory stays bounded by the chunk.
CHUNK_FOLLOWERS = 50_000


@dataclass(frozen=True)
class FollowerScores:
    """Scores of a data folder's followers, and the cutoff they were scored as of."""

    scores: pd.DataFrame
    as_of: pd.Timestamp


@dataclass(frozen=True)
class FollowerBatch:
    """The followers to score as of a cutoff, with the tables their features come from."""

    tables: Tables
    followers: pd.DataFrame
    as_of: pd.Timestamp
    # Listed followers (`only`) who are not scored: not in the data, not following yet, or
    # already converted as of the cutoff.
    not_found: list[str]

    def __len__(self) -> int:
        return len(self.followers)

    def feature_chunks(self, config: FeatureConfig, size: int) -> Iterator[pd.DataFrame]:
        """Features of `size` followers at a time, in order, each from only their own events."""
        events, ids = self.tables.interactions, self.followers[ENTITY_KEY]
        starts = range(0, max(len(ids), 1), size)  # an empty batch is one empty chunk
        if len(starts) == 1:  # the kernels skip events of others: no copy needed
            yield self._features(events, 0, size, config)
            return
        chunk_of = np.arange(len(ids)) // size
        positions = event_positions(events, ids, chunk_of, len(starts))
        for start, held in zip(starts, positions, strict=True):
            yield self._features(events.take(held), start, size, config)

    def _features(
        self, events: pd.DataFrame, start: int, size: int, config: FeatureConfig
    ) -> pd.DataFrame:
        followers = self.followers.iloc[start : start + size]
        return build_follower_features(events, followers, self.as_of, self.tables.posts, config)


def followers_to_score(
    data: Path,
    as_of: pd.Timestamp | str | None,
    mapping: EventLogMapping | None = None,
    read: ReadOptions = DEFAULT_READ,
    only: Sequence[str] | None = None,
) -> FollowerBatch:
    """Every follower who had followed before `as_of` and not yet converted, or those of `only`
    among them, in its order.

    `data` is a data folder or one events file, read through `mapping` if given. Without
    `as_of`, the cutoff is the midnight after the last dense day of events. `read` says how
    text files are read.
    """
    tables = load_tables(data, mapping, read)
    if tables.interactions.empty:
        raise ValueError("no interactions to score from")
    # Stray timestamps (clock errors) are left out as training left them out.
    tables, span = without_strays(tables)
    cutoff = to_utc_timestamp(as_of) if as_of is not None else span.end
    followers = select_snapshot_followers(tables.followers, tables.conversions, cutoff)
    not_found: list[str] = []
    if only is not None:
        listed = pd.Index(pd.unique(pd.Series(list(only), dtype="str")))
        rows = pd.Index(followers[ENTITY_KEY]).get_indexer(listed)
        not_found = listed[rows < 0].tolist()
        followers = followers.iloc[rows[rows >= 0]].reset_index(drop=True)
    return FollowerBatch(tables, followers, cutoff, not_found)


def score_chunks(
    batch: FollowerBatch,
    bundle: ScoringBundle,
    model_version: str,
    reasons: int = DEFAULT_REASONS,
    size: int = CHUNK_FOLLOWERS,
    drift: DriftCounts | None = None,
    client: Client | None = None,
) -> Iterator[pd.DataFrame]:
    """Scores of `size` followers at a time, in the batch's order; `drift` counts them.

    With a Dask `client`, followers are split by a hash of their id and each part's features
    and scores are made on a worker with the same code: the same rows in the same order.
    """
    config = bundle.spec.expect(EventsInput).features
    if client is None:
        for features in batch.feature_chunks(config, size):
            yield score_frame(features, bundle, model_version, reasons, drift).frame()
        return
    parts = split_by_follower(batch.tables.interactions, batch.followers, parts_for(client))
    logger.info("scoring %s followers in %d parts on Dask", f"{len(batch):,}", len(parts))
    reference = None if drift is None else drift.reference
    shared = (batch.as_of, batch.tables.posts, config, bundle, model_version, reasons, reference)
    results = run_parts(client, _score_part, parts, *shared)
    scores = in_followers_order([frame for frame, _ in results], parts).reset_index(drop=True)
    if drift is not None:
        for _, counted in results:
            drift.merge(counted)
    for start in range(0, max(len(scores), 1), size):
        yield scores.iloc[start : start + size].reset_index(drop=True)


def _score_part(
    part: Part,
    as_of: pd.Timestamp,
    posts: pd.DataFrame | None,
    config: FeatureConfig,
    bundle: ScoringBundle,
    model_version: str,
    reasons: int,
    reference: Reference | None,
) -> tuple[pd.DataFrame, DriftCounts | None]:
    """One part's scores (and drift counts) on a worker."""
    features = build_follower_features(part.events, part.followers, as_of, posts, config)
    drift = None if reference is None else DriftCounts(reference)
    return score_frame(features, bundle, model_version, reasons, drift).frame(), drift


def score_followers(
    data: Path,
    as_of: pd.Timestamp | str | None,
    bundle: ScoringBundle,
    model_version: str,
    mapping: EventLogMapping | None = None,
    reasons: int = DEFAULT_REASONS,
    read: ReadOptions = DEFAULT_READ,
) -> FollowerScores:
    """Scores of every follower who had followed before `as_of` and not yet converted, all at
    once (`followers_to_score` and `score_chunks` hold one chunk at a time).

    Each score carries up to `reasons` reasons up and down (0 skips them, which is faster).
    """
    bundle.spec.expect(EventsInput)
    batch = followers_to_score(data, as_of, mapping, read)
    logger.info("scoring %s followers as of %s", f"{len(batch):,}", batch.as_of)
    (scores,) = score_chunks(batch, bundle, model_version, reasons, max(len(batch), 1))
    return FollowerScores(scores, batch.as_of)


def score_lead_table(
    path: Path,
    bundle: ScoringBundle,
    model_version: str,
    reasons: int = DEFAULT_REASONS,
    read: ReadOptions = DEFAULT_READ,
    drift: DriftCounts | None = None,
) -> pd.DataFrame:
    """Scores of every row of a lead table (any file `read_table` reads) with a table model.

    The first column is the model's id column; the rows keep the table's order. The target
    column, if present, and any other extra columns are ignored; a missing feature column or a
    bad value stops with an error naming it.
    """
    bundle.spec.expect(TableInput)
    features = bundle.prepare(read_table(path, read))
    logger.info("scoring %d leads of %s", len(features), path)
    return score_frame(features, bundle, model_version, reasons, drift).frame()


@dataclass
class ScoreTally:
    """What a batch run has scored so far: rows, rows per tier, expected leads, the top rows."""

    top_n: int
    rows: int = 0
    tiers: dict[str, int] = field(default_factory=dict)
    expected_leads: float = 0.0  # the sum of probabilities
    top: pd.DataFrame | None = None

    def add(self, scores: pd.DataFrame) -> None:
        self.rows += len(scores)
        for tier, count in scores["tier"].value_counts().items():
            self.tiers[str(tier)] = self.tiers.get(str(tier), 0) + int(count)
        self.expected_leads += float(scores["probability"].sum())
        best = scores.nlargest(self.top_n, "probability")
        self.top = (
            best
            if self.top is None
            else pd.concat([self.top, best]).nlargest(self.top_n, "probability")
        )

    @property
    def mean_probability(self) -> float:
        return self.expected_leads / self.rows if self.rows else 0.0


def write_scores(
    chunks: Iterable[pd.DataFrame], out: Path, top: int, done: Callable[[int], None]
) -> ScoreTally:
    """Write chunks of scores to `out` (CSV or Parquet, whole or not at all) as they come,
    calling `done` with each chunk's size; what was written, tallied."""
    tally = ScoreTally(top)
    with TableWriter(out) as writer:
        for scores in chunks:
            # CSV has no lists: the reasons become one "; "-separated text cell each.
            writer.write(flatten_reasons(scores) if out.suffix == ".csv" else scores)
            tally.add(scores)
            done(len(scores))
    return tally
