"""Leakage audit before training: flag columns that alone separate the target almost perfectly.

A column known when a lead is scored rarely predicts conversion on its own with near certainty;
one filled in by sales after contact (a status tag, a quality grade) often does. Such a column
makes offline metrics excellent and the deployed model useless, so it is flagged for a human
decision: drop it (`apply_audit`) or keep it with a written reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from features.tabular.spec import TabularSpec

AUDIT_COLUMNS: tuple[str, ...] = ("column", "reason", "evidence", "auc")
KEPT = "kept (--keep)"
_MISSING = "<missing>"
_RARE = "<rare>"


def audit_leakage(
    frame: pd.DataFrame,
    labels: Sequence[int] | np.ndarray | pd.Series,
    columns: Sequence[str],
    categorical: Iterable[str],
    *,
    auc_threshold: float = 0.95,
    level_min_rows: int = 50,
    level_purity: float = 0.98,
) -> pd.DataFrame:
    """One row per flagged column: `column, reason, evidence, auc` (single-column ROC AUC).

    Two tests, either one flags a column:

    - "single-column AUC": the column alone ranks converters above the rest with ROC AUC at or
      above `auc_threshold`. This catches a column that encodes the outcome across its values.
      Numeric columns rank their raw values in either direction, missing placed lowest or
      highest (whichever separates better). Categorical columns score each row with its level's
      conversion rate learnt on the other folds, so a many-level column cannot fit itself;
      levels with fewer than `level_min_rows` learning rows share one pooled rate.
    - "pure level": one value (missing counts as a value) with at least `level_min_rows` rows
      converts at `level_purity` or more, or at `1 - level_purity` or less. This catches a
      column whose other values are honest noise but one value is the outcome ("Closed by
      Horizzon"), which dilutes the AUC below the threshold.

    Args:
        frame: the prepared features (one row per lead), e.g. from `prepare_tabular`.
        labels: 0/1 in `frame`'s row order (a Series is aligned on `frame`'s index).
    """
    target = _aligned_labels(frame, labels)
    categorical = set(categorical)
    rows = [
        _audit_column(
            frame[column],
            target,
            column in categorical,
            auc_threshold,
            level_min_rows,
            level_purity,
        )
        for column in columns
    ]
    return pd.DataFrame([row for row in rows if row is not None], columns=list(AUDIT_COLUMNS))


def apply_audit(spec: TabularSpec, flagged: pd.DataFrame, keep: Iterable[str] = ()) -> TabularSpec:
    """`spec` with flagged feature columns excluded (reason recorded), except those in `keep`."""
    keep = set(keep)
    unknown = sorted(keep - set(spec.features))
    if unknown:
        raise ValueError(f"keep names column(s) that are not features: {', '.join(unknown)}")
    reasons = {
        row.column: f"leakage audit: {row.evidence}"
        for row in flagged.itertuples(index=False)
        if row.column not in keep
    }
    return spec.without(reasons)


def _audit_column(
    values: pd.Series,
    target: np.ndarray,
    is_categorical: bool,
    auc_threshold: float,
    level_min_rows: int,
    level_purity: float,
) -> tuple[str, str, str, float] | None:
    """`(column, reason, evidence, auc)` if either test flags the column, else None."""
    if is_categorical:
        auc = _categorical_auc(values, target, level_min_rows)
    else:
        auc = _numeric_auc(values, target)
    findings = []
    if auc >= auc_threshold:
        findings.append(("single-column AUC", f"single-column ROC AUC {auc:.3f}"))
    level = _purest_level(values, target, level_min_rows, level_purity)
    if level is not None:
        findings.append(("pure level", level))
    if not findings:
        return None
    reason, evidence = ("; ".join(parts) for parts in zip(*findings, strict=True))
    return str(values.name), reason, evidence, round(auc, 4)


def _aligned_labels(
    frame: pd.DataFrame, labels: Sequence[int] | np.ndarray | pd.Series
) -> np.ndarray:
    if isinstance(labels, pd.Series) and not labels.index.equals(frame.index):
        if not frame.index.isin(labels.index).all():
            raise ValueError("labels lack some of the frame's index values")
        labels = labels.reindex(frame.index)
    target = np.asarray(labels, dtype=float)
    if len(target) != len(frame):
        raise ValueError(f"{len(target)} labels for {len(frame)} rows")
    if not np.isin(target, (0, 1)).all() or target.min() == target.max():
        raise ValueError("labels must be 0/1 with both classes present")
    return target.astype(int)


def _numeric_auc(values: pd.Series, target: np.ndarray) -> float:
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


def _categorical_auc(values: pd.Series, target: np.ndarray, level_min_rows: int) -> float:
    levels = _levels(values)
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


def _purest_level(
    values: pd.Series, target: np.ndarray, level_min_rows: int, level_purity: float
) -> str | None:
    levels = _levels(values)
    stats = pd.Series(target).groupby(levels.to_numpy()).agg(["size", "mean"])
    stats = stats.assign(purity=np.maximum(stats["mean"], 1 - stats["mean"]))
    stats = stats[(stats["size"] >= level_min_rows) & (stats["purity"] >= level_purity)]
    if stats.empty:
        return None
    level, row = next(stats.sort_values(["purity", "size"], ascending=False).iterrows())
    return f"value {level!r} (n={int(row['size'])}) converts at {100 * row['mean']:.0f} %"


def _levels(values: pd.Series) -> pd.Series:
    """The values as text labels, missing as its own label, on a 0..n-1 index."""
    text = values.astype("object").where(values.notna()).astype("str")
    return text.fillna(_MISSING).reset_index(drop=True)


@dataclass(frozen=True)
class AuditThresholds:
    """When the audit flags a column (see `audit_leakage`)."""

    auc_threshold: float = 0.95
    level_min_rows: int = 50
    level_purity: float = 0.98


def audit_table(
    features: pd.DataFrame,
    labels: np.ndarray,
    spec: TabularSpec,
    keep: Iterable[str] = (),
    thresholds: AuditThresholds = AuditThresholds(),
) -> tuple[TabularSpec, pd.DataFrame]:
    """`spec` without the flagged columns not kept, and the flagged ones with the action taken.

    `features` and `labels` are the rows the audit may see (never the test rows).
    """
    keep = tuple(keep)
    flagged = audit_leakage(
        features,
        labels,
        spec.features,
        spec.categorical,
        auc_threshold=thresholds.auc_threshold,
        level_min_rows=thresholds.level_min_rows,
        level_purity=thresholds.level_purity,
    )
    audited = apply_audit(spec, flagged, keep)
    if not audited.features:
        raise ValueError("no feature column left after exclusions and the leakage audit")
    kept = flagged["column"].isin(list(keep))
    return audited, flagged.assign(action=np.where(kept, KEPT, "excluded"))


def kept_columns(audit: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """(column, evidence) of the columns the audit flagged and --keep kept."""
    kept = audit[audit["action"] != "excluded"]
    return tuple(zip(kept["column"], kept["evidence"], strict=True))


def audit_record(
    thresholds: AuditThresholds, audited_rows: int, audit: pd.DataFrame, spec: TabularSpec
) -> dict[str, Any]:
    """What was left out and why, for the run's audit/leakage_audit.json."""
    return {
        "thresholds": {
            "single_column_auc": thresholds.auc_threshold,
            "level_min_rows": thresholds.level_min_rows,
            "level_purity": thresholds.level_purity,
        },
        "audited_rows": int(audited_rows),
        "flagged": audit.to_dict(orient="records"),
        "excluded": [{"column": c, "reason": r} for c, r in spec.excluded],
        "features": list(spec.features),
    }
