"""The oracle: each live follower's exact chance of converting within the horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.columns import DAY_US, arrow_frame, code_names, make_ids, start_us, utc_times
from simulator.config import CONVERTED, LIVE, OUTCOMES, STATE_NAMES, SimulationConfig
from simulator.dynamics import Chunk, Hazards, transition_probs
from simulator.schedule import Schedule


def _conversion_probability(
    hazards: Hazards, state: np.ndarray, day: int, horizon: int, sched: Schedule
) -> np.ndarray:
    """Exact chance of converting within `horizon` days from `day`, by propagating the chain."""
    mass = {source: (state == source).astype(np.float64) for source in LIVE}
    converted = np.zeros(state.size)
    for step in range(day, day + horizon):
        probs = transition_probs(hazards, step, sched)
        after = {source: mass[source] * (1.0 - sum(probs[source])) for source in LIVE}
        for source, targets in OUTCOMES.items():
            for target, chance in zip(targets, probs[source], strict=True):
                if target in after:
                    after[target] += mass[source] * chance
                elif target == CONVERTED:
                    converted += mass[source] * chance
        mass = after
    return converted


def oracle_columns(
    config: SimulationConfig, sched: Schedule, chunk: Chunk, snaps: np.ndarray, days: list[int]
) -> dict[str, np.ndarray]:
    """Oracle rows (snapshot index, follower, p_convert) for the chunk's live followers."""
    parts: dict[str, list[np.ndarray]] = {
        "snap": [np.empty(0, np.int16)],
        "follower": [],
        "p": [],
        "state": [np.empty(0, np.int8)],
    }
    for snap, day in enumerate(days):
        rows = np.flatnonzero(np.isin(snaps[snap], LIVE))
        hazards = chunk.hazards.take(rows)
        p = _conversion_probability(hazards, snaps[snap][rows], day, config.horizon_days, sched)
        parts["snap"].append(np.full(rows.size, snap, dtype=np.int16))
        parts["follower"] += [np.empty(0, np.int32), (rows + chunk.offset).astype(np.int32)]
        parts["p"] += [np.empty(0), p]
        parts["state"].append(snaps[snap][rows].astype(np.int8))
    return {key: np.concatenate(arrays) for key, arrays in parts.items()}


def snapshot_days(config: SimulationConfig) -> list[int]:
    every, horizon = config.oracle_every_days, config.horizon_days
    return list(range(every, config.days - horizon + 1, every))


def oracle_frame(
    config: SimulationConfig, columns: dict[str, np.ndarray], snap_days: list[int], width: int
) -> pd.DataFrame:
    order = np.argsort(columns["snap"], kind="stable")
    days = np.asarray(snap_days, dtype=np.int64)[columns["snap"][order].astype(np.int64)]
    return arrow_frame(
        {
            "as_of": utc_times(start_us(config) + days * DAY_US),
            "follower_id": make_ids("f", columns["follower"][order] + 1, width),
            "p_convert": pa.array(columns["p"][order].astype(np.float64)),
            # The hidden intent state at as_of, for analysis: no model ever sees it.
            "state": code_names(STATE_NAMES, columns["state"][order]),
            # Stored with the rows so that nobody compares them with labels of another horizon.
            "horizon_days": pa.array(np.full(order.size, config.horizon_days, dtype=np.int64)),
        }
    )
