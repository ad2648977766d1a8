"""How a lead table's rows split into fit, early-stopping and test parts: out of time by a time
key when the table has one, else stratified at random."""

from __future__ import annotations

import numpy as np


def stratified_split(
    labels: np.ndarray,
    test_share: float = 0.2,
    stop_share: float = 0.2,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted row positions `(fit, stop, test)`, each with the labels' class balance.

    `test_share` is a share of all rows; `stop_share` is carved from the rows left after the
    test split (defaults: 20 % test, 16 % stop, 64 % fit). `stop_share=0` gives an empty stop.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    _check_shares(test_share, stop_share)
    positions = np.arange(len(labels))
    rest, test = train_test_split(
        positions, test_size=test_share, stratify=labels, random_state=seed
    )
    if stop_share == 0:
        return np.sort(rest), np.array([], dtype=int), np.sort(test)
    fit, stop = train_test_split(
        rest, test_size=stop_share, stratify=labels[rest], random_state=seed
    )
    return np.sort(fit), np.sort(stop), np.sort(test)


def time_split(
    keys: np.ndarray, test_share: float = 0.2, stop_share: float = 0.2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted row positions `(fit, stop, test)` out of time: test the newest `test_share` of the
    rows by `keys`, stop the newest `stop_share` of the rest, fit the rows before.

    Rows with a missing key (NaN) are in no part. Rows with equal keys fall in one part (the
    later one), so no test row shares its time with a row a choice was made on.
    """
    _check_shares(test_share, stop_share)
    keys = np.asarray(keys, dtype="float64")
    known = np.flatnonzero(~np.isnan(keys))
    ordered = known[np.argsort(keys[known], kind="stable")]
    rest, test = _cut(ordered, keys, test_share)
    if stop_share == 0:
        return np.sort(rest), np.array([], dtype=int), np.sort(test)
    fit, stop = _cut(rest, keys, stop_share)
    return np.sort(fit), np.sort(stop), np.sort(test)


def _cut(ordered: np.ndarray, keys: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    """The rows before and from the newest `share` of `ordered`, ties moved to the later part."""
    at = int(np.ceil(len(ordered) * (1 - share)))
    if at >= len(ordered):
        return ordered, ordered[:0]
    first_later = keys[ordered[at]]
    at = int(np.searchsorted(keys[ordered], first_later, side="left"))
    return ordered[:at], ordered[at:]


def newest(positions: np.ndarray, keys: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    """`positions` as (older, newest `share`) by `keys`, each sorted by position."""
    ordered = positions[np.argsort(np.asarray(keys, dtype="float64")[positions], kind="stable")]
    older, later = _cut(ordered, np.asarray(keys, dtype="float64"), share)
    return np.sort(older), np.sort(later)


def _check_shares(test_share: float, stop_share: float) -> None:
    if not 0 < test_share < 1 or not 0 <= stop_share < 1:
        raise ValueError(f"shares must be in (0, 1), got test {test_share}, stop {stop_share}")
