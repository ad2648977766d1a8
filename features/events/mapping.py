"""Bring your own event log: rename columns and event types, derive conversions and followers.

A mapping turns raw tables into the data contract (docs/architecture.md) before validation. Rules:

- `columns` renames source columns to contract names in every table that has them.
- `event_types` renames source event types (matched ignoring case and spaces); unmapped ones
  stay as they are, and validation counts unknown ones as "other".
- Numeric times (int or float columns) are epoch seconds, milliseconds, microseconds or
  nanoseconds, told apart by magnitude unless `time_unit` is given; text times are left to
  validation.
- `conversion_event` is a source event type: those events leave the interactions (a label
  must never double as a feature) and, without a conversions table, each follower's first one
  is its conversion (`converted_at` = its time, `lead_value` = its value).
- Without a followers table there is one follower per follower_id of the events, first seen at
  their first event (conversions included): `followed_at` is that time, `platform` is
  "unknown" and the other profile fields are missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.schema import (
    ALL_EVENT_TYPES,
    CONVERSIONS_OPTIONAL,
    CONVERSIONS_REQUIRED,
    ENTITY_KEY,
    FOLLOWERS_OPTIONAL,
    FOLLOWERS_REQUIRED,
    INTERACTIONS_OPTIONAL,
    INTERACTIONS_REQUIRED,
    POSTS_OPTIONAL,
    POSTS_REQUIRED,
)

logger = logging.getLogger(__name__)

CONTRACT_COLUMNS: frozenset[str] = frozenset(
    (
        "event_id",
        *FOLLOWERS_REQUIRED,
        *FOLLOWERS_OPTIONAL,
        *POSTS_REQUIRED,
        *POSTS_OPTIONAL,
        *INTERACTIONS_REQUIRED,
        *INTERACTIONS_OPTIONAL,
        *CONVERSIONS_REQUIRED,
        *CONVERSIONS_OPTIONAL,
    )
)
TIME_COLUMNS: tuple[str, ...] = ("occurred_at", "followed_at", "converted_at", "published_at")
TIME_UNITS: tuple[str, ...] = ("s", "ms", "us", "ns")
# Smallest plausible epoch value in each unit: 1e8 seconds is March 1973.
_UNIT_FLOORS: tuple[float, ...] = (1e8, 1e11, 1e14, 1e17)
UNKNOWN_PLATFORM = "unknown"


@dataclass(frozen=True)
class EventLogMapping:
    """How a foreign event log maps onto our tables; the empty mapping changes nothing."""

    columns: dict[str, str] = field(default_factory=dict)
    event_types: dict[str, str] = field(default_factory=dict)
    conversion_event: str | None = None
    time_unit: str | None = None

    def __post_init__(self) -> None:
        _check_targets(self.columns, CONTRACT_COLUMNS, "column mapping", "a contract column")
        _check_targets(self.event_types, frozenset(ALL_EVENT_TYPES), "event map", "an event type")
        targets = list(self.columns.values())
        repeated = sorted({target for target in targets if targets.count(target) > 1})
        if repeated:
            raise ValueError(f"column mapping: several source columns map to {repeated[0]!r}")
        if self.conversion_event is not None and not self.conversion_event.strip():
            raise ValueError("conversion event: empty name")
        if self.conversion_event is not None and _key(self.conversion_event) in {
            _key(source) for source in self.event_types
        }:
            raise ValueError(
                f"event map: {self.conversion_event!r} is the conversion event; do not map it"
            )
        if self.time_unit is not None and self.time_unit not in TIME_UNITS:
            raise ValueError(f"time unit {self.time_unit!r}: use one of {', '.join(TIME_UNITS)}")

    def to_params(self) -> dict[str, str]:
        """The mapping as plain-text run parameters (only the parts that are set)."""
        params = {
            "map_columns": format_pairs(self.columns),
            "map_event_types": format_pairs(self.event_types),
            "map_conversion_event": self.conversion_event or "",
            "map_time_unit": self.time_unit or "",
        }
        return {name: value for name, value in params.items() if value}


def _check_targets(pairs: dict[str, str], allowed: frozenset[str], what: str, kind: str) -> None:
    unknown = sorted(set(pairs.values()) - allowed)
    if unknown:
        raise ValueError(
            f"{what}: {unknown[0]!r} is not {kind} (use one of {', '.join(sorted(allowed))})"
        )


def parse_pairs(text: str, what: str = "mapping") -> dict[str, str]:
    """`"a=b,c=d"` as `{"a": "b", "c": "d"}`; malformed text raises a ValueError quoting it."""
    pairs: dict[str, str] = {}
    if not text.strip():
        return pairs
    for item in text.split(","):
        source, equals, target = (part.strip() for part in item.partition("="))
        if not equals or not source or not target or "=" in target:
            raise ValueError(f"{what} {text!r}: {item.strip()!r} is not of the form source=target")
        if source in pairs:
            raise ValueError(f"{what} {text!r}: {source!r} is mapped twice")
        pairs[source] = target
    return pairs


def format_pairs(pairs: dict[str, str]) -> str:
    """The inverse of `parse_pairs`."""
    return ",".join(f"{source}={target}" for source, target in pairs.items())


def make_mapping(
    columns: str | None = None,
    event_types: str | None = None,
    conversion_event: str | None = None,
    time_unit: str | None = None,
) -> EventLogMapping | None:
    """A mapping from command-line text, or None when nothing is given."""
    if not any((columns, event_types, conversion_event, time_unit)):
        return None
    return EventLogMapping(
        columns=parse_pairs(columns or "", "column mapping"),
        event_types=parse_pairs(event_types or "", "event map"),
        conversion_event=conversion_event,
        time_unit=time_unit,
    )


def map_tables(
    tables: dict[str, pd.DataFrame | None], mapping: EventLogMapping
) -> dict[str, pd.DataFrame | None]:
    """Raw tables by name, renamed and with conversion events split into `conversions`."""
    _check_sources(tables, mapping.columns)
    mapped = {
        name: None if frame is None else _rename(frame, mapping.columns, name)
        for name, frame in tables.items()
    }
    source = {target: src for src, target in mapping.columns.items()}.get("event_type")
    interactions, converted = split_conversions(
        mapped["interactions"], mapping.conversion_event, source or "event_type"
    )
    if converted is not None:
        if mapped.get("conversions") is not None:
            raise ValueError("a conversions table and a conversion event: give only one")
        mapped["conversions"] = converted
    mapped["interactions"] = map_event_types(interactions, mapping.event_types)
    return {
        name: None if frame is None else parse_epoch_times(frame, name, mapping.time_unit)
        for name, frame in mapped.items()
    }


def _check_sources(tables: dict[str, pd.DataFrame | None], columns: dict[str, str]) -> None:
    present = {name: frame for name, frame in tables.items() if frame is not None}
    for source in columns:
        if not any(source in frame.columns for frame in present.values()):
            found = "; ".join(
                f"{name} has {', '.join(map(str, frame.columns))}"
                for name, frame in present.items()
            )
            raise ValueError(f"column mapping: source column {source!r} not found ({found})")


def _rename(frame: pd.DataFrame, columns: dict[str, str], table: str) -> pd.DataFrame:
    renames = {source: target for source, target in columns.items() if source in frame.columns}
    for source, target in renames.items():
        if target in frame.columns and target not in renames:
            raise ValueError(
                f"{table}: column {source} maps to {target}, but {target} is already a column"
            )
    return frame.rename(columns=renames)


def _key(value: object) -> str:
    return str(value).strip().lower()


def _keys(values: pd.Series) -> pd.Series:
    """Event-type values as matching keys; whole-number floats (1.0) read as integers (1)."""
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    return values.astype("str").str.strip().str.lower()


def split_conversions(
    interactions: pd.DataFrame, conversion_event: str | None, source: str = "event_type"
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Interactions without the conversion events, and those events as raw conversions."""
    if conversion_event is None or not set(INTERACTIONS_REQUIRED) <= set(interactions.columns):
        return interactions, None
    keys = _keys(interactions["event_type"])
    is_conversion = (keys == _key(conversion_event)).to_numpy()
    if not is_conversion.any():
        seen = ", ".join(sorted(keys.dropna().unique())[:10])
        raise ValueError(
            f"conversion event {conversion_event!r} never occurs in column {source} "
            f"(values: {seen})"
        )
    events = interactions.loc[is_conversion]
    value = events["value"] if "value" in events else pd.Series(np.nan, index=events.index)
    conversions = pd.DataFrame(
        {ENTITY_KEY: events[ENTITY_KEY], "converted_at": events["occurred_at"], "lead_value": value}
    )
    logger.info("%s %r events taken as conversions", f"{len(conversions):,}", conversion_event)
    return interactions.loc[~is_conversion], conversions


