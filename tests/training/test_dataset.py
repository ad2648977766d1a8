"""Snapshots and the time-ordered split: validation strictly after every training label."""

from __future__ import annotations

import pandas as pd
import pytest

from training.dataset import split_by_time


def _frame(n_dates: int) -> pd.DataFrame:
    dates = pd.date_range("2026-01-01", periods=n_dates, freq="7D", tz="UTC")
    return pd.DataFrame({"as_of": dates.repeat(3), "follower_id": list("abc") * n_dates})


def test_validation_is_newest_and_training_labels_close_before_it():
    split = split_by_time(_frame(12), n_valid=2, horizon_days=28)
    first_valid = split.valid["as_of"].min()
    assert split.valid["as_of"].nunique() == 2
    assert split.valid["as_of"].max() == pd.Timestamp("2026-03-19", tz="UTC")
    for part in (split.fit, split.stop):
        assert (part["as_of"] + pd.Timedelta(days=28) <= first_valid).all()
    assert split.fit["as_of"].max() < split.stop["as_of"].min()


def test_too_few_snapshots_is_a_clear_error():
    with pytest.raises(ValueError, match="snapshots"):
        split_by_time(_frame(3), n_valid=2, horizon_days=28)
