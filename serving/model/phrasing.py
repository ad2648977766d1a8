"""A model's values in words, remembered: reasons say the same few values over and over."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Phrases kept per model before the memory starts over; a value costs ~2 µs to phrase anew.
MAX_REMEMBERED = 100_000


@dataclass(frozen=True)
class NotSent:
    """A value a request left out where its default would say something the request's other
    values contradict (no events yet, beside counts above zero): the model reads the default,
    the reason says it was not sent."""

    phrase: str
    default: float

    def __float__(self) -> float:
        return self.default


class Phrasebook:
    """`say(column, value)` for column positions, remembering each phrase it made."""

    def __init__(self, say: Callable[[str, object], str], columns: Sequence[str]) -> None:
        self._say = say
        self._columns = tuple(columns)
        self._said: dict[tuple[int, object], str] = {}

    def __call__(self, position: int, value: object) -> str:
        # Most values were said before: one lookup (a NaN or a NotSent misses it, then below).
        try:
            phrase = self._said.get((position, value))
        except TypeError:  # unhashable, or pd.NA compared with a key
            phrase = None
        if phrase is not None:
            return phrase
        if isinstance(value, NotSent):
            return value.phrase
        key = (position, _key(value))
        phrase = self._said.get(key)
        if phrase is None:
            if len(self._said) >= MAX_REMEMBERED:
                self._said = {}  # a new dict, so a request reading the old one is not disturbed
            phrase = self._say(self._columns[position], value)
            self._said[key] = phrase
        return phrase


_MISSING = object()


def _key(value: object) -> object:
    """The value as a dict key: every kind of missing (None, NaN, pd.NA) is one key, since
    phrases say them alike."""
    if value is None:
        return _MISSING
    try:
        return value if value == value else _MISSING  # noqa: PLR0124  (NaN is not itself)
    except TypeError:  # pd.NA has no truth value
        return _MISSING
