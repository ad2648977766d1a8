"""Request bodies to frames: feature records and raw events become the pipeline's inputs."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel

from features.events.load import normalize_profiles, validate_interactions, validate_posts
from features.schema import ALL_EVENT_TYPES, ENTITY_KEY
from serving.schemas import Event, Post, Profile


def records_to_features(records: Sequence) -> pd.DataFrame:
    """Feature records (pydantic) as a feature frame indexed by follower_id."""
    frame = _with_totals(pd.DataFrame([record.model_dump() for record in records]), records)
    duplicated = frame[ENTITY_KEY].duplicated().to_numpy()
    if duplicated.any():
        row = int(duplicated.nonzero()[0][0])
        raise ValueError(f"followers[{row}]: duplicate follower_id {frame[ENTITY_KEY][row]!r}")
    business = frame["is_business"].map({True: 1.0, False: 0.0})
    frame = frame.assign(
        follower_following_ratio=_ratio_or_given(frame),
        is_business=business.astype("float64"),
        platform=frame["platform"].astype("str").str.strip().str.lower(),
        country=frame["country"].astype("str"),
    )
    return frame.set_index(ENTITY_KEY)


def _with_totals(frame: pd.DataFrame, records: Sequence) -> pd.DataFrame:
    """Event totals a record leaves out, from the counts per type it gives (as the pipeline
    counts them): "no events" must not stand beside "2 link clicks"."""
    totals = [column for column in frame.columns if re.fullmatch(r"n_events_\d+d", column)]
    for total in totals:
        window = total.removeprefix("n_events_")
        parts = [f"n_{kind}_{window}" for kind in ALL_EVENT_TYPES if f"n_{kind}_{window}" in frame]
        left_out = np.array([total not in record.model_fields_set for record in records])
        if left_out.any() and parts:
            summed = frame[parts].sum(axis=1).to_numpy()
            frame[total] = np.where(left_out, summed, frame[total].to_numpy())
    return frame


def _ratio_or_given(frame: pd.DataFrame) -> pd.Series:
    """The follower/following ratio as sent, else from the two counts as the pipeline derives it
    (missing when either count is missing or nobody is followed)."""
    given = frame["follower_following_ratio"].astype("float64")
    following = frame["following_count"].astype("float64")
    derived = frame["follower_count"].astype("float64") / following.where(following != 0)
    return given.fillna(derived)


def records_to_table(records: Sequence[BaseModel]) -> pd.DataFrame:
    """Lead records (a table model's pydantic records) as table rows, columns named as in the table.

    Every column is there, left-out fields as missing; the model prepares the rows as in training.
    """
    return pd.DataFrame([record.model_dump(by_alias=True) for record in records])


def events_to_frame(events: Sequence[Event]) -> pd.DataFrame:
    """Raw events as a validated interactions frame."""
    frame = pd.DataFrame([event.model_dump() for event in events], columns=list(Event.model_fields))
    return validate_interactions(frame)


def posts_to_frame(posts: Sequence[Post] | None) -> pd.DataFrame | None:
    """Posts as a validated posts frame; None when the request has none."""
    if not posts:
        return None
    return validate_posts(pd.DataFrame([post.model_dump() for post in posts]))


def followers_to_score(events: pd.DataFrame, profiles: Sequence[Profile]) -> pd.DataFrame:
    """Profiles given, plus every other follower seen in the events (profile unknown)."""
    known = (
        normalize_profiles(pd.DataFrame([profile.model_dump() for profile in profiles]))
        if profiles
        else normalize_profiles(pd.DataFrame({ENTITY_KEY: pd.Series([], dtype="str")}))
    )
    duplicated = known[ENTITY_KEY].duplicated().to_numpy()
    if duplicated.any():
        row = int(duplicated.nonzero()[0][0])
        raise ValueError(f"profiles[{row}]: duplicate follower_id {known[ENTITY_KEY][row]!r}")
    seen = pd.unique(events[ENTITY_KEY]) if len(events) else np.array([], dtype=object)
    others = [follower for follower in seen if follower not in set(known[ENTITY_KEY])]
    unknown = normalize_profiles(pd.DataFrame({ENTITY_KEY: pd.Series(others, dtype="str")}))
    return pd.concat([known, unknown], ignore_index=True)
