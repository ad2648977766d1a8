"""The simulated social audience (followers, posts, interactions, conversions) and its oracle."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from features.schema import EVENT_TYPES, PLATFORMS, POST_FORMATS

logger = logging.getLogger(__name__)

# Hidden intent states; churned and converted absorb (converted followers keep engaging).
COLD, WARM, HOT, CONVERTED, CHURNED, UNJOINED = 0, 1, 2, 3, 4, -1
LIVE = (COLD, WARM, HOT)
STATE_NAMES = ("cold", "warm", "hot")
# Where each live state can go in one day, in the order _transition_probs gives the chances.
OUTCOMES = {
    COLD: (WARM, CHURNED),
    WARM: (HOT, COLD, CONVERTED, CHURNED),
    HOT: (WARM, CONVERTED, CHURNED),
}
NORMAL, BOT, LIKER, LURKER = 0, 1, 2, 3
ARCHETYPE_SHARES = (0.815, 0.04, 0.05, 0.095)

# A fixed chunk size keeps results independent of the machine; each chunk has its own stream.
CHUNK = 100_000
DAY_US = 86_400_000_000
# The four ASCII digits of 0..9999 packed in one uint32 each (gathering 4-byte items is fast).
DIGITS = np.frombuffer(b"".join(b"%04d" % number for number in range(10_000)), dtype=np.uint32)

# Types drawn from daily Poisson counts (follow/unfollow come from joins and churn instead).
EMITTED = EVENT_TYPES[:9]
POST_EVENTS = EMITTED[:6]  # view, like, comment, share, save, click: these carry a post_id
# Daily rates per (state cold, warm, hot, converted) for each EMITTED type.
NORMAL_RATES = np.array(
    [
        [0.07, 0.020, 0.003, 0.002, 0.003, 0.002, 0.004, 0.0003, 0.0005],
        [0.50, 0.150, 0.030, 0.020, 0.030, 0.075, 0.100, 0.0100, 0.0050],
        [1.10, 0.300, 0.075, 0.060, 0.075, 0.500, 0.500, 0.1000, 0.0120],
        [0.12, 0.040, 0.006, 0.004, 0.005, 0.010, 0.010, 0.0040, 0.0020],
    ]
)
# Lurkers only watch and look at the profile, but they heat up just as visibly.
LURKER_RATES = np.array(
    [[0.09, 0, 0, 0, 0, 0, 0.003, 0, 0], [0.45, 0, 0, 0, 0, 0, 0.030, 0, 0]]
    + [[1.10, 0, 0, 0, 0, 0, 0.370, 0, 0], [0.12, 0, 0, 0, 0, 0, 0.008, 0, 0]]
)
BOT_RATES = np.tile([1.0, 0.8, 0.02, 0.005, 0, 0, 0.005, 0, 0], (4, 1))
LIKER_RATES = np.tile([0.15, 0.6, 0.015, 0.008, 0.004, 0, 0.004, 0, 0], (4, 1))
# Median watch seconds of a video view per (archetype, state): interest shows in watch time.
WATCH_MEDIAN = np.array([[6, 10, 18, 9], [2, 2, 2, 2], [5, 5, 5, 5], [7, 12, 20, 10]])
WATCH_FORMATS = ("video", "live")

# Per platform, in PLATFORMS order (instagram, facebook, x, linkedin, tiktok).
PLATFORM_SHARES = np.array([0.30, 0.20, 0.12, 0.15, 0.23])
PLATFORM_VOLUME = np.array([1.0, 0.8, 0.8, 0.5, 1.6])
PLATFORM_CONVERSION = np.array([1.0, 0.9, 0.7, 1.8, 0.45])
BUSINESS_SHARE = np.array([0.10, 0.12, 0.08, 0.40, 0.05])
POSTS_PER_DAY = np.array([1.5, 1.0, 2.5, 0.6, 1.2])  # on top of one guaranteed post
# Per platform, multipliers for EMITTED types (LinkedIn clicks, TikTok views, X shares...).
PLATFORM_MIX = np.array(
    [
        [1.0, 1.0, 1.0, 1.0, 1.5, 1.0, 1.0, 1.2, 1.0],
        [1.0, 1.0, 1.2, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0],
        [0.8, 1.0, 1.0, 2.0, 0.8, 1.0, 1.0, 1.0, 3.0],
        [1.0, 0.7, 1.5, 1.0, 1.0, 2.5, 1.2, 1.5, 1.0],
        [1.8, 1.4, 1.0, 1.0, 1.2, 0.4, 0.8, 0.5, 1.0],
    ]
)
FORMAT_SHARES = np.array(  # per platform, over POST_FORMATS
    [
        [0.35, 0.20, 0.20, 0.0, 0.0, 0.20, 0.05],
        [0.35, 0.25, 0.05, 0.15, 0.15, 0.03, 0.02],
        [0.20, 0.10, 0.0, 0.50, 0.20, 0.0, 0.0],
        [0.25, 0.10, 0.15, 0.30, 0.18, 0.0, 0.02],
        [0.0, 0.90, 0.0, 0.0, 0.0, 0.0, 0.10],
    ]
)
COUNTRIES = ("US", "GB", "DE", "FR", "IT", "ES", "BR", "IN", "CA", "AU", "NL", "MX")
COUNTRY_SHARES = np.array([25, 10, 9, 8, 6, 6, 9, 10, 5, 4, 4, 4]) / 100
CAMPAIGN_THEMES = ("launch", "webinar", "promo", "giveaway", "case_study", "seasonal")

# Daily transition chances (before per-follower factors).
TO_WARM, TO_HOT, WARM_DECAY, HOT_DECAY = 0.010, 0.015, 0.020, 0.025
HOT_CONVERT, WARM_CONVERT = 0.015, 0.0004
CHURN = {COLD: 0.0025, WARM: 0.0012, HOT: 0.0008}
CAMPAIGN_TO_WARM, CAMPAIGN_TO_HOT, CAMPAIGN_ENGAGEMENT = 1.6, 2.0, 1.35
BUSINESS_TO_HOT, BUSINESS_CONVERT = 1.3, 1.5
INITIAL_TENURED = np.array([0.74, 0.20, 0.06])
INITIAL_NEW = np.array([0.50, 0.35, 0.15])
PRE_WINDOW_SHARE, MAX_TENURE_DAYS = 0.5, 1095
DUPLICATE_SHARE = 0.005
LATE_SHARE, LATE_MEAN_DAYS = 0.01, 1.5
ACTIVITY_SIGMA, PROPENSITY_SIGMA, INTEREST_SHOWS = 0.4, 0.15, 1.0
TABLES = ("followers", "posts", "interactions", "conversions", "oracle")


@dataclass(frozen=True)
class SimulationConfig:
    """Size, seed and calendar of a simulated audience."""

    n_followers: int = 20_000
    days: int = 240
    seed: int = 42
    start: str = "2026-01-01"  # UTC date of day 0
    horizon_days: int = 28  # label horizon the oracle is computed for
    oracle_every_days: int = 7  # oracle snapshot spacing


@dataclass(frozen=True)
class Audience:
    """The five simulated tables (columns as in DESIGN.md, plus the oracle)."""

    followers: pd.DataFrame
    posts: pd.DataFrame
    interactions: pd.DataFrame
    conversions: pd.DataFrame
    oracle: pd.DataFrame


@dataclass(frozen=True)
class _Schedule:
    """Posts and campaigns known in advance; posts grouped by (platform, day) in that order."""

    campaign: np.ndarray  # bool [platform, day]
    day_mult: np.ndarray  # engagement multiplier [platform, day]
    post_start: np.ndarray  # first grouped post of [platform * days + day]
    post_count: np.ndarray
    post_frac: np.ndarray  # publication time as a fraction of its day, per grouped post
    post_video: np.ndarray  # bool, per grouped post
    post_number: np.ndarray  # 1-based chronological post number, per grouped post
    posts: pd.DataFrame


@dataclass(frozen=True)
class _Hazards:
    """Per-follower transition factors; with the campaign calendar they fix the chain."""

    platform: np.ndarray
    to_warm: np.ndarray  # daily cold -> warm chance outside campaigns
    to_hot: np.ndarray  # daily warm -> hot chance outside campaigns
    convertible: np.ndarray  # conversion-rate factor, 0 for bots and heavy likers

    def take(self, rows: np.ndarray) -> _Hazards:
        return _Hazards(*(values[rows] for values in vars(self).values()))


@dataclass(frozen=True)
class _Chunk:
    """The hidden and visible parameters of one chunk of followers."""

    offset: int
    platform: np.ndarray
    archetype: np.ndarray
    business: np.ndarray
    activity: np.ndarray
    hazards: _Hazards
    join_day: np.ndarray  # 0 for followers who joined before the window
    join_frac: np.ndarray  # time of day of the follow, 0 before the window
    initial: np.ndarray  # state on the join day
    followed_us: np.ndarray


def _start_us(config: SimulationConfig) -> int:
    return pd.Timestamp(config.start, tz="UTC").as_unit("ns").value // 1000


def _ids(prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """Fixed-width ids like "f0000001", built from bytes without a Python string per row."""
    chars = np.empty((numbers.size, width + 1), dtype=np.uint8)
    chars[:, 0] = ord(prefix)
    rest = numbers.astype(np.int64)
    # Four digits per pass through a lookup table: ids are built for tens of millions of rows.
    for end in range(width + 1, 1, -4):
        begin = max(1, end - 4)
        rest, low = np.divmod(rest, 10_000)
        chars[:, begin:end] = DIGITS[low].view(np.uint8).reshape(-1, 4)[:, 4 - (end - begin) :]
    offsets = np.arange(numbers.size + 1, dtype=np.int64) * (width + 1)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    buffers = [bitmap, pa.py_buffer(offsets), pa.py_buffer(chars)]
    return pa.Array.from_buffers(pa.large_string(), numbers.size, buffers)


def _codes(names: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Names for integer codes; negative codes become missing values."""
    return pa.array(names, pa.large_string()).take(pa.array(codes, mask=codes < 0))


