"""The brand's posting and campaign calendar, drawn before any follower acts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.schema import PLATFORMS, POST_FORMATS
from simulator.columns import (
    DAY_US,
    arrow_frame,
    code_names,
    id_width,
    make_ids,
    start_us,
    utc_times,
)
from simulator.config import (
    CAMPAIGN_ENGAGEMENT,
    CAMPAIGN_THEMES,
    FORMAT_SHARES,
    POSTS_PER_DAY,
    WATCH_FORMATS,
    SimulationConfig,
)


@dataclass(frozen=True)
class Schedule:
    """Posts and campaigns known in advance; posts grouped by (platform, day) in that order."""

    campaign: np.ndarray  # bool [platform, day]
    day_mult: np.ndarray  # engagement multiplier [platform, day]
    post_start: np.ndarray  # first grouped post of [platform * days + day]
    post_count: np.ndarray
    post_frac: np.ndarray  # publication time as a fraction of its day, per grouped post
    post_video: np.ndarray  # bool, per grouped post
    post_number: np.ndarray  # 1-based chronological post number, per grouped post
    posts: pd.DataFrame


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


def draw_schedule(config: SimulationConfig) -> Schedule:
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
    published = start_us(config) + ((day + frac) * DAY_US).astype(np.int64)
    posts = arrow_frame(
        {
            "post_id": make_ids("p", number[order], id_width(6, group.size)),
            "platform": code_names(PLATFORMS, platform[order]),
            "published_at": utc_times(published[order]),
            "format": code_names(POST_FORMATS, fmt[order]),
            "campaign": code_names(names, campaign[order]),
        }
    )
    starts = np.concatenate([[0], np.cumsum(count.ravel())[:-1]])
    video = np.isin(fmt, [POST_FORMATS.index(name) for name in WATCH_FORMATS])
    return Schedule(campaign_ids >= 0, day_mult, starts, count.ravel(), frac, video, number, posts)


def draw_join_days(rng: np.random.Generator, sched: Schedule, platform: np.ndarray) -> np.ndarray:
    """Join days inside the window; campaigns on a platform bring in more followers."""
    cdf = np.cumsum(1.0 + 1.5 * sched.campaign, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(platform.size)
    days = np.empty(platform.size, dtype=np.int64)
    for code in range(len(PLATFORMS)):
        rows = platform == code
        days[rows] = np.searchsorted(cdf[code], u[rows], side="right")
    return np.minimum(days, cdf.shape[1] - 1)
