"""The leakage audit's tests of one column: single-column AUC, pure levels, missingness, dates
after the reference time; each gives a (reason, evidence) finding or None."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import binom
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

if TYPE_CHECKING:
    from training.audit import AuditThresholds

_MISSING = "<missing>"
_RARE = "<rare>"
# One test's verdict on a column: (reason, evidence).
Finding = tuple[str, str]


def aligned(frame: pd.DataFrame, values: pd.Series, what: str = "a series") -> pd.Series:
    if values.index.equals(frame.index):
        return values
    if not frame.index.isin(values.index).all():
        raise ValueError(f"{what} lack some of the frame's index values")
    return values.reindex(frame.index)


def numeric_auc(values: pd.Series, target: np.ndarray) -> float:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(numbers)
    if missing.all():
        return 0.5
    low, high = np.nanmin(numbers), np.nanmax(numbers)
    best = 0.5
    for fill in (low - 1, high + 1):
        auc = roc_auc_score(target, np.where(missing, fill, numbers))
        best = max(best, auc, 1 - auc)
    return float(best)


def categorical_auc(values: pd.Series, target: np.ndarray, level_min_rows: int) -> float:
    levels = level_labels(values)
    n_splits = int(min(5, np.bincount(target).min()))
    if n_splits < 2:
        return 0.5
    scores = np.empty(len(target))
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
    for learn, held in folds.split(levels, target):
        rates = _level_rates(levels[learn], target[learn], level_min_rows)
        scores[held] = levels[held].map(rates).fillna(rates[_RARE]).to_numpy(dtype=float)
    return float(roc_auc_score(target, scores))


def _level_rates(levels: pd.Series, target: np.ndarray, level_min_rows: int) -> pd.Series:
    stats = pd.Series(target, index=levels.index).groupby(levels.to_numpy()).agg(["size", "sum"])
    rare = stats["size"] < level_min_rows
    pooled = stats[rare].sum() if rare.any() else stats.sum()
    rates = stats.loc[~rare, "sum"] / stats.loc[~rare, "size"]
    return pd.concat([rates, pd.Series({_RARE: pooled["sum"] / pooled["size"]})])


def pure_level(values: pd.Series, target: np.ndarray, limits: AuditThresholds) -> Finding | None:
    """The most significant almost-pure level, if its rate cannot be chance.

    The family is one column's tested levels, not the whole table: each column gets its own
    verdict (drop it or not) against its own null (every level converts at the base rate), so
    an honest column is flagged by chance with probability at most `alpha` whatever else the
    table holds, and excluding or adding another column never changes its verdict. Over C
    honest columns that allows up to C * alpha false flags, fewer in practice (Bonferroni is
    conservative for discrete tails, most of which cannot reach the cut at all), while real
    leaks sit far below it (p < 1e-40 for every level flagged in Leads.csv).
    The binomial test alone rules out chance; `level_min_rows` stays as a floor on what
    matters: a smaller level can move offline metrics little, "98 %" of it can only mean "all",
    and leaving such levels untested (their sizes do not depend on the labels, so the
    correction stays valid) keeps the divisor to levels that could be flagged.
    """
    levels = level_labels(values).to_numpy()
    stats = pd.Series(target).groupby(levels).agg(["size", "sum"])
    stats = stats[stats["size"] >= limits.level_min_rows]
    if stats.empty:
        return None
    base = float(target.mean())
    rate = stats["sum"] / stats["size"]
    # One-sided tails, P(X >= k) or P(X <= k) for X ~ Binomial(n, base rate).
    high = binom.sf(stats["sum"] - 1, stats["size"], base)
    low = binom.cdf(stats["sum"], stats["size"], base)
    always, never = pure_rates(base, limits.level_purity)
    tail = np.where(rate >= always, high, np.where(rate <= never, low, 1.0))
    cut = limits.alpha / len(stats)
    stats = stats.assign(rate=rate, p=tail)
    pure = stats[stats["p"] < cut]
    if pure.empty:
        return None
    level, row = next(pure.sort_values(["p", "size"], ascending=[True, False]).iterrows())
    evidence = (
        f"value {level!r} (n={int(row['size']):,}) converts at {_percent(row['rate'])} "
        f"against {_percent(base)} overall ({_p_value(row['p'])} < {cut:.2g} "
        f"after {len(stats)} level{'s' * (len(stats) > 1)})"
    )
    more = len(pure) - 1
    if more:
        evidence += f", and {more} more such level{'s' * (more > 1)}"
    return "pure level", evidence


def pure_rates(base: float, purity: float) -> tuple[float, float]:
    """The rates that mean "almost always" and "almost never" converts at this base rate.

    `purity` (0.98) and its complement, or within a tenth of the way to 1 or 0 when the base
    rate is near either: at a 9 % base rate a level converting at 1 % is a strong honest
    signal (some of it converts), where one at 0.5 % is the outcome written down; at 39 %,
    2 % is.
    """
    return max(purity, 1 - (1 - base) / 10), min(1 - purity, base / 10)


def missingness(values: pd.Series, target: np.ndarray, auc_threshold: float) -> Finding | None:
    filled = values.notna().to_numpy()
    if filled.all() or not filled.any():
        return None
    converters, others = filled[target == 1].mean(), filled[target == 0].mean()
    # A 0/1 indicator's ROC AUC is (TPR + TNR) / 2; either direction counts.
    auc = (1 + abs(converters - others)) / 2
    if auc < auc_threshold:
        return None
    return "missingness", (
        f"filled for {_percent(converters)} of converters, {_percent(others)} of the others "
        f"(missing-indicator ROC AUC {auc:.3f})"
    )


def dates_after(
    frame: pd.DataFrame,
    target: np.ndarray,
    time: pd.Series,
    dates: Mapping[str, pd.Series],
    limits: AuditThresholds,
) -> dict[str, Finding | None]:
    when = _as_times(aligned(frame, time, "time"))
    start = "the reference time" if time.name is None else repr(str(time.name))
    return {
        name: _date_after(
            f"{name!r} is after {start}",
            _as_times(aligned(frame, values, f"date {name!r}")),
            when,
            target,
            limits.date_after_share,
        )
        for name, values in dates.items()
    }


def _date_after(
    what: str, dates: pd.Series, time: pd.Series, target: np.ndarray, share: float
) -> Finding | None:
    both = (dates.notna() & time.notna()).to_numpy()
    # A missing date or time compares as False, so only rows with both can be after.
    after = (dates > time).to_numpy()
    groups = (both, both & (target == 1), both & (target == 0))
    overall, converters, others = (after[rows].mean() if rows.any() else np.nan for rows in groups)
    if not np.nanmax([overall, converters, others, 0.0]) >= share:
        return None
    return "date after time", (
        f"{what} in {_percent(overall)} of the {int(both.sum()):,} rows with both "
        f"({_percent(converters)} of converters, {_percent(others)} of the others)"
    )


def _as_times(values: pd.Series) -> pd.Series:
    """UTC time stamps (naive ones read as UTC), unreadable ones missing."""
    return pd.to_datetime(values, errors="coerce", utc=True)


def _percent(share: float) -> str:
    """A share as a whole percent, with a decimal where rounding would say "all" or "none"."""
    if np.isnan(share):
        return "n/a"
    text = f"{100 * share:.0f}"
    if text in ("0", "100") and 0 < share < 1:
        text = f"{100 * share:.1f}"
    return f"{text}%"


def _p_value(p: float) -> str:
    # Binomial tails of large pure levels fall below the smallest double.
    return "p<1e-300" if p < 1e-300 else f"p={p:.2g}"


def level_labels(values: pd.Series) -> pd.Series:
    """The values as text labels, missing as its own label, on a 0..n-1 index."""
    text = values.astype("object").where(values.notna()).astype("str")
    return text.fillna(_MISSING).reset_index(drop=True)
