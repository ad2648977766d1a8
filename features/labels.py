"""Labels and snapshot populations: who is scored at `as_of`, and who converts in the horizon."""

from __future__ import annotations

import pandas as pd

from features.build import to_utc_timestamp
from features.kernels.ids import lookup_codes
from features.schema import ENTITY_KEY, LABEL_COLUMN


def converted_before(conversions: pd.DataFrame | None, as_of: pd.Timestamp | str) -> pd.Index:
    """Ids of followers whose first conversion happened before `as_of`."""
    if conversions is None:
        return pd.Index([], dtype="str", name=ENTITY_KEY)
    before = conversions["converted_at"] < to_utc_timestamp(as_of)
    return pd.Index(conversions.loc[before, ENTITY_KEY].unique(), name=ENTITY_KEY)


def select_snapshot_followers(
    followers: pd.DataFrame, conversions: pd.DataFrame | None, as_of: pd.Timestamp | str
) -> pd.DataFrame:
    """Followers who followed before `as_of` and had not converted yet (they are leads already)."""
    followed = followers["followed_at"] < to_utc_timestamp(as_of)
    # Packed-id lookups: pandas' isin on Arrow text makes a Python string of every id.
    not_converted = lookup_codes(followers[ENTITY_KEY], converted_before(conversions, as_of)) < 0
    return followers.loc[followed & not_converted].reset_index(drop=True)


def make_labels(
    conversions: pd.DataFrame, follower_ids: pd.Index, as_of: pd.Timestamp | str, horizon_days: int
) -> pd.Series:
    """1 for each follower converting in the half-open window [as_of, as_of + horizon), else 0."""
    start = to_utc_timestamp(as_of)
    end = start + pd.Timedelta(days=horizon_days)
    inside = (conversions["converted_at"] >= start) & (conversions["converted_at"] < end)
    positives = pd.Index(conversions.loc[inside, ENTITY_KEY].unique())
    labels = (lookup_codes(pd.Series(follower_ids), positives) >= 0).astype("int8")
    return pd.Series(labels, index=pd.Index(follower_ids, name=ENTITY_KEY), name=LABEL_COLUMN)
