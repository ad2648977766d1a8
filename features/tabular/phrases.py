"""Reasons of a table model in words: "Lead Origin is Lead Add Form", "TotalVisits is 12 (high)"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.phrases import is_missing, number
from features.tabular.spec import TabularSpec

# Quantiles of a numeric column's training values: below the first is "low", above the second
# "high", in between "typical".
QUARTILES: tuple[float, float] = (0.25, 0.75)


class TablePhrases:
    """Learns how to say a value: the usual spelling of each level and the quartiles of numbers.

    Follows the scikit-learn contract: `fit` sets `labels_` (column -> level -> spelling, for
    the model's levels only) and `quartiles_` (column -> [low, high], None if all missing).
    """

    def __init__(self, spec: TabularSpec, levels: Mapping[str, Sequence[str]]):
        self.spec = spec
        self.levels = levels

    def fit(self, table: pd.DataFrame, features: pd.DataFrame) -> TablePhrases:
        """Learn from training rows: `table` as read (with the id column), `features` prepared."""
        raw = table.set_index(self.spec.id_column).loc[features.index]
        self.labels_ = {
            column: _spellings(raw[column], features[column], self.levels.get(column, ()))
            for column in self.spec.categorical
        }
        self.quartiles_ = {column: _quartiles(features[column]) for column in self.spec.numeric}
        self.dates_ = {name: list(sources) for name, sources in self.spec.derived.items()}
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, for the model spec."""
        return {"labels": self.labels_, "quartiles": self.quartiles_, "dates": self.dates_}


def say_table_value(column: str, value: object, phrases: Mapping[str, Any]) -> str:
    """One lead's value of `column` in words, from a `TablePhrases.to_dict()` form.

    A level the model never learnt is said as such: the model reads it as missing. A spec
    without phrases (or without this column's) says the bare value.
    """
    if is_missing(value):
        return f"{column} is missing"
    sources = phrases.get("dates", {}).get(column)
    if sources is not None:
        return _say_date_part(column, float(value), sources)  # type: ignore[arg-type]
    labels = phrases.get("labels", {}).get(column)
    if labels is not None:
        if value in labels:
            return f"{column} is {labels[value]}"
        return f"{column} is {value!r}, a value new to the model"
    if isinstance(value, str):
        return f"{column} is {value}"
    bounds = phrases.get("quartiles", {}).get(column)
    shown = f"{column} is {number(float(value))}"  # type: ignore[arg-type]
    if bounds is None:
        return shown
    low, high = bounds
    level = "high" if float(value) > high else "low" if float(value) < low else "typical"  # type: ignore[arg-type]
    return f"{shown} ({level})"


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _say_date_part(column: str, value: float, sources: Sequence[str]) -> str:
    """A feature made from dates in words: "created in December", "created on a Sunday",
    "created at 14 h", "first_visit 12.4 days before created"."""
    if len(sources) == 2:
        first, second = sources
        side = "after" if value >= 0 else "before"
        return f"{second} {number(abs(value))} days {side} {first}"
    part = column.removeprefix(f"{sources[0]} ")
    if part == "month":
        return f"{sources[0]} in {MONTHS[int(value) - 1]}"
    if part == "weekday":
        return f"{sources[0]} on a {WEEKDAYS[int(value)]}"
    return f"{sources[0]} at {int(value)} h"


def _spellings(raw: pd.Series, prepared: pd.Series, levels: Sequence[str]) -> dict[str, str]:
    """Each level's most frequent spelling in the table (stripped), e.g. "google" -> "Google"."""
    pairs = pd.DataFrame(
        {
            "level": prepared.to_numpy(dtype=object),
            "raw": raw.astype("object").astype("str").str.strip().to_numpy(dtype=object),
        }
    )
    pairs = pairs[pairs["level"].notna() & pairs["level"].isin(list(levels))]
    counts = pairs.groupby(["level", "raw"]).size().reset_index(name="rows")
    # Most rows first, then the spelling, so ties are settled the same way every time.
    best = counts.sort_values(["level", "rows", "raw"], ascending=[True, False, True])
    spelled = best.drop_duplicates("level").set_index("level")["raw"]
    return {str(level): str(spelled.get(level, level)) for level in levels}


def _quartiles(values: pd.Series) -> list[float] | None:
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    if np.isnan(numbers).all():
        return None
    return [float(q) for q in np.nanquantile(numbers, QUARTILES)]