def _utc(micros: np.ndarray) -> pa.Array:
    return pa.array(micros.astype(np.int64), pa.timestamp("us", tz="UTC"))


def _frame(columns: dict[str, pa.Array]) -> pd.DataFrame:
    """A DataFrame of arrow columns; consumes `columns` so arrow buffers can be freed early."""
    nullable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    table = pa.table(columns)
    columns.clear()
    return table.to_pandas(types_mapper=nullable.get, split_blocks=True, self_destruct=True)


def _width(minimum: int, count: int) -> int:
    return max(minimum, len(str(count)))


def _draw_campaigns(rng: np.random.Generator, days: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Campaign index per [platform, day] (-1 for none) and the campaign names."""
    ids = np.full((len(PLATFORMS), days), -1)
    names: list[str] = []
    day = int(rng.integers(3, 21))
    while day < days:
        length = int(rng.integers(7, 15))
        on = rng.random(len(PLATFORMS)) < 0.6
        on[rng.integers(len(PLATFORMS))] = True
        ids[on, day : day + length] = len(names)
        names.append(f"{CAMPAIGN_THEMES[len(names) % len(CAMPAIGN_THEMES)]}_{len(names) + 1:02d}")
        day += length + int(rng.integers(14, 36))
    return ids, tuple(names)


def _draw_schedule(config: SimulationConfig) -> _Schedule:
    rng = np.random.default_rng([config.seed, 0])
    days, n_platforms = config.days, len(PLATFORMS)
    campaign_ids, names = _draw_campaigns(rng, days)
    weekday = (np.arange(days) + pd.Timestamp(config.start).day_of_week) % 7
    week = np.where(weekday >= 5, 0.8, 1.0)
    expected = POSTS_PER_DAY[:, None] * week * np.where(campaign_ids >= 0, 1.6, 1.0)
    count = 1 + rng.poisson(expected)
    # Engagement follows the posting rhythm and rises during campaigns.
    day_mult = (0.75 + 0.25 * count / (1 + expected)) * week
    day_mult *= np.where(campaign_ids >= 0, CAMPAIGN_ENGAGEMENT, 1.0)
    group = np.repeat(np.arange(n_platforms * days), count.ravel())
    platform, day = group // days, group % days
    frac = rng.random(group.size)
    cumulative = np.cumsum(FORMAT_SHARES, axis=1)[platform]
    fmt = np.minimum((rng.random(group.size)[:, None] >= cumulative).sum(1), len(POST_FORMATS) - 1)
    campaign = np.where(rng.random(group.size) < 0.6, campaign_ids[platform, day], -1)
    order = np.lexsort((platform, frac, day))
    number = np.empty(group.size, dtype=np.int64)
    number[order] = np.arange(1, group.size + 1)
    published = _start_us(config) + ((day + frac) * DAY_US).astype(np.int64)
    posts = _frame(
        {
            "post_id": _ids("p", number[order], _width(6, group.size)),
            "platform": _codes(PLATFORMS, platform[order]),
            "published_at": _utc(published[order]),
            "format": _codes(POST_FORMATS, fmt[order]),
            "campaign": _codes(names, campaign[order]),
        }
    )
    starts = np.concatenate([[0], np.cumsum(count.ravel())[:-1]])
    video = np.isin(fmt, [POST_FORMATS.index(name) for name in WATCH_FORMATS])
    return _Schedule(campaign_ids >= 0, day_mult, starts, count.ravel(), frac, video, number, posts)


def _draw_join_days(rng: np.random.Generator, sched: _Schedule, platform: np.ndarray) -> np.ndarray:
    """Join days inside the window; campaigns on a platform bring in more followers."""
    cdf = np.cumsum(1.0 + 1.5 * sched.campaign, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(platform.size)
    days = np.empty(platform.size, dtype=np.int64)
    for code in range(len(PLATFORMS)):
        rows = platform == code
        days[rows] = np.searchsorted(cdf[code], u[rows], side="right")
    return np.minimum(days, cdf.shape[1] - 1)


def _draw_chunk(
    rng: np.random.Generator, config: SimulationConfig, sched: _Schedule, offset: int, n: int
) -> _Chunk:
    platform = rng.choice(len(PLATFORMS), n, p=PLATFORM_SHARES)
    archetype = rng.choice(len(ARCHETYPE_SHARES), n, p=ARCHETYPE_SHARES)
    business = (rng.random(n) < BUSINESS_SHARE[platform]) & (archetype != BOT)
    # Lognormal factors with mean one: a few followers are far more active or interested.
    activity = rng.lognormal(-(ACTIVITY_SIGMA**2) / 2, ACTIVITY_SIGMA, n)
    propensity = rng.lognormal(-(PROPENSITY_SIGMA**2) / 2, PROPENSITY_SIGMA, n)
    # Interest shows: followers likelier to warm up also engage a little more all the time.
    activity *= propensity**INTEREST_SHOWS
    convertible = PLATFORM_CONVERSION[platform] * np.where(business, BUSINESS_CONVERT, 1.0)
    convertible[np.isin(archetype, (BOT, LIKER))] = 0.0
    to_hot = TO_HOT * propensity * np.where(business, BUSINESS_TO_HOT, 1.0)
    hazards = _Hazards(platform, TO_WARM * propensity, to_hot, convertible)
    before = rng.random(n) < PRE_WINDOW_SHARE
    join_day = np.where(before, 0, _draw_join_days(rng, sched, platform))
    join_frac = np.where(before, 0.0, rng.random(n))
    followed = np.where(before, -rng.uniform(0, MAX_TENURE_DAYS, n), join_day + join_frac)
    shares = np.where(before[:, None], INITIAL_TENURED, INITIAL_NEW).cumsum(1)
    initial = (rng.random(n)[:, None] >= shares[:, :-1]).sum(1).astype(np.int8)
    followed_us = _start_us(config) + (followed * DAY_US).astype(np.int64)
    return _Chunk(
        offset, platform, archetype, business, activity, hazards, join_day, join_frac, initial,
        followed_us,
    )  # fmt: skip


def _transition_probs(hazards: _Hazards, day: int, sched: _Schedule) -> dict[int, list[np.ndarray]]:
    """Chances of each OUTCOMES move on `day`, per follower."""
    campaign = sched.campaign[:, day]
    to_warm = hazards.to_warm * np.where(campaign, CAMPAIGN_TO_WARM, 1.0)[hazards.platform]
    to_hot = hazards.to_hot * np.where(campaign, CAMPAIGN_TO_HOT, 1.0)[hazards.platform]
    n = hazards.platform.size
    return {
        COLD: [np.minimum(to_warm, 0.5), np.broadcast_to(CHURN[COLD], n)],
        WARM: [np.minimum(to_hot, 0.5), np.broadcast_to(WARM_DECAY, n),
               WARM_CONVERT * hazards.convertible, np.broadcast_to(CHURN[WARM], n)],
        HOT: [np.broadcast_to(HOT_DECAY, n), HOT_CONVERT * hazards.convertible,
              np.broadcast_to(CHURN[HOT], n)],
    }  # fmt: skip


def _next_state(state: np.ndarray, u: np.ndarray, probs: dict[int, list[np.ndarray]]) -> np.ndarray:
    after = state.copy()
    for source, targets in OUTCOMES.items():
        rows = np.flatnonzero(state == source)
        draw, edge = u[rows], np.zeros(rows.size)
        for target, chance in zip(targets, probs[source], strict=True):
            after[rows[(draw >= edge) & (draw < edge + chance[rows])]] = target
            edge += chance[rows]
    return after


def _conversion_probability(
    hazards: _Hazards, state: np.ndarray, day: int, horizon: int, sched: _Schedule
) -> np.ndarray:
    """Exact chance of converting within `horizon` days from `day`, by propagating the chain."""
    mass = {source: (state == source).astype(np.float64) for source in LIVE}
    converted = np.zeros(state.size)
    for step in range(day, day + horizon):
        probs = _transition_probs(hazards, step, sched)
        after = {source: mass[source] * (1.0 - sum(probs[source])) for source in LIVE}
        for source, targets in OUTCOMES.items():
            for target, chance in zip(targets, probs[source], strict=True):
                if target in after:
                    after[target] += mass[source] * chance
                elif target == CONVERTED:
                    converted += mass[source] * chance
        mass = after
    return converted


def _rate_tables() -> tuple[np.ndarray, np.ndarray]:
    """Total daily event rate [archetype, state, platform] and the type mix's cumulative shares."""
    base = np.stack([NORMAL_RATES, BOT_RATES, LIKER_RATES, LURKER_RATES])
    rates = base[:, :, None, :] * (PLATFORM_MIX * PLATFORM_VOLUME[:, None])[None, None]
    total = rates.sum(-1)
    return total, np.cumsum(rates / total[..., None], axis=-1)


TOTAL_RATE, TYPE_SHARES = _rate_tables()


def _simulate_days(
    rng: np.random.Generator, config: SimulationConfig, sched: _Schedule, chunk: _Chunk,
    snap_days: list[int],
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:  # fmt: skip
    """Walk the hidden states day by day: (row, day) pairs, event states, snapshot states."""
    n = chunk.platform.size
    state = np.full(n, UNJOINED, dtype=np.int8)
    snaps = np.empty((len(snap_days), n), dtype=np.int8)
    base_rate = TOTAL_RATE[chunk.archetype, :, chunk.platform] * chunk.activity[:, None]
    drawn: dict[str, list[np.ndarray]] = {key: [] for key in ("event", "convert", "churn")}
    states: list[np.ndarray] = []
    for day in range(config.days):
        if day in snap_days:
            snaps[snap_days.index(day)] = state
        joining = chunk.join_day == day
        state[joining] = chunk.initial[joining]
        after = _next_state(state, rng.random(n), _transition_probs(chunk.hazards, day, sched))
        drawn["convert"].append(np.flatnonzero((after == CONVERTED) & (state != CONVERTED)))
        drawn["churn"].append(np.flatnonzero((after == CHURNED) & (state != CHURNED)))
        # Followers who unfollow today are silent all day, so no event follows the unfollow.
        active = np.flatnonzero((state >= 0) & (state <= CONVERTED) & (after != CHURNED))
        rate = base_rate[active, state[active]] * sched.day_mult[chunk.platform[active], day]
        counts = rng.poisson(rate)
        drawn["event"].append(np.repeat(active, counts))
        states.append(np.repeat(state[active], counts))
        state = after
    pairs = {key: _with_days(arrays) for key, arrays in drawn.items()}
    return pairs, np.concatenate(states), snaps


def _with_days(per_day: list[np.ndarray]) -> np.ndarray:
    """Stack per-day follower rows into an array of (row, day) pairs."""
    days = np.repeat(np.arange(len(per_day)), [rows.size for rows in per_day])
    return np.stack([np.concatenate(per_day), days])


def _earliest(chunk: _Chunk, rows: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Earliest time of day (fraction) a follower can act: after the follow on the join day."""
    return np.where(day == chunk.join_day[rows], chunk.join_frac[rows], 0.0)


def _time_in_day(
    rng: np.random.Generator, config: SimulationConfig, day: np.ndarray, low: np.ndarray
) -> np.ndarray:
    """Uniform UTC instants in [day + low, day + 1), in microseconds."""
    offset = ((low + rng.random(day.size) * (1.0 - low)) * DAY_US).astype(np.int64)
    return _start_us(config) + day * DAY_US + np.minimum(offset, DAY_US - 1)


def _event_columns(
    rng: np.random.Generator, config: SimulationConfig, sched: _Schedule, chunk: _Chunk,
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


def _follow_columns(
    rng: np.random.Generator, config: SimulationConfig, chunk: _Chunk, churn: np.ndarray
) -> dict[str, np.ndarray]:
    """Follow events for joins inside the window and unfollow events for churn."""
    joined = np.flatnonzero(chunk.followed_us >= _start_us(config))
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


def _profile_columns(rng: np.random.Generator, chunk: _Chunk) -> dict[str, np.ndarray]:
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


def _run_chunk(
    config: SimulationConfig, sched: _Schedule, snap_days: list[int], index: int
) -> dict[str, dict[str, np.ndarray]]:
    """Simulate one chunk of followers: numpy columns of every output table."""
    rng = np.random.default_rng([config.seed, 2, index])
    offset = index * CHUNK
    chunk = _draw_chunk(rng, config, sched, offset, min(CHUNK, config.n_followers - offset))
    pairs, event_state, snaps = _simulate_days(rng, config, sched, chunk, snap_days)
    events = _event_columns(rng, config, sched, chunk, pairs["event"], event_state)
    follows = _follow_columns(rng, config, chunk, pairs["churn"])
    followers = dict(platform=chunk.platform, followed=chunk.followed_us)
    return dict(
        followers=followers | _profile_columns(rng, chunk),
        interactions={key: np.concatenate([events[key], follows[key]]) for key in events},
        conversions=_conversion_columns(rng, config, chunk, pairs["convert"]),
        oracle=_oracle_columns(config, sched, chunk, snaps, snap_days),
    )


def _conversion_columns(
    rng: np.random.Generator, config: SimulationConfig, chunk: _Chunk, pairs: np.ndarray
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


def _oracle_columns(
    config: SimulationConfig, sched: _Schedule, chunk: _Chunk, snaps: np.ndarray, days: list[int]
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


def _snapshot_days(config: SimulationConfig) -> list[int]:
    every, horizon = config.oracle_every_days, config.horizon_days
    return list(range(every, config.days - horizon + 1, every))


def _followers_frame(columns: dict[str, np.ndarray], width: int) -> pd.DataFrame:
    def counts(values: np.ndarray) -> pa.Array:
        return pa.array(values, pa.int64(), mask=values < 0)

    return _frame(
        {
            "follower_id": _ids("f", np.arange(1, columns["platform"].size + 1), width),
            "platform": _codes(PLATFORMS, columns["platform"]),
            "followed_at": _utc(columns["followed"]),
            "country": _codes(COUNTRIES, columns["country"]),
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
    arrays = {"event_id": _ids("e", numbers + 1, _width(9, order.size))}
    del order, numbers
    arrays["follower_id"] = _ids("f", columns.pop("follower")[rows] + 1, widths[0])
    arrays["event_type"] = _codes(EVENT_TYPES, columns.pop("type")[rows])
    arrays["occurred_at"] = _utc(columns.pop("time")[rows])
    post = columns.pop("post")[rows]
    arrays["post_id"] = _ids("p", post, widths[1], valid=post >= 0)
    del post
    # Watch seconds travel as float32; round again so values read like 12.3, not 12.300000190.
    arrays["value"] = pa.array(np.round(columns.pop("value")[rows].astype(np.float64), 1))
    return _frame(arrays)


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
    sched = _draw_schedule(config)
    snap_days = _snapshot_days(config)
    chunks = [
        _run_chunk(config, sched, snap_days, index)
        for index in range(-(-config.n_followers // CHUNK))
    ]
    tables = {name: _merge(chunks, name) for name in chunks[0]}
    del chunks
    width = _width(7, config.n_followers)
    audience = Audience(
        followers=_followers_frame(tables["followers"], width),
        posts=sched.posts,
        interactions=_interactions_frame(
            config, tables["interactions"], (width, _width(6, len(sched.posts)))
        ),
        conversions=_conversions_frame(tables["conversions"], width),
        oracle=_oracle_frame(config, tables["oracle"], snap_days, width),
    )
    logger.info(
        "simulated rows per table: %s", {name: len(getattr(audience, name)) for name in TABLES}
    )
    return audience


def _conversions_frame(columns: dict[str, np.ndarray], width: int) -> pd.DataFrame:
    order = np.argsort(columns["time"], kind="stable")
    return _frame(
        {
            "follower_id": _ids("f", columns["follower"][order] + 1, width),
            "converted_at": _utc(columns["time"][order]),
            "lead_value": pa.array(columns["lead_value"][order]),
        }
    )


def _oracle_frame(
    config: SimulationConfig, columns: dict[str, np.ndarray], snap_days: list[int], width: int
) -> pd.DataFrame:
    order = np.argsort(columns["snap"], kind="stable")
    days = np.asarray(snap_days, dtype=np.int64)[columns["snap"][order].astype(np.int64)]
    return _frame(
        {
            "as_of": _utc(_start_us(config) + days * DAY_US),
            "follower_id": _ids("f", columns["follower"][order] + 1, width),
            "p_convert": pa.array(columns["p"][order].astype(np.float64)),
            # The hidden intent state at as_of, for analysis: no model ever sees it.
            "state": _codes(STATE_NAMES, columns["state"][order]),
            # Stored with the rows so that nobody compares them with labels of another horizon.
            "horizon_days": pa.array(np.full(order.size, config.horizon_days, dtype=np.int64)),
        }
    )


def write_audience(audience: Audience, out_dir: Path) -> dict[str, Path]:
    """Write each table to `<out_dir>/<table>.parquet`, atomically; return the paths by table."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in TABLES:
        path = out_dir / f"{name}.parquet"
        partial = path.with_name(f".{path.name}.partial")
        # pandas' own writer keeps the dtype metadata (Int64, boolean, str) for the read back.
        getattr(audience, name).to_parquet(partial, engine="pyarrow", index=False)
        os.replace(partial, path)
        paths[name] = path
    return paths
