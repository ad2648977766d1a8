"""Content affinity: which posts and what kind of posts a follower engages with, before `as_of`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.events.load import validate_posts
from features.kernels.aggregate import MICROS_PER_DAY, EventCodes, count_distinct, ratio, to_micros
from features.kernels.ids import factorize_ids, lookup_codes, take_codes
from features.schema import ALL_EVENT_TYPES, VIDEO_FORMATS, FeatureConfig

_VIEW = ALL_EVENT_TYPES.index("view")


@dataclass(frozen=True)
class KnownPosts:
    """Flags of the posts published before as_of, by row."""

    campaign: np.ndarray  # bool per post
    video: np.ndarray  # bool per post


def content_columns(
    interactions: pd.DataFrame,
    events: EventCodes,
    posts: pd.DataFrame | None,
    as_of_us: int,
    config: FeatureConfig,
) -> dict[str, np.ndarray]:
    """Distinct posts engaged (long window) and content affinity (mid window).

    Affinity rule: only posts published before as_of count as known (a later row of the posts
    table cannot leak in), and shares are over interactions with known posts. Without a posts
    table every affinity column is NaN; with one, a follower without interactions with known
    posts gets NaN shares, 0 watch seconds and a NaN mean watch time.
    """
    recent, codes, distinct = _posted(interactions, events, config.long_days)
    values = _values(interactions)
    if posts is None:
        return content_kernel(recent, codes, len(distinct), None, values, config)
    known_ids, known = _known_posts(posts, as_of_us)
    # Each distinct post looked up once, not once per event.
    post_row = take_codes(lookup_codes(distinct, known_ids), codes)
    return content_kernel(recent, codes, len(distinct), (known, post_row), values, config)


def _posted(
    interactions: pd.DataFrame, events: EventCodes, long_days: int
) -> tuple[EventCodes, np.ndarray, pd.Series]:
    """The events of the long window that name a post (the content kernel needs no others),
    the number of each one's post, and the post id of each number."""
    if "post_id" not in interactions:
        none = events.take(np.zeros(events.rows.size, dtype=bool))
        return none, np.empty(0, dtype=np.int64), pd.Series([], dtype="str")
    post_ids = interactions["post_id"]
    if isinstance(post_ids.dtype, pd.CategoricalDtype):
        # Validated events: posts already numbered, and only the counted events' numbers read.
        every = post_ids.cat.codes.to_numpy()
        codes = every[events.source]
        chosen = codes >= 0
        chosen &= events.age <= long_days * MICROS_PER_DAY
        return events.take(chosen), codes[chosen], pd.Series(post_ids.cat.categories)
    recent = events.within(long_days)
    codes, holders = factorize_ids(post_ids, recent.positions)
    distinct = post_ids.iloc[recent.positions[np.maximum(holders, 0)]]
    posted = codes >= 0
    return recent.take(posted), codes[posted], distinct


def content_kernel(
    recent: EventCodes,
    post_codes: np.ndarray,
    n_posts: int,
    known: tuple[KnownPosts, np.ndarray] | None,
    values: np.ndarray,
    config: FeatureConfig,
) -> dict[str, np.ndarray]:
    """`content_columns` from coded inputs: whatever read the events computes the same numbers.

    Args:
        recent: events of the long window (those without a post may be left out).
        post_codes: per recent event, its post numbered among theirs (-1 without a post).
        n_posts: how many distinct posts `post_codes` numbers.
        known: the known posts and, per recent event, its row in them (-1 if not known);
            None without a posts table.
        values: float64 `value` (watch seconds) of every input event, NaN where missing.
    """
    engaged = count_distinct(recent.rows, post_codes, n_posts, recent.n_followers)
    columns = {f"n_posts_engaged_{config.long_days}d": engaged}
    if known is None:
        names = ("campaign_share", "video_share", "video_watch_seconds", "video_watch_mean")
        missing = np.full(engaged.size, np.nan)
        return columns | {f"{name}_{config.mid_days}d": missing.copy() for name in names}
    posts, post_row = known
    return columns | _affinity(recent, post_row, posts, values, config.mid_days)


def _known_posts(posts: pd.DataFrame, as_of_us: int) -> tuple[pd.Index, KnownPosts]:
    """Posts published before as_of: their ids, and their campaign and video flags."""
    posts = validate_posts(posts)
    posts = posts.loc[to_micros(posts["published_at"]) < as_of_us]
    flags = KnownPosts(
        posts["campaign"].notna().to_numpy(), posts["format"].isin(VIDEO_FORMATS).to_numpy()
    )
    return pd.Index(posts["post_id"], name="post_id"), flags


def _affinity(
    recent: EventCodes,
    post_row: np.ndarray,
    known: KnownPosts,
    values: np.ndarray,
    mid: int,
) -> dict[str, np.ndarray]:
    """Campaign and video shares, and video watch time, over interactions with known posts."""
    n = recent.n_followers
    chosen = np.flatnonzero((recent.age <= mid * MICROS_PER_DAY) & (post_row >= 0))
    rows, post = recent.rows[chosen], post_row[chosen]
    video = known.video[post]
    watched = np.flatnonzero(video & (recent.types[chosen] == _VIEW))
    seconds = values[recent.positions[chosen[watched]]]
    timed = ~np.isnan(seconds)
    viewers = rows[watched][timed]
    watch = np.bincount(viewers, weights=seconds[timed], minlength=n)
    on_known = np.bincount(rows, minlength=n)
    campaign = np.bincount(rows, weights=known.campaign[post], minlength=n)
    return {
        f"campaign_share_{mid}d": ratio(campaign, on_known),
        f"video_share_{mid}d": ratio(np.bincount(rows, weights=video, minlength=n), on_known),
        f"video_watch_seconds_{mid}d": watch,
        f"video_watch_mean_{mid}d": ratio(watch, np.bincount(viewers, minlength=n)),
    }


def _values(interactions: pd.DataFrame) -> np.ndarray:
    """The events' `value` (watch seconds) as float64, NaN where missing."""
    if "value" not in interactions:
        return np.full(len(interactions), np.nan)
    values = interactions["value"]
    if values.dtype == np.float64:
        return values.to_numpy()  # validated events: the column itself, not a copy of it
    values = pd.to_numeric(values, errors="coerce")
    return values.to_numpy(dtype=np.float64, na_value=np.nan)
