"""The simulated audience (followers, posts, interactions, conversions) and its oracle."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from features.schema import EVENT_TYPES, PLATFORMS
from features.write import write_table
from simulator.columns import DAY_US, arrow_frame, code_names, id_width, make_ids, utc_times
from simulator.config import (
    COUNTRIES,
    DUPLICATE_SHARE,
    LATE_MEAN_DAYS,
    LATE_SHARE,
    TABLES,
    Audience,
    SimulationConfig,
)
from simulator.dynamics import draw_chunk, simulate_days
from simulator.events import conversion_columns, event_columns, follow_columns, profile_columns
from simulator.oracle import oracle_columns, oracle_frame, snapshot_days
from simulator.schedule import Schedule, draw_schedule

logger = logging.getLogger(__name__)


# A fixed chunk size keeps results independent of the machine; each chunk has its own stream.
CHUNK = 100_000


def _run_chunk(
    config: SimulationConfig, sched: Schedule, snap_days: list[int], index: int
) -> dict[str, dict[str, np.ndarray]]:
    """Simulate one chunk of followers: numpy columns of every output table."""
    rng = np.random.default_rng([config.seed, 2, index])
    offset = index * CHUNK
    chunk = draw_chunk(rng, config, sched, offset, min(CHUNK, config.n_followers - offset))
    pairs, event_state, snaps = simulate_days(rng, config, sched, chunk, snap_days)
    events = event_columns(rng, config, sched, chunk, pairs["event"], event_state)
    follows = follow_columns(rng, config, chunk, pairs["churn"])
    followers = dict(platform=chunk.platform, followed=chunk.followed_us)
    return dict(
        followers=followers | profile_columns(rng, chunk),
        interactions={key: np.concatenate([events[key], follows[key]]) for key in events},
        conversions=conversion_columns(rng, config, chunk, pairs["convert"]),
        oracle=oracle_columns(config, sched, chunk, snaps, snap_days),
    )


def _followers_frame(columns: dict[str, np.ndarray], width: int) -> pd.DataFrame:
    def counts(values: np.ndarray) -> pa.Array:
        return pa.array(values, pa.int64(), mask=values < 0)

    return arrow_frame(
        {
            "follower_id": make_ids("f", np.arange(1, columns["platform"].size + 1), width),
            "platform": code_names(PLATFORMS, columns["platform"]),
            "followed_at": utc_times(columns["followed"]),
            "country": code_names(COUNTRIES, columns["country"]),
            "follower_count": counts(columns["follower_count"]),
            "following_count": counts(columns["following_count"]),
            "is_business": pa.array(columns["is_business"] == 1, mask=columns["is_business"] < 0),
        }
    )


def _interactions_frame(
    config: SimulationConfig, columns: dict[str, np.ndarray], widths: tuple[int, int]
) -> pd.DataFrame:
    """Events in arrival order with ids by arrival: a few arrive late, a few are duplicated.

    Consumes `columns`: each numpy column is dropped once converted, to bound peak memory.
    """
    rng = np.random.default_rng([config.seed, 1])
    # Late events: recorded up to days after they happened, so they sit out of time order.
    late = rng.random(columns["time"].size) < LATE_SHARE
    delay = np.zeros(columns["time"].size, dtype=np.int64)
    delay[late] = (rng.exponential(LATE_MEAN_DAYS, late.sum()) * DAY_US).astype(np.int64)
    order = np.argsort(columns["time"] + delay, kind="stable")
    del late, delay
    # Overlapping exports repeat rows verbatim, event_id included.
    duplicates = np.flatnonzero(rng.random(order.size) < DUPLICATE_SHARE)
    numbers = np.sort(np.concatenate([np.arange(order.size), duplicates]))
    rows = order[numbers]
    arrays = {"event_id": make_ids("e", numbers + 1, id_width(9, order.size))}
    del order, numbers
    arrays["follower_id"] = make_ids("f", columns.pop("follower")[rows] + 1, widths[0])
    arrays["event_type"] = code_names(EVENT_TYPES, columns.pop("type")[rows])
    arrays["occurred_at"] = utc_times(columns.pop("time")[rows])
    post = columns.pop("post")[rows]
    arrays["post_id"] = make_ids("p", post, widths[1], valid=post >= 0)
    del post
    # Watch seconds travel as float32; round again so values read like 12.3, not 12.300000190.
    arrays["value"] = pa.array(np.round(columns.pop("value")[rows].astype(np.float64), 1))
    return arrow_frame(arrays)


def _merge(chunks: list[dict[str, dict[str, np.ndarray]]], table: str) -> dict[str, np.ndarray]:
    """Concatenate one table's columns, freeing each chunk's copy as it goes (memory peak)."""
    return {
        key: np.concatenate([chunk[table].pop(key) for chunk in chunks])
        for key in list(chunks[0][table])
    }


def simulate_audience(config: SimulationConfig) -> Audience:
    """Simulate a seeded audience; the same config always gives identical frames.

    Followers carry a hidden daily Markov state (cold, warm, hot, then absorbing converted or
    churned) whose transition chances depend only on the follower's own hidden parameters and
    the campaign calendar, never on sampled events. The oracle has one row per snapshot
    `as_of = start + k * oracle_every_days` (k >= 1, `as_of + horizon_days <= start + days`) and
    per follower who followed before `as_of` and had neither converted nor churned by then
    (churned followers never convert, so their probability would be 0). `p_convert` is the exact
    probability, given the hidden state at `as_of`, of converting in
    `[as_of, as_of + horizon_days)`: the state distribution propagated through that follower's
    daily transition matrices, summing the mass absorbed into converted.
    """
    sizes = (config.n_followers, config.days, config.horizon_days, config.oracle_every_days)
    if min(sizes) < 1:
        raise ValueError(f"simulation sizes must be positive, got {config}")
    sched = draw_schedule(config)
    snap_days = snapshot_days(config)
    chunks = [
        _run_chunk(config, sched, snap_days, index)
        for index in range(-(-config.n_followers // CHUNK))
    ]
    tables = {name: _merge(chunks, name) for name in chunks[0]}
    del chunks
    width = id_width(7, config.n_followers)
    audience = Audience(
        followers=_followers_frame(tables["followers"], width),
        posts=sched.posts,
        interactions=_interactions_frame(
            config, tables["interactions"], (width, id_width(6, len(sched.posts)))
        ),
        conversions=_conversions_frame(tables["conversions"], width),
        oracle=oracle_frame(config, tables["oracle"], snap_days, width),
    )
    logger.info(
        "simulated rows per table: %s", {name: len(getattr(audience, name)) for name in TABLES}
    )
    return audience


def _conversions_frame(columns: dict[str, np.ndarray], width: int) -> pd.DataFrame:
    order = np.argsort(columns["time"], kind="stable")
    return arrow_frame(
        {
            "follower_id": make_ids("f", columns["follower"][order] + 1, width),
            "converted_at": utc_times(columns["time"][order]),
            "lead_value": pa.array(columns["lead_value"][order]),
        }
    )


def write_audience(audience: Audience, out_dir: Path) -> dict[str, Path]:
    """Write each table to `<out_dir>/<table>.parquet`, atomically; return the paths by table."""
    # pandas' own Parquet writer keeps the dtype metadata (Int64, boolean, str) for the read back.
    return {
        name: write_table(getattr(audience, name), Path(out_dir) / f"{name}.parquet")
        for name in TABLES
    }