def map_event_types(interactions: pd.DataFrame, event_types: dict[str, str]) -> pd.DataFrame:
    """Interactions with source event types renamed; unmapped values are left as they are."""
    if not event_types or "event_type" not in interactions.columns:
        return interactions
    lookup = {_key(source): target for source, target in event_types.items()}
    mapped = _keys(interactions["event_type"]).map(lookup)
    return interactions.assign(event_type=mapped.where(mapped.notna(), interactions["event_type"]))


def parse_epoch_times(frame: pd.DataFrame, table: str, unit: str | None = None) -> pd.DataFrame:
    """Numeric time columns as UTC times; text times are left for validation to parse."""
    parsed = {}
    for column in TIME_COLUMNS:
        if column not in frame.columns:
            continue
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            parsed[column] = epoch_to_utc(values, column, table, unit)
    return frame.assign(**parsed) if parsed else frame


def epoch_to_utc(values: pd.Series, column: str, table: str, unit: str | None = None) -> pd.Series:
    """Epoch numbers as UTC times, in `unit` or in the unit their magnitude shows."""
    unit = unit or _detect_unit(values.astype("float64"), column, table)
    try:
        return pd.to_datetime(values, unit=unit, utc=True)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{table}: column {column}: not epoch times in {unit}: {error}") from None


