"""A simulated CRM lead table with dates: one row per lead, a won/lost outcome that drifts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ORIGINS: dict[str, float] = {"web form": 0.0, "chat": 0.5, "event": -0.4, "referral": 0.9}
COUNTRIES: tuple[str, ...] = ("FR", "DE", "US", "ES", "IT")


@dataclass(frozen=True)
class LeadTableConfig:
    """How many leads over how many days, and the seed."""

    n_leads: int = 8_000
    days: int = 240
    seed: int = 42
    start: str = "2026-01-01"
    n_pages: int = 500

    def __post_init__(self) -> None:
        if self.n_leads < 100 or self.days < 30 or self.n_pages < 1:
            raise ValueError("a lead table needs at least 100 leads, 30 days and 1 page")


def simulate_lead_table(config: LeadTableConfig = LeadTableConfig()) -> pd.DataFrame:
    """Leads with `lead_id`, `created` (date and time), `first_visit` (date), `origin`,
    `landing_page` (hundreds of levels, a few informative), `time_on_site`, `country` (mostly
    empty), `closed_at` (filled when a deal is closed: after the outcome, a leak) and `won`.

    About one lead in ten is won; the rate rises over the year and a lead created on a weekend
    converts less, so a random split and an out-of-time one tell different stories.
    """
    rng = np.random.default_rng([config.seed, 7])
    n = config.n_leads
    start = pd.Timestamp(config.start)
    day = np.sort(rng.integers(0, config.days, n))
    created = start + pd.to_timedelta(day, unit="D") + pd.to_timedelta(_hours(rng, n), unit="h")
    lead_days = rng.gamma(1.5, 8.0, n).round()
    first_visit = (created - pd.to_timedelta(lead_days, unit="D")).normalize()
    origin = rng.choice(list(ORIGINS), n, p=[0.5, 0.2, 0.15, 0.15])
    # Pages by popularity (a few big, many small), each with an effect of its own.
    popularity = 1.0 / np.arange(1, config.n_pages + 1) ** 0.8
    page = rng.choice(config.n_pages, n, p=popularity / popularity.sum())
    page_effect = rng.normal(0.0, 0.7, config.n_pages)
    time_on_site = rng.lognormal(5.0, 1.0, n).round()
    drift = 0.8 * day / config.days  # the product sells better as the year goes on
    weekend = created.day_of_week.to_numpy() >= 5
    logit = (
        -2.6
        + drift
        + np.array([ORIGINS[o] for o in origin])
        + page_effect[page]
        + 0.35 * (np.log(time_on_site) - 5.0)
        - 0.6 * weekend
        - 0.03 * lead_days
    )
    won = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    closed = won | (rng.random(n) < 0.08)
    closed_at = created + pd.to_timedelta(rng.integers(3, 60, n), unit="D")
    country = np.where(rng.random(n) < 0.85, "", rng.choice(COUNTRIES, n))
    return pd.DataFrame(
        {
            "lead_id": [f"L{i:06d}" for i in range(1, n + 1)],
            "created": created.strftime("%Y-%m-%d %H:%M"),
            "first_visit": first_visit.strftime("%Y-%m-%d"),
            "origin": origin,
            "landing_page": [f"lp-{p:03d}" for p in page],
            "time_on_site": time_on_site.astype(int),
            "country": country,
            "closed_at": np.where(closed, closed_at.strftime("%Y-%m-%d"), ""),
            "won": won.astype(int),
        }
    )


def _hours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Hours of the day, mostly office hours, to the minute."""
    return np.clip(rng.normal(13.0, 3.0, n), 0, 23.98).round(2)
