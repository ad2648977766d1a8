"""Repeated rows are found exactly as pandas' `duplicated` finds them, only faster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.events.dedupe import repeated_rows


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


def test_nothing_repeated_and_empty():
    frame = pd.DataFrame({"a": ["x", "y"], "b": [1.0, np.nan]})
    assert not repeated_rows(frame, ["a", "b"]).any()
    assert repeated_rows(frame.iloc[0:0], ["a", "b"]).size == 0
