"""Snapshots and the time-ordered split: each period strictly after every label before it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.events.load import Tables
from simulator.config import SimulationConfig
from training.sources.events import EventLog
from training.sources.snapshots import describe_split, make_snapshot_dates, split_by_time

DAY = pd.Timedelta(days=1)


def _frame(n_dates: int) -> pd.DataFrame:
    dates = pd.date_range("2026-01-01", periods=n_dates, freq="7D", tz="UTC")
    return pd.DataFrame({"as_of": dates.repeat(3), "follower_id": list("abc") * n_dates})


def test_test_is_newest_validation_and_training_labels_close_before_the_next_period():
    frame = _frame(16)
    split = split_by_time(frame, n_valid=2, horizon_days=28, n_test=2)
    dates = sorted(frame["as_of"].unique())
    assert sorted(split.test["as_of"].unique()) == dates[-2:]
    first_test, first_valid = split.test["as_of"].min(), split.valid["as_of"].min()
    # Validation labels close by the test period, training labels by validation.
    assert (split.valid["as_of"] + 28 * DAY <= first_test).all()
    for part in (split.fit, split.stop):
        assert (part["as_of"] + 28 * DAY <= first_valid).all()
    # Validation is the newest pair that may be used: one week later would overlap the test.
    assert split.valid["as_of"].nunique() == 2
    assert split.valid["as_of"].max() + 7 * DAY + 28 * DAY > first_test
    assert split.valid["as_of"].max() == pd.Timestamp("2026-03-12", tz="UTC")
    assert split.stop["as_of"].nunique() == 1
    assert split.stop["as_of"].min() == pd.Timestamp("2026-02-05", tz="UTC")
    # Fit labels close by the early-stopping date: stop never sees a fit row's outcome.
    assert (split.fit["as_of"] + 28 * DAY <= split.stop["as_of"].min()).all()
    assert split.fit["as_of"].nunique() == 2
    assert split.stop["as_of"].max() < first_valid and split.valid["as_of"].max() < first_test
    assert len(split.fit) + len(split.stop) + len(split.valid) + len(split.test) < len(frame)


def test_the_number_of_test_snapshots_is_a_setting():
    split = split_by_time(_frame(16), n_valid=1, horizon_days=14, n_test=3)
    assert split.test["as_of"].nunique() == 3 and split.valid["as_of"].nunique() == 1
    described = describe_split(split)
    assert described["test_rows"] == 9
    assert described["valid_to"] < described["test_from"] <= described["test_to"]
    assert described["stop_to"] < described["valid_from"]


@pytest.mark.parametrize(
    ("n_dates", "message"),
    [
        (3, "need at least 6"),
        # 8 weekly dates: only 3 have 28-day labels closed by the test period.
        (8, "only 3 have their 28-day labels closed by the test period"),
        # 9 weekly dates: validation fits, but nothing is left before it for training.
        (9, "0 have their 28-day labels closed by the validation period"),
        (11, "1 have their 28-day labels closed by the validation period"),
        # 14: a stop snapshot, but no fit snapshot whose labels close by it.
        (14, "none of them closes its labels by the newest of those"),
    ],
)
def test_too_few_snapshots_is_a_clear_error(n_dates, message):
    with pytest.raises(ValueError, match=message):
        split_by_time(_frame(n_dates), n_valid=2, horizon_days=28, n_test=2)
    # Fifteen weekly dates are the least: 2 test, a 4-week gap, 2 valid, a 4-week gap, 1 stop,
    # a 4-week gap, 1 fit.
    split = split_by_time(_frame(15), n_valid=2, horizon_days=28, n_test=2)
    assert split.fit["as_of"].nunique() == 1 and split.stop["as_of"].nunique() == 1


def test_the_default_simulated_span_has_room_for_every_period():
    """The default audience (and the tests' one, same span) fits the default split."""
    simulation, config = SimulationConfig(), EventLog(Path("."))
    start = pd.Timestamp(simulation.start, tz="UTC")
    days = pd.date_range(start, periods=simulation.days, freq="D")
    tables = Tables(followers=pd.DataFrame(), interactions=pd.DataFrame({"occurred_at": days}))
    dates = make_snapshot_dates(
        tables, config.horizon_days, config.snapshot_every_days, config.features.long_days
    )
    frame = pd.DataFrame({"as_of": dates})
    split = split_by_time(
        frame, config.n_valid_snapshots, config.horizon_days, config.n_test_snapshots
    )
    assert split.test["as_of"].nunique() == config.n_test_snapshots
    assert split.fit["as_of"].nunique() >= 4
