"""The text rules shared by files and requests: folding, yes/no flags, campaigns, event types."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.schema import ALL_EVENT_TYPES, EVENT_TYPES, OTHER_EVENT

logger = logging.getLogger("features.events.load")

EVENT_TYPE_DTYPE = pd.CategoricalDtype(list(ALL_EVENT_TYPES))
OTHER_CODE = ALL_EVENT_TYPES.index(OTHER_EVENT)


def fold(text: str) -> str:
    """Text as it is compared: without surrounding whitespace, in lower case.

    One rule, Python's, wherever data comes from (a file, a request), so the same spelling
    always lands on the same type or level.
    """
    return text.strip().lower()


def campaign_name(text: str) -> str | None:
    """A campaign as named; None (no campaign) when blank."""
    return text.strip() or None


# As pydantic reads a request's yes/no, so a file and a request agree.
_TRUE = {"true", "1", "yes", "y", "t", "on"}
_FALSE = {"false", "0", "no", "n", "f", "off"}


def flag(text: str) -> float:
    """A yes/no value as 1.0/0.0, unrecognised as NaN (missing is information)."""
    folded = fold(text)
    return 1.0 if folded in _TRUE else 0.0 if folded in _FALSE else np.nan


def type_codes(spellings: Iterable[object]) -> tuple[np.ndarray, list[str]]:
    """The EVENT_TYPE_DTYPE code of each spelling, folded; unknown types are "other".

    Returns the codes (int8) and, for each spelling, its folded name if unknown else "".
    """
    names = pd.Index([fold(str(spelling)) for spelling in spellings], dtype="str")
    known = pd.Index(EVENT_TYPES).get_indexer(names)
    codes = np.where(known < 0, OTHER_CODE, known).astype(np.int8)
    return codes, [name if code < 0 else "" for name, code in zip(names, known, strict=True)]


def log_unknown_types(count: int, names: Iterable[str]) -> None:
    """Say how many events had a type outside the contract, with a few of those types."""
    if count:
        examples = sorted(set(names) - {""})[:5]
        logger.info("%d events of unknown type %s counted as other", count, examples)
