"""Snapshots to a training frame, and the time-ordered split into fit, stop, validation and test."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.build import build_follower_features
from features.cluster import cluster_features
from features.events.load import Tables
from features.labels import make_labels, select_snapshot_followers
from features.memory import release_memory
from features.schema import DEFAULT_FEATURE_CONFIG, ENTITY_KEY, LABEL_COLUMN, FeatureConfig
from training.sources.plan import SnapshotPlan

if TYPE_CHECKING:
    from dask.distributed import Client

logger = logging.getLogger(__name__)

AS_OF_COLUMN = "as_of"


def build_snapshot(
    tables: Tables,
    as_of: pd.Timestamp,
    horizon_days: int,
    features_config: FeatureConfig,
    client: Client | None = None,
) -> pd.DataFrame:
    """Features and label of every eligible follower at one snapshot date (the features made
    on a Dask `client`'s workers if given: the same, exactly)."""
    followers = select_snapshot_followers(tables.followers, tables.conversions, as_of)
    inputs = (tables.interactions, followers, as_of, tables.posts, features_config)
    if client is None:
        features = build_follower_features(*inputs)
    else:
        features = cluster_features(client, *inputs)
    conversions = tables.conversions
    if conversions is None:
        raise ValueError("training needs a conversions table")
    labels = make_labels(conversions, features.index, as_of, horizon_days)
    return features.assign(**{AS_OF_COLUMN: as_of, LABEL_COLUMN: labels}).reset_index()


def build_training_frame(
    tables: Tables,
    dates: list[pd.Timestamp],
    horizon_days: int,
    features_config: FeatureConfig = DEFAULT_FEATURE_CONFIG,
    client: Client | None = None,
) -> pd.DataFrame:
    """All snapshots stacked: follower_id, as_of, the feature columns and `converted`."""
    snapshots = []
    for as_of in dates:
        snapshot = build_snapshot(tables, as_of, horizon_days, features_config, client)
        logger.info(
            "snapshot %s: %s followers, %.2f%% converted",
            as_of.date(),
            f"{len(snapshot):,}",
            100 * snapshot[LABEL_COLUMN].mean() if len(snapshot) else 0.0,
        )
        snapshots.append(snapshot)
        release_memory()  # the kernels' temporaries, freed
    return pd.concat(snapshots, ignore_index=True)


@dataclass(frozen=True)
class TimeSplit:
    """Fit, early-stopping, validation and test rows, in that time order.

    fit and stop train the model (stop chooses the number of trees and fits the calibration);
    valid chooses between settings (tuning) and sets the score cut-offs; test only judges.
    """

    fit: pd.DataFrame
    stop: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


def build_split(
    tables: Tables,
    plan: SnapshotPlan,
    horizon_days: int,
    features_config: FeatureConfig,
    client: Client | None = None,
) -> TimeSplit:
    """`split_by_plan` of the plan's snapshots, built period by period: the rows of all
    snapshots are never held twice (stacked and split), which bounds a large audience's peak."""
    # With a held-out stop share, stop rows are fit-period followers: built once, as fit.
    skipped = {"stop"} if plan.stop_share else set()
    built = {
        part: build_training_frame(tables, list(dates), horizon_days, features_config, client)
        for part, dates in plan.periods.items()
        if len(dates) and part not in skipped
    }
    first = next(iter(built.values()))
    parts = {part: built.get(part, first.iloc[0:0]) for part in plan.periods}
    if plan.stop_share:
        held = held_out(parts["fit"][ENTITY_KEY], plan.stop_share)
        parts["stop"], parts["fit"] = parts["fit"][held], parts["fit"][~held]
    return TimeSplit(**parts)


def split_by_plan(frame: pd.DataFrame, plan: SnapshotPlan) -> TimeSplit:
    """The snapshots' rows cut into the plan's periods (see `training.sources.plan`).

    Each period starts after the labels of the one before it close (by the plan's gaps): a
    choice made on one period must not have seen outcomes of the next. Without these gaps the
    trees would learn outcomes inside stop (a follower converting soon after a fit date is a
    positive in the next week's snapshot too, so early stopping kept adding trees that
    memorised it), calibration and the model outcomes inside validation, tuning outcomes
    inside test.
    """
    as_of = frame[AS_OF_COLUMN]
    parts = {part: frame[as_of.isin(list(dates))] for part, dates in plan.periods.items()}
    if plan.stop_share:
        held = held_out(parts["fit"][ENTITY_KEY], plan.stop_share)
        parts["stop"], parts["fit"] = parts["fit"][held], parts["fit"][~held]
    return TimeSplit(**parts)


def held_out(ids: pd.Series, share: float) -> np.ndarray:
    """A fixed `share` of the followers, by a hash of the id: the same on every run and at
    every snapshot, so each follower's rows all fall on one side."""
    buckets = pd.util.hash_array(ids.astype("str").to_numpy(dtype=object)) % 1000
    return buckets < round(share * 1000)


def describe_split(split: TimeSplit) -> dict[str, str | int]:
    """Row counts and date ranges of a split, for the run's parameters."""
    described: dict[str, str | int] = {}
    for part in ("fit", "stop", "valid", "test"):
        rows = getattr(split, part)
        described[f"{part}_rows"] = len(rows)
        described[f"{part}_from"] = str(rows[AS_OF_COLUMN].min().date())
        described[f"{part}_to"] = str(rows[AS_OF_COLUMN].max().date())
    return described
