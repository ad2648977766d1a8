"""Where the events are: the dense range of days, and the stray timestamps far outside it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from features.events.load import Tables

logger = logging.getLogger(__name__)

# A share of events at each end that cannot decide the range by itself: a handful of clock
# errors weeks away from the rest must not stretch a nine-day log to three months.
STRAY_SHARE = 0.01
# The longest run of days without events that the dense range bridges beyond its core: a
# tenth of the core's length, at least one day. A thin but continuous start (a growing
# audience) stays in; events separated from the rest by a longer silence are strays.
SLACK_SHARE = 0.1


@dataclass(frozen=True)
class EventSpan:
    """The dense days of an event log (midnights, both ends included) and the strays outside."""

    first: pd.Timestamp
    last: pd.Timestamp
    events: int
    before: int  # events before `first`
    after: int  # events on days after `last`

    @property
    def days(self) -> int:
        return int((self.last - self.first).days) + 1

    @property
    def strays(self) -> int:
        return self.before + self.after

    @property
    def end(self) -> pd.Timestamp:
        """The midnight after the last dense day."""
        return self.last + pd.Timedelta(days=1)

    def inside(self, occurred: pd.Series) -> np.ndarray:
        """Which timestamps fall on the dense days."""
        return ((occurred >= self.first) & (occurred < self.end)).to_numpy()

    def describe(self) -> str:
        """E.g. "2017-11-25..2017-12-03 (9 days; 12 stray events outside: 12 before)"."""
        text = f"{self.first.date()}..{self.last.date()} ({self.days} days"
        if not self.strays:
            return text + ")"
        sides = ((self.before, "before"), (self.after, "after"))
        listed = ", ".join(f"{n:,} {side}" for n, side in sides if n)
        return text + f"; {self.strays:,} stray events outside: {listed})"


def dense_span(occurred: pd.Series) -> EventSpan:
    """The range of days that holds the events, ignoring a few stray timestamps far outside.

    The core runs between the `STRAY_SHARE` and `1 - STRAY_SHARE` quantiles of the timestamps;
    the dense range grows from it, outwards, over every day with events that is no more than
    the slack (`SLACK_SHARE` of the core, at least a day) from the range so far.
    """
    if occurred.empty:
        raise ValueError("no events: the interactions table is empty")
    days = occurred.dt.floor("D")
    low, high = days.quantile([STRAY_SHARE, 1 - STRAY_SHARE], interpolation="nearest")
    slack = max(pd.Timedelta(days=1), (high - low) * SLACK_SHARE)
    distinct = np.sort(days.unique())
    first, last = low, high
    for day in distinct[distinct < low][::-1]:
        if first - day > slack:
            break
        first = day
    for day in distinct[distinct > high]:
        if day - last > slack:
            break
        last = day
    return EventSpan(
        first=pd.Timestamp(first),
        last=pd.Timestamp(last),
        events=len(occurred),
        before=int((days < first).sum()),
        after=int((days > last).sum()),
    )


def without_strays(tables: Tables) -> tuple[Tables, EventSpan]:
    """The tables with only the interactions on the dense days, and the span; training and
    batch scoring both read a log through it, so a clock error counts in neither."""
    span = dense_span(tables.interactions["occurred_at"])
    if not span.strays:
        return tables, span
    logger.warning("%s: the stray events outside are left out", span.describe())
    inside = span.inside(tables.interactions["occurred_at"])
    return replace(tables, interactions=tables.interactions[inside]), span