def _detect_unit(numbers: pd.Series, column: str, table: str) -> str:
    present = numbers.dropna()
    if present.empty:
        return "s"
    bands = np.digitize(present.abs().to_numpy(), _UNIT_FLOORS)
    band = int(np.digitize(abs(present.median()), _UNIT_FLOORS))
    if band == 0:
        raise ValueError(
            f"{table}: column {column}: numbers like {present.median():g} are too small for "
            "epoch times; give the time unit or write the times as text"
        )
    off = (bands != band).nonzero()[0]
    if off.size:
        row = present.index[off[0]]
        raise ValueError(
            f"{table}: row {row}: column {column}: {present.iloc[off[0]]:g} is not in the unit "
            f"of the other times ({TIME_UNITS[band - 1]}); give the time unit"
        )
    return TIME_UNITS[band - 1]


def first_conversions(conversions: pd.DataFrame) -> pd.DataFrame:
    """Each follower's first conversion only (a validated conversions frame, by time)."""
    ordered = conversions.sort_values("converted_at", kind="stable")
    return ordered.drop_duplicates(ENTITY_KEY).reset_index(drop=True)


def derive_followers(
    interactions: pd.DataFrame, conversions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """A raw followers table from validated events: first seen, platform "unknown"."""
    seen = [interactions[[ENTITY_KEY, "occurred_at"]]]
    if conversions is not None:
        seen.append(conversions[[ENTITY_KEY, "converted_at"]].set_axis(seen[0].columns, axis=1))
    first = pd.concat(seen, ignore_index=True).groupby(ENTITY_KEY)["occurred_at"].min()
    # In id order, whether the ids came as text or as codes (which group by first appearance).
    first = first.set_axis(first.index.astype("str")).sort_index()
    logger.info(
        "%s followers derived from the events (followed_at = first seen)", f"{len(first):,}"
    )
    return pd.DataFrame(
        {ENTITY_KEY: first.index, "platform": UNKNOWN_PLATFORM, "followed_at": first.to_numpy()}
    )
