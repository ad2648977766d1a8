"""The simulated audience (followers, posts, interactions, conversions) and its oracle."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from features.schema import EVENT_TYPES, PLATFORMS
from features.write import TableWriter, write_table
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
# Log rows made into text and written together by simulate_to_folder: about 400 MB of text.
SLICE_ROWS = 5_000_000


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


def _arrival(config: SimulationConfig, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Events in arrival order, a few late and a few repeated: for each row of the log, the
    simulated event it records and its event number (a repeat carries the same number)."""
    rng = np.random.default_rng([config.seed, 1])
    # Late events: recorded up to days after they happened, so they sit out of time order.
    late = rng.random(times.size) < LATE_SHARE
    delay = np.zeros(times.size, dtype=np.int64)
    delay[late] = (rng.exponential(LATE_MEAN_DAYS, late.sum()) * DAY_US).astype(np.int64)
    order = np.argsort(times + delay, kind="stable")
    del late, delay
    # Overlapping exports repeat rows verbatim, event_id included.
    duplicates = np.flatnonzero(rng.random(order.size) < DUPLICATE_SHARE)
    numbers = np.sort(np.concatenate([np.arange(order.size), duplicates]))
    return order[numbers], numbers


def _interaction_rows(
    columns: dict[str, np.ndarray],
    rows: np.ndarray,
    numbers: np.ndarray,
    widths: tuple[int, int, int],
) -> pd.DataFrame:
    """The log's rows for simulated events `rows` (numbered `numbers`), as text ids."""
    post = columns["post"][rows]
    return arrow_frame(
        {
            "event_id": make_ids("e", numbers + 1, widths[2]),
            "follower_id": make_ids("f", columns["follower"][rows] + 1, widths[0]),
            "event_type": code_names(EVENT_TYPES, columns["type"][rows]),
            "occurred_at": utc_times(columns["time"][rows]),
            "post_id": make_ids("p", post, widths[1], valid=post >= 0),
            # Watch seconds travel as float32; round again so values read 12.3, not 12.300000190.
            "value": pa.array(np.round(columns["value"][rows].astype(np.float64), 1)),
        }
    )


def _interactions_frame(
    config: SimulationConfig, columns: dict[str, np.ndarray], widths: tuple[int, int]
) -> pd.DataFrame:
    """Events in arrival order with ids by arrival: a few arrive late, a few are duplicated."""
    rows, numbers = _arrival(config, columns["time"])
    return _interaction_rows(columns, rows, numbers, (*widths, id_width(9, columns["time"].size)))


def write_interactions(
    config: SimulationConfig,
    columns: dict[str, np.ndarray],
    widths: tuple[int, int],
    out: Path,
    slice_rows: int = SLICE_ROWS,
) -> int:
    """`_interactions_frame` written to `out` a slice of rows at a time (the text of a large
    log would not fit in memory at once); returns the rows written."""
    rows, numbers = _arrival(config, columns["time"])
    widths_all = (*widths, id_width(9, columns["time"].size))
    with TableWriter(out) as writer:
        for start in range(0, max(rows.size, 1), slice_rows):
            part = slice(start, start + slice_rows)
            writer.write(_interaction_rows(columns, rows[part], numbers[part], widths_all))
    return int(rows.size)


def _merge(chunks: list[dict[str, dict[str, np.ndarray]]], table: str) -> dict[str, np.ndarray]:
    """Concatenate one table's columns, freeing each chunk's copy as it goes (memory peak)."""
    return {
        key: np.concatenate([chunk[table].pop(key) for chunk in chunks])
        for key in list(chunks[0][table])
    }


def _simulate_tables(config: SimulationConfig) -> tuple[Schedule, list[int], dict]:
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
    return sched, snap_days, tables


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
    sched, snap_days, tables = _simulate_tables(config)
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


def simulate_to_folder(
    config: SimulationConfig, out_dir: Path, slice_rows: int = SLICE_ROWS
) -> dict[str, int]:
    """`write_audience(simulate_audience(config), out_dir)` with the interactions written a
    slice at a time, so an audience of a million followers fits in memory; rows per table."""
    sched, snap_days, tables = _simulate_tables(config)
    out_dir = Path(out_dir)
    width = id_width(7, config.n_followers)
    widths = (width, id_width(6, len(sched.posts)))
    rows = {"interactions": write_interactions(
        config, tables.pop("interactions"), widths, out_dir / "interactions.parquet", slice_rows
    )}  # fmt: skip
    frames = {
        "followers": _followers_frame(tables["followers"], width),
        "posts": sched.posts,
        "conversions": _conversions_frame(tables["conversions"], width),
        "oracle": oracle_frame(config, tables["oracle"], snap_days, width),
    }
    for name, frame in frames.items():
        write_table(frame, out_dir / f"{name}.parquet")
        rows[name] = len(frame)
    return {name: rows[name] for name in TABLES}


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
