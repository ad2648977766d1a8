"""Event data in: read a folder or one file, map it, validate it; errors name the row at fault."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from features.events.dedupe import DUPLICATE_KEY, log_repeats, repeated_rows
from features.events.lean import read_lean_events
from features.events.mapping import (
    CONTRACT_COLUMNS,
    EventLogMapping,
    derive_followers,
    first_conversions,
    map_tables,
)
from features.events.text import (
    EVENT_TYPE_DTYPE,
    campaign_name,
    flag,
    fold,
    log_unknown_types,
    type_codes,
)
from features.io import DEFAULT_READ, READ_SUFFIXES, ReadOptions, ReadReport, read_table_report
from features.schema import (
    CONVERSIONS_OPTIONAL,
    CONVERSIONS_REQUIRED,
    FOLLOWERS_OPTIONAL,
    FOLLOWERS_REQUIRED,
    INTERACTIONS_OPTIONAL,
    INTERACTIONS_REQUIRED,
    POSTS_OPTIONAL,
    POSTS_REQUIRED,
    require_columns,
)

logger = logging.getLogger(__name__)

TABLE_NAMES: tuple[str, ...] = ("followers", "posts", "interactions", "conversions")


@dataclass(frozen=True)
class Tables:
    """The validated input tables of one data folder or events file; `posts`, `conversions` may
    be absent."""

    followers: pd.DataFrame
    interactions: pd.DataFrame
    posts: pd.DataFrame | None = None
    conversions: pd.DataFrame | None = None


def find_table(data_dir: Path, name: str) -> Path | None:
    """Return `<name>.parquet`, `<name>.csv` (or any suffix of `READ_SUFFIXES`) or a folder of
    parts `<name>/` inside `data_dir`: the first that exists."""
    for suffix in READ_SUFFIXES:
        path = data_dir / f"{name}{suffix}"
        if path.is_file():
            return path
    folder = data_dir / name
    return folder if folder.is_dir() else None


def read_tables(
    data: Path,
    options: ReadOptions = DEFAULT_READ,
    only: Collection[str] | None = None,
    skip: Collection[str] = (),
) -> dict[str, pd.DataFrame | None]:
    """Raw tables by name: a folder's tables, or one events file as the interactions.

    `only`: Parquet tables are read without their other columns. `skip`: tables read
    otherwise (they come back as None).
    """
    return read_tables_report(data, options, only, skip)[0]


def read_tables_report(
    data: Path,
    options: ReadOptions = DEFAULT_READ,
    only: Collection[str] | None = None,
    skip: Collection[str] = (),
) -> tuple[dict[str, pd.DataFrame | None], dict[str, ReadReport]]:
    """`read_tables`, and what reading each table found (only the tables present)."""
    data = Path(data)
    if data.is_file():
        if "interactions" in skip:
            return dict.fromkeys(TABLE_NAMES), {}
        events, report = read_table_report(data, options, only)
        return dict.fromkeys(TABLE_NAMES) | {"interactions": events}, {"interactions": report}
    if not data.is_dir():
        raise ValueError(f"data {data} does not exist (give a folder or a .csv/.parquet file)")
    paths = {name: find_table(data, name) for name in TABLE_NAMES}
    if paths["interactions"] is None:
        missing = [name for name in ("followers", "interactions") if paths[name] is None]
        raise ValueError(
            f"{data}: "
            + " and ".join(f"no {name}.parquet or {name}.csv" for name in missing)
            + " (nor .csv.gz, .tsv, ... or a folder of parts)"
        )
    found = {name: path for name, path in paths.items() if path is not None}
    if options.columns is not None and len(found) > 1:
        raise ValueError(
            f"{data}: --columns names the columns of one table, but this folder has "
            f"{', '.join(found)}; give --data the events file itself"
        )
    read = {
        name: read_table_report(path, options, only)
        for name, path in found.items()
        if name not in skip
    }
    raw = dict.fromkeys(TABLE_NAMES) | {name: frame for name, (frame, _) in read.items()}
    return raw, {name: report for name, (_, report) in read.items()}


def load_tables(
    data: Path, mapping: EventLogMapping | None = None, options: ReadOptions = DEFAULT_READ
) -> Tables:
    """Read, map and validate a data folder or a single events file.

    Args:
        data: a folder with interactions (followers, posts and conversions optional), each a
            file or a folder of parts, or one events file taken as the interactions.
        mapping: how a foreign event log maps onto our columns and event types. Without a
            followers table, followers are derived from the events (see features.events.mapping).
        options: how text files are read (headerless columns, delimiter, encoding, bad rows).
    """
    # Tables in our own columns are read without the others (an export's event ids, devices:
    # nothing reads them). A mapped log is read whole, so its errors can list every column.
    only = CONTRACT_COLUMNS if mapping is None or not mapping.columns else None
    data = Path(data)
    events = None
    if mapping is None or mapping == EventLogMapping():
        path = data if data.is_file() else find_table(data, "interactions")
        events = None if path is None else read_lean_events(path)
    skip = () if events is None else ("interactions",)
    return tables_from_raw(read_tables(data, options, only, skip), mapping, events)


def tables_from_raw(
    raw: dict[str, pd.DataFrame | None],
    mapping: EventLogMapping | None = None,
    interactions: pd.DataFrame | None = None,
) -> Tables:
    """Map and validate tables as read by `read_tables` (apart, so `inspect` sees both).

    `interactions`: events already validated (read lean), with no mapping to apply.
    """
    mapping = mapping or EventLogMapping()
    derive_conversions = raw["conversions"] is None and mapping.conversion_event is not None
    frames = map_tables(raw, mapping)
    if interactions is None:
        interactions = validate_interactions(frames["interactions"])
    conversions = frames["conversions"]
    if conversions is not None:
        conversions = validate_conversions(conversions)
        if derive_conversions:
            conversions = first_conversions(conversions)
    followers = frames["followers"]
    if followers is None:
        followers = derive_followers(interactions, conversions)
    return Tables(
        followers=validate_followers(followers),
        interactions=interactions,
        posts=None if frames["posts"] is None else validate_posts(frames["posts"]),
        conversions=conversions,
    )


def _add_optional(frame: pd.DataFrame, optional: Sequence[str]) -> pd.DataFrame:
    absent = {column: pd.NA for column in optional if column not in frame.columns}
    return frame.assign(**absent) if absent else frame


def parse_utc(values: pd.Series, column: str, table: str) -> pd.Series:
    """Parse timestamps to UTC (naive ones are taken as UTC); name the first bad row."""
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="mixed")
    bad = parsed.isna() & values.notna()
    if bad.any():
        row = bad.to_numpy().nonzero()[0][0]
        raise ValueError(f"{table}: row {row}: column {column}: bad timestamp {values.iloc[row]!r}")
    return parsed.astype("datetime64[us, UTC]")


def _require_values(frame: pd.DataFrame, columns: Sequence[str], table: str) -> None:
    for column in columns:
        missing = frame[column].isna().to_numpy()
        if missing.any():
            raise ValueError(f"{table}: row {missing.nonzero()[0][0]}: column {column} is empty")


def _ids(values: pd.Series) -> pd.Series:
    # Ids are compared as text everywhere, so 17 and "17" are the same follower.
    return values.astype("str")


def _optional_ids(values: pd.Series) -> pd.Series:
    """Ids as text with missing kept missing; whole floats lose their ".0" (CSV reads 7 as 7.0)."""
    if pd.api.types.is_float_dtype(values.dtype):
        whole = values.dropna()
        if (whole == np.floor(whole)).all():
            values = values.astype("Int64")
    return values.astype("str")


def id_codes(ids: pd.Series) -> pd.Series:
    """Text ids as a categorical: an integer code per event (as narrow as the number of
    distinct ids allows) and each id's text once.

    Events hold ids this way from validation on: dropping repeats and looking followers up
    then move integers, not text (a few bytes an event instead of a string each).
    """
    if isinstance(ids.dtype, pd.CategoricalDtype):
        return ids
    codes, distinct = pd.factorize(ids)
    categories = pd.Index(distinct, dtype="str")
    return pd.Series(pd.Categorical.from_codes(codes, categories), index=ids.index, name=ids.name)


def _each_distinct(values: pd.Series, function: Callable[[str], str | None]) -> pd.Series:
    """`function` of each value's text, computed once per distinct value; missing stays
    missing, as does a value `function` maps to None."""
    codes, distinct = pd.factorize(values)
    results = np.array([function(str(value)) for value in distinct] + [None], dtype=object)
    return pd.Series(results[codes], index=values.index, dtype="str")


def _event_types(values: pd.Series) -> pd.Categorical:
    """Types folded to lower case as EVENT_TYPE_DTYPE; unknown types become "other".

    Each distinct spelling is normalised once, not once per event (exports repeat a dozen
    spellings millions of times).
    """
    codes, spellings = pd.factorize(values)
    type_of, unknown = type_codes(spellings)
    events = np.bincount(codes[codes >= 0], minlength=len(spellings))
    log_unknown_types(
        int(sum(count for count, name in zip(events, unknown, strict=True) if name)), unknown
    )
    return pd.Categorical.from_codes(type_of[codes], dtype=EVENT_TYPE_DTYPE)


def validate_interactions(interactions: pd.DataFrame) -> pd.DataFrame:
    """Return a new, checked interactions frame; unknown event types become "other".

    Exact repeats (equal on DUPLICATE_KEY after normalising) are dropped, keeping the first,
    and the index is renumbered.
    """
    require_columns(interactions, INTERACTIONS_REQUIRED, "interactions")
    _require_values(interactions, INTERACTIONS_REQUIRED, "interactions")
    events = _add_optional(interactions.reset_index(drop=True), INTERACTIONS_OPTIONAL)
    # Only the contract's columns go on: other columns of an export (an event_id, a device)
    # would be carried through every copy and read by nothing.
    events = events[[*INTERACTIONS_REQUIRED, *INTERACTIONS_OPTIONAL]]
    value = pd.to_numeric(events["value"], errors="coerce").astype("float64")
    events = events.assign(
        follower_id=id_codes(_ids(events["follower_id"])),
        event_type=_event_types(events["event_type"]),
        occurred_at=parse_utc(events["occurred_at"], "occurred_at", "interactions"),
        post_id=id_codes(_optional_ids(events["post_id"])),
        value=value,
    )
    repeated = repeated_rows(events, DUPLICATE_KEY, ties="occurred_at")
    if repeated.any():
        log_repeats(int(repeated.sum()))
        events = events.loc[~repeated].reset_index(drop=True)
    return events


def validate_posts(posts: pd.DataFrame) -> pd.DataFrame:
    """Return a new, checked posts frame: unique text ids, UTC times, lower-case formats.

    A missing or blank campaign means the post is not part of a campaign.
    """
    require_columns(posts, POSTS_REQUIRED, "posts")
    _require_values(posts, POSTS_REQUIRED, "posts")
    frame = _add_optional(posts.reset_index(drop=True), POSTS_OPTIONAL)
    post_id = _optional_ids(frame["post_id"])
    duplicated = post_id.duplicated().to_numpy()
    if duplicated.any():
        row = duplicated.nonzero()[0][0]
        raise ValueError(f"posts: row {row}: duplicate post_id {post_id.iloc[row]!r}")
    return frame.assign(
        post_id=post_id,
        published_at=parse_utc(frame["published_at"], "published_at", "posts"),
        format=_each_distinct(frame["format"], fold),
        campaign=_each_distinct(frame["campaign"], campaign_name),
    )


def validate_followers(followers: pd.DataFrame) -> pd.DataFrame:
    """Return a new, checked followers frame with all optional profile columns present."""
    require_columns(followers, FOLLOWERS_REQUIRED, "followers")
    _require_values(followers, FOLLOWERS_REQUIRED, "followers")
    profiles = normalize_profiles(followers)
    duplicated = profiles["follower_id"].duplicated().to_numpy()
    if duplicated.any():
        row = duplicated.nonzero()[0][0]
        follower_id = profiles["follower_id"].iloc[row]
        raise ValueError(f"followers: row {row}: duplicate follower_id {follower_id!r}")
    return profiles


def normalize_profiles(followers: pd.DataFrame) -> pd.DataFrame:
    """Profile columns in their canonical form; absent optional columns become missing."""
    profiles = _add_optional(followers.reset_index(drop=True), FOLLOWERS_OPTIONAL)
    if "platform" not in profiles:
        profiles = profiles.assign(platform=pd.NA)
    if "followed_at" not in profiles:
        profiles = profiles.assign(followed_at=pd.NaT)
    return profiles.assign(
        follower_id=_ids(profiles["follower_id"]),
        platform=_each_distinct(profiles["platform"], fold),
        followed_at=parse_utc(profiles["followed_at"], "followed_at", "followers"),
        country=profiles["country"].astype("str"),
        follower_count=_numeric(profiles["follower_count"], "follower_count"),
        following_count=_numeric(profiles["following_count"], "following_count"),
        is_business=_flag(profiles["is_business"]),
    )


def _numeric(values: pd.Series, column: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = numbers.isna() & values.notna()
    if bad.any():
        row = bad.to_numpy().nonzero()[0][0]
        raise ValueError(
            f"followers: row {row}: column {column}: not a number {values.iloc[row]!r}"
        )
    return numbers


def _flag(values: pd.Series) -> pd.Series:
    """`flag` of each value, once per distinct value; missing as NaN."""
    codes, distinct = pd.factorize(values)
    flags = np.array([flag(str(value)) for value in distinct] + [np.nan])
    return pd.Series(flags[codes], index=values.index, dtype="float64")


def validate_conversions(conversions: pd.DataFrame) -> pd.DataFrame:
    """Return a new, checked conversions frame."""
    require_columns(conversions, CONVERSIONS_REQUIRED, "conversions")
    _require_values(conversions, CONVERSIONS_REQUIRED, "conversions")
    frame = _add_optional(conversions.reset_index(drop=True), CONVERSIONS_OPTIONAL)
    return frame.assign(
        follower_id=_ids(frame["follower_id"]),
        converted_at=parse_utc(frame["converted_at"], "converted_at", "conversions"),
    )
