"""Followers' hidden intent, day by day: per-follower hazards and the daily Markov walk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.schema import PLATFORMS
from simulator.columns import DAY_US, start_us
from simulator.config import (
    ACTIVITY_SIGMA,
    ARCHETYPE_SHARES,
    BOT,
    BOT_RATES,
    BUSINESS_CONVERT,
    BUSINESS_SHARE,
    BUSINESS_TO_HOT,
    CAMPAIGN_TO_HOT,
    CAMPAIGN_TO_WARM,
    CHURN,
    CHURNED,
    COLD,
    CONVERTED,
    HOT,
    HOT_CONVERT,
    HOT_DECAY,
    INITIAL_NEW,
    INITIAL_TENURED,
    INTEREST_SHOWS,
    LIKER,
    LIKER_RATES,
    LURKER_RATES,
    MAX_TENURE_DAYS,
    NORMAL_RATES,
    OUTCOMES,
    PLATFORM_CONVERSION,
    PLATFORM_MIX,
    PLATFORM_SHARES,
    PLATFORM_VOLUME,
    PRE_WINDOW_SHARE,
    PROPENSITY_SIGMA,
    TO_HOT,
    TO_WARM,
    UNJOINED,
    WARM,
    WARM_CONVERT,
    WARM_DECAY,
    SimulationConfig,
)
from simulator.schedule import Schedule, draw_join_days


@dataclass(frozen=True)
class Hazards:
    """Per-follower transition factors; with the campaign calendar they fix the chain."""

    platform: np.ndarray
    to_warm: np.ndarray  # daily cold -> warm chance outside campaigns
    to_hot: np.ndarray  # daily warm -> hot chance outside campaigns
    convertible: np.ndarray  # conversion-rate factor, 0 for bots and heavy likers

    def take(self, rows: np.ndarray) -> Hazards:
        return Hazards(*(values[rows] for values in vars(self).values()))


@dataclass(frozen=True)
class Chunk:
    """The hidden and visible parameters of one chunk of followers."""

    offset: int
    platform: np.ndarray
    archetype: np.ndarray
    business: np.ndarray
    activity: np.ndarray
    hazards: Hazards
    join_day: np.ndarray  # 0 for followers who joined before the window
    join_frac: np.ndarray  # time of day of the follow, 0 before the window
    initial: np.ndarray  # state on the join day
    followed_us: np.ndarray


def draw_chunk(
    rng: np.random.Generator, config: SimulationConfig, sched: Schedule, offset: int, n: int
) -> Chunk:
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
    hazards = Hazards(platform, TO_WARM * propensity, to_hot, convertible)
    before = rng.random(n) < PRE_WINDOW_SHARE
    join_day = np.where(before, 0, draw_join_days(rng, sched, platform))
    join_frac = np.where(before, 0.0, rng.random(n))
    followed = np.where(before, -rng.uniform(0, MAX_TENURE_DAYS, n), join_day + join_frac)
    shares = np.where(before[:, None], INITIAL_TENURED, INITIAL_NEW).cumsum(1)
    initial = (rng.random(n)[:, None] >= shares[:, :-1]).sum(1).astype(np.int8)
    followed_us = start_us(config) + (followed * DAY_US).astype(np.int64)
    return Chunk(
        offset, platform, archetype, business, activity, hazards, join_day, join_frac, initial,
        followed_us,
    )  # fmt: skip


def transition_probs(hazards: Hazards, day: int, sched: Schedule) -> dict[int, list[np.ndarray]]:
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


def _rate_tables() -> tuple[np.ndarray, np.ndarray]:
    """Total daily event rate [archetype, state, platform] and the type mix's cumulative shares."""
    base = np.stack([NORMAL_RATES, BOT_RATES, LIKER_RATES, LURKER_RATES])
    rates = base[:, :, None, :] * (PLATFORM_MIX * PLATFORM_VOLUME[:, None])[None, None]
    total = rates.sum(-1)
    return total, np.cumsum(rates / total[..., None], axis=-1)


TOTAL_RATE, TYPE_SHARES = _rate_tables()


def simulate_days(
    rng: np.random.Generator, config: SimulationConfig, sched: Schedule, chunk: Chunk,
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
        after = _next_state(state, rng.random(n), transition_probs(chunk.hazards, day, sched))
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
