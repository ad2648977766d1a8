"""Freed memory handed back to the system, so a long run's peak follows what it holds."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _trim() -> object | None:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def release_memory() -> None:
    """Return freed heap pages to the system (glibc's malloc_trim; elsewhere nothing).

    glibc keeps freed arrays of up to 32 MB in its heap for reuse; after each snapshot of a
    large audience those pages would add up to gigabytes held and never used again.
    """
    trim = _trim()
    if trim is not None:
        trim(0)  # type: ignore[operator]
