"""The training plan of an event log: windows, history, snapshots and periods, from its span."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from features.events.span import EventSpan
from features.schema import FeatureConfig
from training.sources.plan_parts import (
    DEFAULT_HALF_LIFE_DAYS,
    DEFAULT_HISTORY_DAYS,
    HELD_OUT_SHARE,
    PARTS,
    WINDOW_LADDER,
    PlanRequest,
    SnapshotPlan,
)

# Nothing fixed by the user: the plan chooses everything.
ANY_PLAN = PlanRequest()

__all__ = ["PARTS", "PlanRequest", "SnapshotPlan", "make_plan", "needed_days", "windows_for"]


def windows_for(history_days: int) -> tuple[int, ...]:
    """The longest ladder of windows that `history_days` of history covers."""
    for days, windows in WINDOW_LADDER:
        if history_days >= days:
            return windows
    raise ValueError(f"history must be at least 1 day, got {history_days}")


def half_life_for(windows: tuple[int, ...]) -> float:
    """Today's 14 days, or a third of the longest window when that is shorter."""
    return min(DEFAULT_HALF_LIFE_DAYS, round(max(windows) / 3, 1))


def default_every(horizon_days: int) -> int:
    """Weekly snapshots, daily (or every half horizon) when the horizon is a few days."""
    return 7 if horizon_days >= 14 else max(1, horizon_days // 2)


def history_floor(horizon_days: int) -> int:
    """The least history the plan shrinks to: a full horizon and at least three days, rounded
    up to a step of the window ladder (28 days of history become 30, for windows 7/14/30)."""
    steps = sorted(days for days, _ in WINDOW_LADDER)
    return next((days for days in steps if days >= max(3, horizon_days)), max(3, horizon_days))


def make_plan(span: EventSpan, horizon_days: int, request: PlanRequest = ANY_PLAN) -> SnapshotPlan:
    """The most rigorous plan that fits the dense span, relaxing only what the user left open.

    The ideal plan (90 days of history, windows 7/30/90, two validation and two test snapshots,
    full-horizon gaps) is tried first; then, in order, less history, one validation and one
    test snapshot, early stopping on held-out followers, the least history, half and then no
    gap before validation. The gap before the test is never shrunk.
    """
    if horizon_days < 1:
        raise ValueError(f"horizon must be at least 1 day, got {horizon_days}")
    for candidate in candidates(horizon_days, request):
        periods = assign_periods(snapshot_dates(span, candidate), candidate)
        if periods is not None:
            return replace(candidate, periods=periods, shrunk=shrinkage(candidate, request))
    raise ValueError(too_short(span, horizon_days, request))


def candidates(horizon_days: int, request: PlanRequest) -> list[SnapshotPlan]:
    """Plans from the ideal to the least, each relaxing one more thing the user left open."""
    base = ideal_plan(horizon_days, request)
    floor = max(history_floor(horizon_days), max(base.features.windows_days))
    plans = [base]

    def relax(**changes: Any) -> None:
        plan = replace(plans[-1], **changes)
        if "min_history_days" in changes:
            plan = replace(plan, features=_features_for(plan.min_history_days, request))
        if plan != plans[-1]:
            plans.append(plan)

    if request.min_history_days is None and request.windows_days is None:
        for days in (60, 30):
            relax(min_history_days=max(days, history_floor(horizon_days)))
        floor = history_floor(horizon_days)
    relax(
        n_valid=request.n_valid_snapshots or 1,
        n_test=request.n_test_snapshots or 1,
    )
    relax(stop_share=HELD_OUT_SHARE)
    if request.min_history_days is None:
        relax(min_history_days=min(plans[-1].min_history_days, floor))
    relax(stop_gap_days=horizon_days // 2)
    relax(stop_gap_days=0)
    return plans


def ideal_plan(horizon_days: int, request: PlanRequest) -> SnapshotPlan:
    """Today's plan, with whatever the user fixed."""
    windows = request.windows_days
    history = request.min_history_days or (max(windows) if windows else DEFAULT_HISTORY_DAYS)
    return SnapshotPlan(
        horizon_days=horizon_days,
        features=_features_for(history, request),
        every_days=request.snapshot_every_days or default_every(horizon_days),
        min_history_days=history,
        n_valid=request.n_valid_snapshots or 2,
        n_test=request.n_test_snapshots or 2,
        stop_gap_days=horizon_days,
    )


def _features_for(history_days: int, request: PlanRequest) -> FeatureConfig:
    windows = tuple(request.windows_days or windows_for(history_days))
    return FeatureConfig(windows, half_life_for(windows))


def snapshot_dates(span: EventSpan, plan: SnapshotPlan) -> list[pd.Timestamp]:
    """Dates every `every_days` from the first dense day plus the history (rounded up to whole
    steps, so reruns on grown data keep the same dates), the newest a horizon before the end."""
    every = plan.every_days
    oldest = span.first + pd.Timedelta(days=-(-plan.min_history_days // every) * every)
    newest = span.last - pd.Timedelta(days=plan.horizon_days)
    if newest < oldest:
        return []
    return list(pd.date_range(oldest, newest, freq=f"{every}D"))


def assign_periods(
    dates: list[pd.Timestamp], plan: SnapshotPlan
) -> dict[str, tuple[pd.Timestamp, ...]] | None:
    """Dates of each period, newest first back in time; None when a period would be empty.

    Test: the newest `n_test`. Validation: the newest `n_valid` whose labels close by the first
    test date. Stop: the newest date at least `stop_gap_days` before validation; fit: dates a
    horizon before it. With `stop_share`, fit and stop share the dates `stop_gap_days` before
    validation (their followers are split later).
    """

    def before(limit: pd.Timestamp, gap: int) -> list[pd.Timestamp]:
        return [d for d in dates if d < limit and d + pd.Timedelta(days=gap) <= limit]

    if len(dates) < plan.n_test + plan.n_valid + 2:
        return None
    test = dates[-plan.n_test :]
    valid = before(test[0], plan.horizon_days)[-plan.n_valid :]
    if len(valid) < plan.n_valid:
        return None
    if plan.stop_share:
        fit = stop = before(valid[0], plan.stop_gap_days)
    else:
        stop = before(valid[0], plan.stop_gap_days)[-1:]
        fit = before(stop[0], plan.horizon_days) if stop else []
    if not fit:
        return None
    return {"fit": tuple(fit), "stop": tuple(stop), "valid": tuple(valid), "test": tuple(test)}


def shrinkage(plan: SnapshotPlan, request: PlanRequest) -> tuple[str, ...]:
    """What of the ideal plan this one gave up, in words (the test gap is never among them)."""
    ideal = ideal_plan(plan.horizon_days, request)
    said = []
    if plan.min_history_days < ideal.min_history_days:
        said.append(f"history {plan.min_history_days} of {ideal.min_history_days} days")
    if (plan.n_valid, plan.n_test) != (ideal.n_valid, ideal.n_test):
        said.append(f"{plan.n_valid} validation and {plan.n_test} test snapshot(s)")
    if plan.stop_share:
        said.append(f"early stopping on {plan.stop_share:.0%} held-out followers")
    if plan.stop_gap_days < plan.horizon_days:
        said.append(f"gap before validation {plan.stop_gap_days} of {plan.horizon_days} days")
    return tuple(said)


def needed_days(horizon_days: int, request: PlanRequest) -> int:
    """Dense days the least plan for `horizon_days` needs."""
    least = candidates(horizon_days, request)[-1]
    for days in range(horizon_days, 20 * 366):
        span = EventSpan(pd.Timestamp("2000-01-01", tz="UTC"), _day(days), 0, 0, 0)
        if assign_periods(snapshot_dates(span, least), least) is not None:
            return days
    raise ValueError("no plan fits even twenty years of events")


def _day(days: int) -> pd.Timestamp:
    return pd.Timestamp("2000-01-01", tz="UTC") + pd.Timedelta(days=days - 1)


def too_short(span: EventSpan, horizon_days: int, request: PlanRequest) -> str:
    """Why no plan fits: how much there is, how much is needed, which flag would fit."""
    needed = needed_days(horizon_days, request)
    fits = [h for h in range(horizon_days - 1, 0, -1) if needed_days(h, request) <= span.days]
    advice = f"use --horizon {fits[0]} (the longest that fits)" if fits else "use more data"
    fixed = [
        flag
        for flag, value in (
            ("--windows", request.windows_days),
            ("--min-history", request.min_history_days),
            ("--snapshot-every", request.snapshot_every_days),
            ("--valid-snapshots", request.n_valid_snapshots),
            ("--test-snapshots", request.n_test_snapshots),
        )
        if value is not None
    ]
    if fixed:
        advice += f", or drop {', '.join(fixed)} so the plan may shrink"
    return (
        f"events span {span.describe()}: a {horizon_days}-day horizon needs at least {needed} "
        f"days of dense events; {advice}"
    )
