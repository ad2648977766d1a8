"""Repeated rows are found exactly as pandas' `duplicated` finds them, only faster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.events.dedupe import repeated_codes, repeated_rows


def _frame(rng: np.random.Generator, n: int, long_ids: bool) -> pd.DataFrame:
    width = 20 if long_ids else 4
    ids = np.array([f"{i:0{width}d}" for i in range(30)] + [None], dtype=object)
    times = pd.to_datetime(rng.integers(0, 5, n), unit="D", utc=True).astype("datetime64[us, UTC]")
    values = rng.choice(np.array([1.5, 0.0, -0.0, np.nan]), n)
    return pd.DataFrame(
        {
            "follower_id": pd.Series(rng.choice(ids[:-1], n), dtype="str"),
            "event_type": pd.Categorical(rng.choice(["like", "view", "dm"], n)),
            "occurred_at": times.where(rng.random(n) > 0.1),  # some NaT
            "post_id": pd.Series(rng.choice(ids, n), dtype="str"),
            "value": values,
        }
    )


@pytest.mark.parametrize("long_ids", [False, True])
def test_same_rows_as_pandas(long_ids):
    frame = _frame(np.random.default_rng(4), 5000, long_ids)
    columns = list(frame.columns)
    expected = frame.duplicated(subset=columns).to_numpy()
    assert 0 < expected.sum() < len(frame)
    assert (repeated_rows(frame, columns) == expected).all()


@pytest.mark.parametrize("in_time_order", [True, False])
def test_ties_narrow_the_search_to_the_same_rows(in_time_order):
    # In time order only rows of a repeated time are hashed; far from it, every row is.
    frame = _frame(np.random.default_rng(5), 5000, long_ids=False)
    if in_time_order:
        frame = frame.sort_values("occurred_at", kind="stable", ignore_index=True)
    columns = list(frame.columns)
    expected = frame.duplicated(subset=columns).to_numpy()
    assert (repeated_rows(frame, columns, ties="occurred_at") == expected).all()


@pytest.mark.parametrize("in_time_order", [True, False])
def test_codes_find_the_same_rows_as_pandas(in_time_order):
    frame = _frame(np.random.default_rng(6), 5000, long_ids=False)
    if in_time_order:
        frame = frame.sort_values("occurred_at", kind="stable", ignore_index=True)
    arrays = [
        pd.factorize(frame["follower_id"])[0].astype(np.int32),
        frame["event_type"].cat.codes.to_numpy(),
        frame["occurred_at"].array.asi8,
        pd.factorize(frame["post_id"])[0].astype(np.int32),  # missing: -1, as events hold it
        frame["value"].to_numpy(),  # 0.0 and -0.0 equal, NaN equals NaN
    ]
    expected = frame.duplicated().to_numpy()
    assert 0 < expected.sum() < len(frame)
    assert (repeated_codes(arrays, ties=2) == expected).all()
    assert repeated_codes([array[:0] for array in arrays], ties=2).size == 0


def test_nothing_repeated_and_empty():
    frame = pd.DataFrame({"a": ["x", "y"], "b": [1.0, np.nan]})
    assert not repeated_rows(frame, ["a", "b"]).any()
    assert repeated_rows(frame.iloc[0:0], ["a", "b"]).size == 0
