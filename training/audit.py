"""Leakage audit before training: flag columns that alone separate the target almost perfectly.

A column known when a lead is scored rarely predicts conversion on its own with near certainty;
one filled in by sales after contact (a status tag, a quality grade, a close date) often does.
Such a column makes offline metrics excellent and the deployed model useless, so it is flagged
for a human decision: drop it (`apply_audit`) or keep it with a written reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from features.tabular.spec import TabularSpec
from training.audit_checks import (
    Finding,
    aligned,
    categorical_auc,
    dates_after,
    missingness,
    numeric_auc,
    pure_level,
)

AUDIT_COLUMNS: tuple[str, ...] = ("column", "reason", "evidence", "auc")
KEPT = "kept (--keep)"


@dataclass(frozen=True)
class AuditThresholds:
    """When the audit flags a column (see `audit_leakage`)."""

    # Single-column ROC AUC, of the column's values or of its missing indicator.
    auc_threshold: float = 0.95
    # Smallest level tested for purity; also the smallest level with its own rate in the AUC.
    level_min_rows: int = 50
    # "Almost always" converts: at least this rate, or at most 1 - this rate.
    level_purity: float = 0.98
    # Chance of flagging a column whose levels all convert at the base rate (see `correction`).
    alpha: float = 0.01
    # Share of rows (all, or of either class) whose date is after the reference time.
    date_after_share: float = 0.5
    correction: ClassVar[str] = "Bonferroni over the tested levels of each column"


def audit_leakage(
    frame: pd.DataFrame,
    labels: Sequence[int] | np.ndarray | pd.Series,
    columns: Sequence[str],
    categorical: Iterable[str],
    *,
    auc_threshold: float = 0.95,
    level_min_rows: int = 50,
    level_purity: float = 0.98,
    alpha: float = 0.01,
    date_after_share: float = 0.5,
    time: pd.Series | None = None,
    dates: Mapping[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """One row per flagged column: `column, reason, evidence, auc` (single-column ROC AUC).

    Any one test flags a column; its reasons and evidence are joined with "; ":

    - "single-column AUC": the column alone ranks converters above the rest with ROC AUC at or
      above `auc_threshold`, in either direction. Numbers are ranked as they are, missing
      lowest or highest (whichever separates better). Categories score each row with its
      level's conversion rate learnt on the other folds, so a many-level column cannot fit
      itself; levels with fewer than `level_min_rows` learning rows share one pooled rate.
    - "pure level": one value (missing counts as one) of at least `level_min_rows` rows
      converts at `level_purity` or more (or `1 - level_purity` or less) and that cannot be
      chance: its one-sided binomial tail at the base rate is below `alpha` over the number of
      the column's levels tested. This catches one value that is the outcome ("Closed by
      Horizzon") among honest noise, which dilutes the AUC.
    - "missingness": the missing indicator alone has ROC AUC (TPR + TNR) / 2 at or above
      `auc_threshold`: filled in (almost) only for one class, as a field sales fill in later.
    - "date after time" (only given a `time`): one of `dates` is after `time` in at least
      `date_after_share` of the rows with both, or of the converters or the others with both:
      a date known when a lead is scored cannot be after it, and the share leaves room for
      clock and entry errors. A date not among `columns` gets its own row, `auc` NaN.

    Args:
        frame: the prepared features (one row per lead), e.g. from `prepare_tabular`.
        labels: 0/1 in `frame`'s row order (a Series is aligned on `frame`'s index).
        time: each row's reference time (e.g. first contact), aligned on `frame`'s index.
        dates: date columns by name, each aligned on `frame`'s index.
    """
    limits = AuditThresholds(auc_threshold, level_min_rows, level_purity, alpha, date_after_share)
    target = _aligned_labels(frame, labels)
    categorical = set(categorical)
    after = {} if time is None else dates_after(frame, target, time, dates or {}, limits)
    rows = [
        _audit_column(frame[column], target, column in categorical, limits, after.get(column))
        for column in columns
    ]
    # A date column is no model input (the features made from it are audited as columns).
    dated = [(name, finding) for name, finding in after.items() if name not in set(columns)]
    rows += [(name, *finding, np.nan) for name, finding in dated if finding is not None]
    return pd.DataFrame([row for row in rows if row is not None], columns=list(AUDIT_COLUMNS))


def apply_audit(spec: TabularSpec, flagged: pd.DataFrame, keep: Iterable[str] = ()) -> TabularSpec:
    """`spec` with flagged feature columns excluded (reason recorded), except those in `keep`."""
    keep = set(keep)
    unknown = sorted(keep - set(spec.features) - {date.column for date in spec.date_columns})
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
    limits: AuditThresholds,
    date_after: Finding | None,
) -> tuple[str, str, str, float] | None:
    """`(column, reason, evidence, auc)` if any test flags the column, else None."""
    if is_categorical:
        auc = categorical_auc(values, target, limits.level_min_rows)
    else:
        auc = numeric_auc(values, target)
    separates = auc >= limits.auc_threshold
    findings = [
        ("single-column AUC", f"single-column ROC AUC {auc:.3f}") if separates else None,
        pure_level(values, target, limits),
        missingness(values, target, limits.auc_threshold),
        date_after,
    ]
    findings = [finding for finding in findings if finding is not None]
    if not findings:
        return None
    reason, evidence = ("; ".join(parts) for parts in zip(*findings, strict=True))
    return str(values.name), reason, evidence, round(auc, 4)


def _aligned_labels(
    frame: pd.DataFrame, labels: Sequence[int] | np.ndarray | pd.Series
) -> np.ndarray:
    if isinstance(labels, pd.Series):
        labels = aligned(frame, labels, "labels")
    target = np.asarray(labels, dtype=float)
    if len(target) != len(frame):
        raise ValueError(f"{len(target)} labels for {len(frame)} rows")
    if not np.isin(target, (0, 1)).all() or target.min() == target.max():
        raise ValueError("labels must be 0/1 with both classes present")
    return target.astype(int)


def audit_table(
    features: pd.DataFrame,
    labels: np.ndarray,
    spec: TabularSpec,
    keep: Iterable[str] = (),
    thresholds: AuditThresholds = AuditThresholds(),
    *,
    time: pd.Series | None = None,
    dates: Mapping[str, pd.Series] | None = None,
) -> tuple[TabularSpec, pd.DataFrame]:
    """`spec` without the flagged columns not kept, and the flagged ones with the action taken.

    `features` and `labels` are the rows the audit may see (never the test rows); `time` and
    `dates` (see `audit_leakage`) are aligned on `features`' index.
    """
    keep = _with_dates(set(keep), spec)
    flagged = audit_leakage(
        features,
        labels,
        spec.features,
        spec.categorical,
        auc_threshold=thresholds.auc_threshold,
        level_min_rows=thresholds.level_min_rows,
        level_purity=thresholds.level_purity,
        alpha=thresholds.alpha,
        date_after_share=thresholds.date_after_share,
        time=time,
        dates=dates,
    )
    flagged = _by_date(flagged, spec)
    audited = apply_audit(spec, flagged, keep)
    if not audited.features:
        raise ValueError("no feature column left after exclusions and the leakage audit")
    kept = flagged["column"].isin(list(keep))
    return audited, flagged.assign(action=np.where(kept, KEPT, "excluded"))


def _with_dates(keep: set[str], spec: TabularSpec) -> tuple[str, ...]:
    """`keep` with, for a date named, the features made from it, and for such a feature, its
    date: a date and its features are kept or left out together."""
    made = spec.derived
    dates = {source for name in keep if name in made for source in made[name]}
    features = {name for name, sources in made.items() if set(sources) & (keep | dates)}
    return tuple(sorted(keep | dates | features))


def _by_date(flagged: pd.DataFrame, spec: TabularSpec) -> pd.DataFrame:
    """Without the features made from a flagged date column: the date is the unit of decision
    (left out with all that is made from it, or kept with --keep)."""
    dates = set(flagged["column"]) & {date.column for date in spec.date_columns}
    made = [name for name, sources in spec.derived.items() if dates & set(sources)]
    return flagged[~flagged["column"].isin(made)].reset_index(drop=True)


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
            "missing_indicator_auc": thresholds.auc_threshold,
            "level_min_rows": thresholds.level_min_rows,
            "level_purity": thresholds.level_purity,
            "level_alpha": thresholds.alpha,
            "level_correction": thresholds.correction,
            "date_after_share": thresholds.date_after_share,
        },
        "audited_rows": int(audited_rows),
        "flagged": audit.to_dict(orient="records"),
        "excluded": [{"column": c, "reason": r} for c, r in spec.excluded],
        "features": list(spec.features),
    }
