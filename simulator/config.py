"""The simulated world's settings and parameters: sizes and seed, rates, shares, chances."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.schema import EVENT_TYPES

# Hidden intent states; churned and converted absorb (converted followers keep engaging).
COLD, WARM, HOT, CONVERTED, CHURNED, UNJOINED = 0, 1, 2, 3, 4, -1


LIVE = (COLD, WARM, HOT)


STATE_NAMES = ("cold", "warm", "hot")


# Where each live state can go in one day, in the order transition_probs gives the chances.
OUTCOMES = {
    COLD: (WARM, CHURNED),
    WARM: (HOT, COLD, CONVERTED, CHURNED),
    HOT: (WARM, CONVERTED, CHURNED),
}


NORMAL, BOT, LIKER, LURKER = 0, 1, 2, 3


ARCHETYPE_SHARES = (0.815, 0.04, 0.05, 0.095)


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
    # Oracle snapshot spacing; 0: weekly, or daily below a 14-day horizon, where a training
    # plan takes snapshots every few days (so the oracle covers every date a plan can pick).
    oracle_every_days: int = 0

    def __post_init__(self) -> None:
        if self.oracle_every_days == 0:
            every = 7 if self.horizon_days >= 14 else 1
            object.__setattr__(self, "oracle_every_days", every)


@dataclass(frozen=True)
class Audience:
    """The five simulated tables (the data contract of docs/architecture.md, plus the oracle)."""

    followers: pd.DataFrame
    posts: pd.DataFrame
    interactions: pd.DataFrame
    conversions: pd.DataFrame
    oracle: pd.DataFrame
