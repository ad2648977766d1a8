"""The parts of a training plan: what the user fixed (PlanRequest) and the plan made of it
(SnapshotPlan: windows, history, snapshot dates per period, gaps, what shrank)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from features.schema import FeatureConfig

PARTS: tuple[str, ...] = ("fit", "stop", "valid", "test")
# Feature windows by the history there is before the first snapshot: every window must be
# full at every snapshot, or a 90-day count would mean 40 days at the first one.
WINDOW_LADDER: tuple[tuple[int, tuple[int, ...]], ...] = (
    (90, (7, 30, 90)),
    (60, (7, 30, 60)),
    (30, (7, 14, 30)),
    (14, (3, 7, 14)),
    (7, (1, 3, 7)),
    (3, (1, 3)),
    (1, (1,)),
)
DEFAULT_HISTORY_DAYS = 90
# Followers of the fit snapshots held out for early stopping when no later snapshot is left.
HELD_OUT_SHARE = 0.2
DEFAULT_HALF_LIFE_DAYS = 14.0


@dataclass(frozen=True)
class PlanRequest:
    """What the user fixed (None: the plan chooses): flags --windows, --snapshot-every, ..."""

    windows_days: tuple[int, ...] | None = None
    snapshot_every_days: int | None = None
    min_history_days: int | None = None
    n_valid_snapshots: int | None = None
    n_test_snapshots: int | None = None

    def __post_init__(self) -> None:
        for name in ("snapshot_every_days", "min_history_days"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 day, got {value}")
        for name in ("n_valid_snapshots", "n_test_snapshots"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.windows_days is not None:
            FeatureConfig(tuple(self.windows_days))  # raises on bad windows
        history, windows = self.min_history_days, self.windows_days
        if history is not None and windows is not None and history < max(windows):
            raise ValueError(
                f"--min-history {history} is shorter than the longest window ({max(windows)} "
                "days): that window would not be full at the first snapshot"
            )


@dataclass(frozen=True)
class SnapshotPlan:
    """How an event log becomes training rows, and which of the ideal plan's parts shrank.

    Snapshots fall every `every_days` from the first dense day plus the history; each period's
    dates leave the next one's start a gap: validation labels close a full horizon before the
    test (never shrunk), training labels `stop_gap_days` before validation. Early stopping
    has a snapshot of its own, a horizon after the fit snapshots' labels close, or, when the
    data is too short for that (`stop_share` > 0), holds out that share of the followers of
    the fit snapshots: a follower's rows are never in both, so the trees cannot memorise a
    conversion that the early-stopping rows reward.
    """

    horizon_days: int
    features: FeatureConfig
    every_days: int
    min_history_days: int
    n_valid: int
    n_test: int
    stop_gap_days: int
    stop_share: float = 0.0
    periods: dict[str, tuple[pd.Timestamp, ...]] = field(default_factory=dict)
    shrunk: tuple[str, ...] = ()

    @property
    def dates(self) -> tuple[pd.Timestamp, ...]:
        return tuple(sorted({date for part in PARTS for date in self.periods[part]}))

    @property
    def fit_gap_days(self) -> int:
        """Days from the fit snapshots' labels to the early-stopping snapshot (0: held-out
        followers of the same snapshots instead)."""
        return 0 if self.stop_share else self.horizon_days

    def to_params(self) -> dict[str, Any]:
        """The plan as run parameters (the feature windows are logged with the features)."""
        params: dict[str, Any] = {
            "plan_snapshot_every_days": self.every_days,
            "plan_min_history_days": self.min_history_days,
            "plan_stop_share": self.stop_share,
            "plan_stop_gap_days": self.stop_gap_days,
            "plan_test_gap_days": self.horizon_days,
        }
        for part in PARTS:
            params[f"plan_{part}_snapshots"] = len(self.periods[part])
        return params

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored with the model."""
        return {
            "horizon_days": self.horizon_days,
            "every_days": self.every_days,
            "min_history_days": self.min_history_days,
            "stop_share": self.stop_share,
            "stop_gap_days": self.stop_gap_days,
            "periods": {p: [str(d.date()) for d in self.periods[p]] for p in PARTS},
            "shrunk": list(self.shrunk),
        }

    def describe(self) -> list[tuple[str, str]]:
        """(what, value) lines: the windows, the history, and each period's dates."""
        windows = ", ".join(f"{w}" for w in self.features.windows_days)
        lines = [
            ("feature windows", f"{windows} days (half-life {self.features.half_life_days:g})"),
            ("history before the first snapshot", f"{self.min_history_days} days"),
            ("snapshots", f"{_every(self.every_days)}, {len(self.dates)} in all"),
        ]
        names = {"fit": "fit", "stop": "early stopping", "valid": "validation", "test": "test"}
        for part in PARTS:
            lines.append((names[part], _dates(self.periods[part])))
        if self.stop_share:
            held = f"{self.stop_share:.0%} of the fit snapshots' followers, held out"
            lines[-3] = (names["stop"], held)
        gaps = f"{self.fit_gap_days}, {self.stop_gap_days} and {self.horizon_days} days"
        lines.append(("label gaps before stop, valid, test", gaps))
        lines.append(("shrunk to fit the data", "; ".join(self.shrunk) or "nothing"))
        return lines


def _every(days: int) -> str:
    return "every day" if days == 1 else f"every {days} days"


def _dates(dates: tuple[pd.Timestamp, ...]) -> str:
    span = f"{dates[0].date()}" + (f"..{dates[-1].date()}" if len(dates) > 1 else "")
    return f"{len(dates)} snapshot{'s' if len(dates) > 1 else ''}, {span}"
