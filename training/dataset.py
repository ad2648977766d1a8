"""Snapshots to a training frame, and the time-ordered split into fit, stop and validation."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from features.build import build_follower_features
from features.events import Tables
from features.labels import make_labels, select_snapshot_followers
from features.schema import DEFAULT_FEATURE_CONFIG, ENTITY_KEY, LABEL_COLUMN, FeatureConfig

logger = logging.getLogger(__name__)

AS_OF_COLUMN = "as_of"


def make_snapshot_dates(
    tables: Tables, horizon_days: int, every_days: int, min_history_days: int
) -> list[pd.Timestamp]:
    """Snapshot dates every `every_days` from the first day with `min_history_days` of events.

    Dates are anchored at the start of the data, so reruns on grown data keep the same dates,
    and the newest one leaves a full horizon of data after it for its labels.
    """
    occurred = tables.interactions["occurred_at"]
    first, last = occurred.min().normalize(), occurred.max().normalize()
    # Whole steps from the first day, so the dates fall on the same grid as the data's start.
    oldest = first + pd.Timedelta(days=-(-min_history_days // every_days) * every_days)
    newest = last - pd.Timedelta(days=horizon_days)
    if newest < oldest:
        raise ValueError(
            f"events span {first.date()}..{last.date()}: too short for {min_history_days} days "
            f"of history plus a {horizon_days}-day horizon"
        )
    return list(pd.date_range(oldest, newest, freq=f"{every_days}D"))


def build_snapshot(
    tables: Tables, as_of: pd.Timestamp, horizon_days: int, features_config: FeatureConfig
) -> pd.DataFrame:
    """Features and label of every eligible follower at one snapshot date."""
    followers = select_snapshot_followers(tables.followers, tables.conversions, as_of)
    features = build_follower_features(
        tables.interactions, followers, as_of, tables.posts, features_config
    )
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
) -> pd.DataFrame:
    """All snapshots stacked: follower_id, as_of, the feature columns and `converted`."""
    snapshots = []
    for as_of in dates:
        snapshot = build_snapshot(tables, as_of, horizon_days, features_config)
        logger.info(
            "snapshot %s: %d followers, %.2f%% converted",
            as_of.date(),
            len(snapshot),
            100 * snapshot[LABEL_COLUMN].mean() if len(snapshot) else 0.0,
        )
        snapshots.append(snapshot)
    return pd.concat(snapshots, ignore_index=True)


@dataclass(frozen=True)
class TimeSplit:
    """Fit rows, early-stopping rows and validation rows, in that time order."""

    fit: pd.DataFrame
    stop: pd.DataFrame
    valid: pd.DataFrame


def split_by_time(frame: pd.DataFrame, n_valid: int, horizon_days: int) -> TimeSplit:
    """Validation is the newest `n_valid` snapshots; training labels end before it starts.

    A training snapshot's label window must close by the first validation date, or the model
    would learn from outcomes inside the validation period.
    """
    dates = sorted(frame[AS_OF_COLUMN].unique())
    if len(dates) < n_valid + 2:
        raise ValueError(f"{len(dates)} snapshots: need at least {n_valid + 2} for this split")
    valid_dates = dates[-n_valid:]
    horizon = pd.Timedelta(days=horizon_days)
    train_dates = [d for d in dates if d + horizon <= valid_dates[0]]
    if len(train_dates) < 2:
        raise ValueError("too few snapshots before validation: use more data or a shorter horizon")
    as_of = frame[AS_OF_COLUMN]
    return TimeSplit(
        fit=frame[as_of.isin(train_dates[:-1])],
        stop=frame[as_of == train_dates[-1]],
        valid=frame[as_of.isin(valid_dates)],
    )


def describe_split(split: TimeSplit) -> dict[str, str | int]:
    """Row counts and date ranges of a split, for the run's parameters."""
    described: dict[str, str | int] = {}
    for part in ("fit", "stop", "valid"):
        rows = getattr(split, part)
        described[f"{part}_rows"] = len(rows)
        described[f"{part}_from"] = str(rows[AS_OF_COLUMN].min().date())
        described[f"{part}_to"] = str(rows[AS_OF_COLUMN].max().date())
    return described


__all__ = ["AS_OF_COLUMN", "ENTITY_KEY", "TimeSplit", "build_training_frame", "split_by_time"]
