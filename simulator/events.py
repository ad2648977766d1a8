"""What followers visibly do: typed events on posts, follows, unfollows, profiles, leads."""

from __future__ import annotations

import numpy as np

from features.schema import EVENT_TYPES, PLATFORMS
from simulator.columns import DAY_US, start_us
from simulator.config import (
    BOT,
    COUNTRIES,
    COUNTRY_SHARES,
    EMITTED,
    POST_EVENTS,
    WATCH_MEDIAN,
    SimulationConfig,
)
from simulator.dynamics import TYPE_SHARES, Chunk
from simulator.schedule import Schedule


def _earliest(chunk: Chunk, rows: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Earliest time of day (fraction) a follower can act: after the follow on the join day."""
    return np.where(day == chunk.join_day[rows], chunk.join_frac[rows], 0.0)


def _time_in_day(
    rng: np.random.Generator, config: SimulationConfig, day: np.ndarray, low: np.ndarray
) -> np.ndarray:
    """Uniform UTC instants in [day + low, day + 1), in microseconds."""
    offset = ((low + rng.random(day.size) * (1.0 - low)) * DAY_US).astype(np.int64)
    return start_us(config) + day * DAY_US + np.minimum(offset, DAY_US - 1)


def event_columns(
    rng: np.random.Generator, config: SimulationConfig, sched: Schedule, chunk: Chunk,
    pairs: np.ndarray, state: np.ndarray,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Give drawn events a type, a post (recently published on the platform), a time, a value."""
    rows, day = pairs
    archetype, platform = chunk.archetype[rows], chunk.platform[rows]
    code = (archetype * 4 + state) * len(PLATFORMS) + platform
    shares = TYPE_SHARES.reshape(-1, len(EMITTED))
    u = rng.random(rows.size)
    kind = np.zeros(rows.size, dtype=np.int8)
    for column in range(len(EMITTED) - 1):
        kind += u >= shares[code, column]
    low = _earliest(chunk, rows, day)
    on_post = kind < len(POST_EVENTS)
    # Most engagement lands on today's posts, some on the previous two days'.
    post_day = np.maximum(day - rng.choice(3, rows.size, p=[0.6, 0.3, 0.1]), 0)
    group = platform * config.days + post_day
    post = sched.post_start[group] + (rng.random(rows.size) * sched.post_count[group]).astype(int)
    same_day = on_post & (post_day == day)
    low[same_day] = np.maximum(low[same_day], sched.post_frac[post[same_day]])
    watched = on_post & (kind == 0) & sched.post_video[post]
    median = WATCH_MEDIAN[archetype[watched], state[watched]]
    value = np.full(rows.size, np.nan)
    value[watched] = np.round(np.minimum(rng.lognormal(np.log(median), 0.9), 900.0), 1)
    return {
        "follower": (rows + chunk.offset).astype(np.int32),
        "time": _time_in_day(rng, config, day, low),
        "type": kind,
        "post": np.where(on_post, sched.post_number[post], -1).astype(np.int32),
        "value": value.astype(np.float32),
    }


def follow_columns(
    rng: np.random.Generator, config: SimulationConfig, chunk: Chunk, churn: np.ndarray
) -> dict[str, np.ndarray]:
    """Follow events for joins inside the window and unfollow events for churn."""
    joined = np.flatnonzero(chunk.followed_us >= start_us(config))
    rows, day = churn
    churn_us = _time_in_day(rng, config, day, _earliest(chunk, rows, day))
    kind = np.repeat(EVENT_TYPES.index("follow"), joined.size + rows.size)
    kind[joined.size :] = EVENT_TYPES.index("unfollow")
    return {
        "follower": np.concatenate([joined, rows]).astype(np.int32) + chunk.offset,
        "time": np.concatenate([chunk.followed_us[joined], churn_us]),
        "type": kind.astype(np.int8),
        "post": np.full(kind.size, -1, dtype=np.int32),
        "value": np.full(kind.size, np.nan, dtype=np.float32),
    }


def profile_columns(rng: np.random.Generator, chunk: Chunk) -> dict[str, np.ndarray]:
    """Visible profile fields with realistic gaps (-1 marks a missing value)."""
    n = chunk.platform.size
    bot = chunk.archetype == BOT
    # Farms follow many accounts and have few followers themselves; businesses have audiences.
    followers = rng.lognormal(np.where(bot, 2.5, 5.5) + 1.6 * chunk.business, 1.4)
    following = rng.lognormal(np.where(bot, 8.0, 5.8), np.where(bot, 0.5, 1.0))
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARES)
    return {
        "country": np.where(rng.random(n) < 0.20, -1, country),
        "follower_count": np.where(rng.random(n) < 0.10, -1, followers.astype(np.int64)),
        "following_count": np.where(rng.random(n) < 0.08, -1, following.astype(np.int64)),
        "is_business": np.where(rng.random(n) < 0.15, -1, chunk.business.astype(np.int64)),
    }


def conversion_columns(
    rng: np.random.Generator, config: SimulationConfig, chunk: Chunk, pairs: np.ndarray
) -> dict[str, np.ndarray]:
    rows, day = pairs
    # Businesses and LinkedIn leads are worth more.
    scale = np.where(chunk.business[rows], 3.0, 1.0)
    scale *= np.where(chunk.platform[rows] == PLATFORMS.index("linkedin"), 2.0, 1.0)
    return {
        "follower": (rows + chunk.offset).astype(np.int32),
        "time": _time_in_day(rng, config, day, _earliest(chunk, rows, day)),
        "lead_value": np.round(rng.lognormal(np.log(150.0), 0.8, rows.size) * scale, 2),
    }
