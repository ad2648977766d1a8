"""Snapshots to a training frame, and the time-ordered split into fit, stop, validation and test."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from features.build import build_follower_features
from features.events.load import Tables
from features.labels import make_labels, select_snapshot_followers
from features.schema import DEFAULT_FEATURE_CONFIG, LABEL_COLUMN, FeatureConfig

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
    """Fit, early-stopping, validation and test rows, in that time order.

    fit and stop train the model (stop chooses the number of trees and fits the calibration);
    valid chooses between settings (tuning) and sets the score cut-offs; test only judges.
    """

    fit: pd.DataFrame
    stop: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame


def split_by_time(
    frame: pd.DataFrame, n_valid: int, horizon_days: int, n_test: int = 2
) -> TimeSplit:
    """Test is the newest `n_test` snapshots, validation and training come before it.

    Validation is the newest `n_valid` snapshots whose label windows (as_of + horizon) close by
    the first test date; stop is the newest snapshot whose label window closes by the first
    validation date, and fit the snapshots whose label windows close by the stop date. Without
    these gaps a choice made on one period would have seen outcomes of the next: the trees
    outcomes inside stop (a follower converting soon after a fit date is a positive in the
    next week's snapshot too, so early stopping kept adding trees that memorised it),
    calibration and the model outcomes inside validation, tuning outcomes inside test.
    """
    if n_valid < 1 or n_test < 1:
        raise ValueError(
            f"need at least one validation and one test snapshot, got {n_valid}, {n_test}"
        )
    dates = sorted(frame[AS_OF_COLUMN].unique())
    horizon = pd.Timedelta(days=horizon_days)
    span = f"{len(dates)} snapshots" + (
        f" ({dates[0].date()}..{dates[-1].date()})" if dates else ""
    )
    advice = "use more data, a shorter horizon or fewer validation and test snapshots"
    if len(dates) < n_test + n_valid + 2:
        raise ValueError(
            f"{span}: need at least {n_test + n_valid + 2} for {n_test} test, {n_valid} "
            f"validation and 2 training snapshots; {advice}"
        )
    test_dates = dates[-n_test:]
    before_test = [d for d in dates if d + horizon <= test_dates[0]]
    if len(before_test) < n_valid + 2:
        raise ValueError(
            f"{span}: only {len(before_test)} have their {horizon_days}-day labels closed by the "
            f"test period ({test_dates[0].date()}), need {n_valid} for validation and 2 for "
            f"training; {advice}"
        )
    valid_dates = before_test[-n_valid:]
    before_valid = [d for d in dates if d + horizon <= valid_dates[0]]
    fit_dates = [d for d in before_valid if before_valid and d + horizon <= before_valid[-1]]
    if not fit_dates:
        raise ValueError(
            f"{span}: {len(before_valid)} have their {horizon_days}-day labels closed by the "
            f"validation period ({valid_dates[0].date()}), and none of them closes its labels "
            f"by the newest of those (the early-stopping snapshot); {advice}"
        )
    as_of = frame[AS_OF_COLUMN]
    return TimeSplit(
        fit=frame[as_of.isin(fit_dates)],
        stop=frame[as_of == before_valid[-1]],
        valid=frame[as_of.isin(valid_dates)],
        test=frame[as_of.isin(test_dates)],
    )


def describe_split(split: TimeSplit) -> dict[str, str | int]:
    """Row counts and date ranges of a split, for the run's parameters."""
    described: dict[str, str | int] = {}
    for part in ("fit", "stop", "valid", "test"):
        rows = getattr(split, part)
        described[f"{part}_rows"] = len(rows)
        described[f"{part}_from"] = str(rows[AS_OF_COLUMN].min().date())
        described[f"{part}_to"] = str(rows[AS_OF_COLUMN].max().date())
    return described
