"""Date columns of a lead table: recognised by their values, read to UTC, and turned into
features that generalise (month, weekday, hour, days between two dates)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

# A date written as text starts with three numbers separated by - / or . (a plain year or
# a count never does), e.g. 2026-03-01, 01/03/2026, 1.3.26.
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
# Numbers are epoch times only in a column whose name says time: a 10-digit number may as well
# be a phone number or an amount.
_TIME_NAME = re.compile(r"date|time|_at$|^at_|stamp|epoch|created|updated|when", re.IGNORECASE)
# Epoch magnitudes (2001..2096) and their unit.
_EPOCH_UNITS: tuple[tuple[float, float, str], ...] = (
    (1e9, 4e9, "s"),
    (1e12, 4e12, "ms"),
    (1e15, 4e15, "us"),
)
ISO = "ISO8601"
# Day-first before month-first: where both read every value (no day above 12), day-first is
# what most of the world writes; the choice is logged and stored with the model.
_DAY_FORMS = ("%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%Y/%m/%d", "%Y.%m.%d")
_SHORT_FORMS = ("%d/%m/%y", "%m/%d/%y", "%d.%m.%y")
_TIMES = ("", " %H:%M", " %H:%M:%S")
# The share of a column's non-empty values that must read as dates for it to be a date column;
# the rest (a few stray values) are read as missing.
MIN_DATE_SHARE = 0.95
# Values looked at to recognise a column and choose its format; values of the whole column
# that the format does not read are missing, and counted in a warning.
_SAMPLE = 2000


@dataclass(frozen=True)
class DateColumn:
    """A date column: how its values are written (`ISO8601`, a strptime format or `epoch:s`)
    and whether they carry a time of day (then an hour feature is made)."""

    column: str
    form: str
    timed: bool = False

    def to_list(self) -> list[object]:
        return [self.column, self.form, self.timed]


def recognise_date(values: pd.Series, named_time: bool = False) -> DateColumn | None:
    """The column as a date column if its values are dates (or epoch times under a time-like
    name, or whatever the name when `named_time`: the user said it is time), else None."""
    name = str(values.name)
    if pd.api.types.is_datetime64_any_dtype(values):
        form = ISO
    elif pd.api.types.is_bool_dtype(values):
        return None
    elif pd.api.types.is_numeric_dtype(values):
        form = _epoch_form(values) if named_time or _TIME_NAME.search(name) else None
    else:
        form = _text_form(values)
    if form is None:
        return None
    parsed = parse_dates(values, form)
    return DateColumn(name, form, bool(_has_time(parsed)))


def parse_dates(values: pd.Series, form: str) -> pd.Series:
    """Values as UTC timestamps (naive ones taken as UTC); what does not read is missing."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values, utc=True)
    elif form.startswith("epoch:"):
        numbers = pd.to_numeric(values, errors="coerce")
        parsed = pd.to_datetime(numbers, unit=form.split(":")[1], utc=True, errors="coerce")
    else:
        text = values.astype("object").where(values.notna(), None).astype("str").str.strip()
        parsed = pd.to_datetime(text, format=form, utc=True, errors="coerce")
    return pd.Series(parsed, index=values.index, name=values.name).astype("datetime64[us, UTC]")


def reads_as_date(value: object, form: str) -> bool:
    """Whether one value reads as a date written as `form` (text must also look like a date:
    pandas' ISO reader takes "2026" or "20261202" too)."""
    if not form.startswith("epoch:") and not _DATE_LIKE.match(str(value)):
        return False
    return bool(parse_dates(pd.Series([value], dtype="object"), form).notna().all())


def _epoch_form(values: pd.Series) -> str | None:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty or not (numbers == np.floor(numbers)).all():
        return None
    for low, high, unit in _EPOCH_UNITS:
        if ((numbers >= low) & (numbers < high)).mean() >= MIN_DATE_SHARE:
            return f"epoch:{unit}"
    return None


def _text_form(values: pd.Series) -> str | None:
    """The first format that reads at least MIN_DATE_SHARE of the non-empty values."""
    text = values.dropna().astype("str").str.strip()
    text = text[text != ""]
    if text.empty:
        return None
    # A seeded sample of values (not of distinct values: shares are of rows).
    sample = text.sample(min(len(text), _SAMPLE), random_state=0)
    if sample.str.match(_DATE_LIKE).mean() < MIN_DATE_SHARE:
        return None
    for form in _forms(sample):
        read = pd.to_datetime(sample, format=form, utc=True, errors="coerce").notna().mean()
        if read >= MIN_DATE_SHARE:
            return form
    return None


def _forms(sample: pd.Series) -> list[str]:
    # ISO only where the year comes first: pandas' ISO reader would also take 01-03-2026.
    iso = [ISO] if sample.str.match(r"^\s*\d{4}-\d{1,2}-\d{1,2}").mean() >= MIN_DATE_SHARE else []
    return iso + [day + time for day in (*_DAY_FORMS, *_SHORT_FORMS) for time in _TIMES]


def _has_time(parsed: pd.Series) -> bool:
    present = parsed.dropna()
    return bool(len(present)) and bool((present != present.dt.normalize()).any())


def derived_columns(dates: Sequence[DateColumn]) -> dict[str, tuple[str, ...]]:
    """Model columns made from date columns, and the date columns each is made from.

    Each date gives its month and weekday (and hour when it has times); each pair of dates,
    in table order, the days from the first to the second. Never the date itself: a model that
    learnt "2026-03-14" has nothing to say about a lead of next month.
    """
    derived: dict[str, tuple[str, ...]] = {}
    for date in dates:
        derived[f"{date.column} month"] = (date.column,)
        derived[f"{date.column} weekday"] = (date.column,)
        if date.timed:
            derived[f"{date.column} hour"] = (date.column,)
    for i, first in enumerate(dates):
        for second in dates[i + 1 :]:
            derived[f"days from {first.column} to {second.column}"] = (first.column, second.column)
    return derived


def derive(name: str, parsed: dict[str, pd.Series]) -> np.ndarray:
    """The values of derived column `name` (see `derived_columns`) from parsed date columns."""
    if name.startswith("days from "):
        first, second = _pair(name, parsed)
        return ((second - first).dt.total_seconds() / 86400).to_numpy(
            dtype="float64", na_value=np.nan
        )
    column, part = name.rsplit(" ", 1)
    times = parsed[column].dt
    values = {"month": times.month, "weekday": times.day_of_week, "hour": times.hour}[part]
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _pair(name: str, parsed: dict[str, pd.Series]) -> tuple[pd.Series, pd.Series]:
    for first in parsed:
        for second in parsed:
            if name == f"days from {first} to {second}":
                return parsed[first], parsed[second]
    raise ValueError(f"{name!r}: its date columns are not in the table")
