"""Numbers in words for people: counts with nouns, days ago, shares; missing says so."""

from __future__ import annotations

import math
from collections.abc import Callable

# Singular and plural of each event type as a marketer says it.
NOUNS: dict[str, tuple[str, str]] = {
    "view": ("view", "views"),
    "like": ("like", "likes"),
    "comment": ("comment", "comments"),
    "share": ("share", "shares"),
    "save": ("save", "saves"),
    "click": ("link click", "link clicks"),
    "profile_visit": ("profile visit", "profile visits"),
    "dm": ("DM", "DMs"),
    "mention": ("mention", "mentions"),
    "follow": ("follow", "follows"),
    "unfollow": ("unfollow", "unfollows"),
    "other": ("other event", "other events"),
    "events": ("event", "events"),
    "high_intent": ("high-intent action", "high-intent actions"),
}

Phrase = Callable[[object], str]


def is_missing(value: object) -> bool:
    """Whether a feature value is unknown (None, NaN, pd.NA or the text of one)."""
    if value is None or isinstance(value, str):
        return value in (None, "", "nan", "<NA>", "None")
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True  # pd.NA and other unknown markers


def number(value: float) -> str:
    """Whole numbers without decimals, others with one; thousands separated."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def one_decimal(value: float) -> str:
    return f"{value:,.1f}"


def whole(value: float) -> str:
    return f"{value:,.0f}"


def percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def counted(value: float, singular: str, plural: str) -> str:
    """ "no DMs", "1 DM", "4 DMs"."""
    return f"{'no' if value == 0 else number(value)} {singular if value == 1 else plural}"


def days_ago(days: float) -> str:
    """Whole days elapsed: "today", "1 day ago", "12 days ago"."""
    elapsed = math.floor(days)
    return "today" if elapsed < 1 else f"{counted(elapsed, 'day', 'days')} ago"


def say(template: str, empty: str, show: Callable[[float], str] = number) -> Phrase:
    """A phrase filling `template` with the shown value, or `empty` when the value is missing."""
    return lambda value: empty if is_missing(value) else template.format(show(float(value)))  # type: ignore[arg-type]


def say_last(label: str, empty: str) -> Phrase:
    """ "last DM 2 days ago", or `empty` if there was none."""
    return say(f"last {label} {{}}", empty, days_ago)


def say_count(kind: str, span: str) -> Phrase:
    """ "4 link clicks in the last 7 days"."""
    return say(
        f"{{}} {span}", f"{NOUNS[kind][1]} {span} unknown", lambda v: counted(v, *NOUNS[kind])
    )


def say_text(template: str, empty: str) -> Phrase:
    """A phrase for a text value (platform, country)."""
    return lambda value: empty if is_missing(value) else template.format(value)


def say_tenure(days: object) -> str:
    if is_missing(days):
        return "follow date unknown"
    days = float(days)  # type: ignore[arg-type]
    if days < 0:
        return "not following yet"
    if days < 1:
        return "followed today"
    return f"following for {counted(math.floor(days), 'day', 'days')}"


def say_business(value: object) -> str:
    if is_missing(value):
        return "account type unknown"
    return "business account" if float(value) == 1 else "personal account"  # type: ignore[arg-type]
