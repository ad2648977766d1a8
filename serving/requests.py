"""Request bodies to the pipeline's inputs: feature records to rows, lead records to a table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel

from features.catalogue import catalogue
from features.events.text import fold
from features.records import refuse_repeats
from features.schema import ALL_EVENT_TYPES, FeatureConfig, count_column, feature_groups
from serving.model.phrasing import NotSent


@dataclass(frozen=True)
class FeatureRows:
    """Records as rows of feature values in a model's column order: what the fast path scores.

    `table` is an object array (one row per record); a value left out that the record's other
    values contradict as "none" is a `NotSent` (read as the default, said as not sent).
    """

    ids: list[str]
    columns: tuple[str, ...]
    table: np.ndarray

    @property
    def values(self) -> list[np.ndarray]:
        """One array per column."""
        return [self.table[:, position] for position in range(len(self.columns))]

    def value(self, follower: str, column: str) -> object:
        return self.table[self.ids.index(follower), self.columns.index(column)]


@dataclass(frozen=True)
class _Layout:
    """How records of one feature config become rows: built once per config and columns."""

    columns: tuple[str, ...]
    # Each event total and the counts per type it sums.
    totals: tuple[tuple[str, tuple[str, ...]], ...]
    # Event counts: any above zero means the follower had events.
    counts: tuple[str, ...]
    # Columns computed from events, and what each says when a record with events leaves it out.
    not_sent: dict[str, NotSent]


@cache
def _layout(config: FeatureConfig, columns: tuple[str, ...]) -> _Layout:
    groups = feature_groups(config)
    totals = tuple(
        (count_column("events", w), tuple(count_column(kind, w) for kind in ALL_EVENT_TYPES))
        for w in config.windows_days
    )
    derived = {total for total, _ in totals} | {"follower_following_ratio", "days_since_follow"}
    entries = catalogue(config)
    not_sent = {
        column: NotSent(
            # The description without its fine print: "engagement points: not sent".
            f"{entries[column].description.split(' (')[0]}: not sent",
            0.0 if group in ("count", "score") else float("nan"),
        )
        for group in ("count", "recency", "rate", "score")
        for column in groups[group]
        if column not in derived
    }
    counts = tuple(column for total, parts in totals for column in (total, *parts))
    return _Layout(columns, totals, counts, not_sent)


def records_to_rows(
    records: Sequence[BaseModel], columns: Sequence[str], config: FeatureConfig
) -> FeatureRows:
    """Feature records (pydantic) as rows of `columns`, with what the pipeline derives.

    Event totals a record leaves out are the sum of the counts per type it gives, and the
    follower/following ratio comes from the two counts, as features.build derives them.
    Missing values are NaN; a repeated follower_id is an error naming the row.
    """
    layout = _layout(config, tuple(columns))
    ids = [record.follower_id for record in records]  # type: ignore[attr-defined]
    refuse_repeats(ids, "followers")
    nan = float("nan")
    table = np.empty((len(records), len(layout.columns)), dtype=object)
    for row, record in enumerate(records):
        values = _derived(record.__dict__, record.model_fields_set, layout)
        table[row] = [nan if (value := values[c]) is None else value for c in layout.columns]
    return FeatureRows(ids, layout.columns, table)


def _derived(given: dict[str, Any], sent: set[str], layout: _Layout) -> dict[str, Any]:
    """One record's values with the columns derived, and left-out event columns that its
    counts contradict as "none" marked as not sent."""
    values = dict(given)
    for total, parts in layout.totals:
        if total not in sent:
            # "no events" must not stand beside "2 link clicks".
            values[total] = sum(values[part] for part in parts)
    if values["follower_following_ratio"] is None:
        follower, following = values["follower_count"], values["following_count"]
        if follower is not None and following:
            values["follower_following_ratio"] = follower / following
    business = values["is_business"]
    values["is_business"] = None if business is None else float(business)
    if isinstance(values["platform"], str):
        values["platform"] = fold(values["platform"])
    if any(values[count] for count in layout.counts):
        for column, marker in layout.not_sent.items():
            if column not in sent:
                values[column] = marker
    return values


def records_to_table(records: Sequence[BaseModel]) -> pd.DataFrame:
    """Lead records (a table model's pydantic records) as table rows, columns named as in the table.

    Every column is there, left-out fields as missing; the model prepares the rows as in training.
    """
    return pd.DataFrame([record.model_dump(by_alias=True) for record in records])
