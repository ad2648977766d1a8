"""The data contracts: table columns, event vocabulary and the versioned feature columns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

FEATURE_VERSION = "v2"

# Followers are keyed by this column in every table and every output.
ENTITY_KEY = "follower_id"

PLATFORMS: tuple[str, ...] = ("instagram", "facebook", "x", "linkedin", "tiktok")
POST_FORMATS: tuple[str, ...] = ("image", "video", "carousel", "text", "link", "story", "live")

# The event vocabulary (docs/architecture.md); anything else is counted as "other", never rejected.
EVENT_TYPES: tuple[str, ...] = (
    "view",
    "like",
    "comment",
    "share",
    "save",
    "click",
    "profile_visit",
    "dm",
    "mention",
    "follow",
    "unfollow",
)
OTHER_EVENT = "other"
ALL_EVENT_TYPES: tuple[str, ...] = (*EVENT_TYPES, OTHER_EVENT)

# Actions that show buying intent rather than passive attention.
HIGH_INTENT_EVENTS: tuple[str, ...] = ("click", "profile_visit", "dm")
# Types with their own "days since last ..." column.
RECENCY_EVENTS: tuple[str, ...] = ("click", "profile_visit", "dm", "share")
# Types whose share of the mid window's events is a feature (intent mix).
MIX_EVENTS: tuple[str, ...] = ("click", "dm", "profile_visit", "share")
# Marketing points per event type for the decayed engagement score; an unfollow takes points
# away, and "other" is unknown, so it counts for nothing.
EVENT_POINTS: dict[str, float] = {
    "view": 1.0,
    "like": 2.0,
    "comment": 4.0,
    "share": 5.0,
    "save": 4.0,
    "click": 6.0,
    "profile_visit": 6.0,
    "dm": 10.0,
    "mention": 5.0,
    "follow": 2.0,
    "unfollow": -10.0,
    "other": 0.0,
}
# Formats whose views carry watch time. Stories mix stills and clips, so they are left out.
VIDEO_FORMATS: tuple[str, ...] = ("video", "live")


@dataclass(frozen=True)
class FeatureConfig:
    """Windows (days, ascending) and the half-life of the decayed scores.

    Roles: the shortest window is "recent" (velocity numerator), the second one (or the only
    one) is the "mid" window for the intent mix and content affinity, the longest is the
    "long" window for regularity and bot-likeness.
    """

    windows_days: tuple[int, ...] = (7, 30, 90)
    half_life_days: float = 14.0

    def __post_init__(self) -> None:
        windows = tuple(int(window) for window in self.windows_days)
        if not windows or min(windows) < 1 or list(windows) != sorted(set(windows)):
            raise ValueError(f"windows_days must be ascending positive days, got {windows}")
        if not self.half_life_days > 0:
            raise ValueError(f"half_life_days must be positive, got {self.half_life_days}")
        object.__setattr__(self, "windows_days", windows)
        object.__setattr__(self, "half_life_days", float(self.half_life_days))

    @property
    def short_days(self) -> int:
        return self.windows_days[0]

    @property
    def mid_days(self) -> int:
        return self.windows_days[min(1, len(self.windows_days) - 1)]

    @property
    def long_days(self) -> int:
        return self.windows_days[-1]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, for a model's spec or MLflow params."""
        return {"windows_days": list(self.windows_days), "half_life_days": self.half_life_days}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        """Inverse of `to_dict`."""
        return cls(tuple(data["windows_days"]), float(data["half_life_days"]))


DEFAULT_FEATURE_CONFIG = FeatureConfig()
WINDOWS_DAYS: tuple[int, ...] = DEFAULT_FEATURE_CONFIG.windows_days

# Required (and optional) columns of each input table.
FOLLOWERS_REQUIRED: tuple[str, ...] = ("follower_id", "platform", "followed_at")
FOLLOWERS_OPTIONAL: tuple[str, ...] = (
    "country",
    "follower_count",
    "following_count",
    "is_business",
)
POSTS_REQUIRED: tuple[str, ...] = ("post_id", "published_at")
POSTS_OPTIONAL: tuple[str, ...] = ("format", "campaign")
INTERACTIONS_REQUIRED: tuple[str, ...] = ("follower_id", "event_type", "occurred_at")
INTERACTIONS_OPTIONAL: tuple[str, ...] = ("post_id", "value")
CONVERSIONS_REQUIRED: tuple[str, ...] = ("follower_id", "converted_at")
CONVERSIONS_OPTIONAL: tuple[str, ...] = ("lead_value",)

PROFILE_NUMERIC_COLUMNS: tuple[str, ...] = ("follower_count", "following_count", "is_business")
CATEGORICAL_COLUMNS: tuple[str, ...] = ("platform", "country")


def count_column(event_type: str, window_days: int) -> str:
    """Name of the column counting `event_type` events in the last `window_days` days."""
    return f"n_{event_type}_{window_days}d"


def feature_groups(config: FeatureConfig = DEFAULT_FEATURE_CONFIG) -> dict[str, tuple[str, ...]]:
    """Feature columns by kind, each kind with one dtype and one rule for followers without events.

    count: int32 >= 0, 0 without events. recency: float64 days >= 0, NaN if it never happened.
    rate: float64 >= 0, NaN where undefined (nothing to divide by). score: float64 of any sign,
    0 without events. profile: float64, NaN if unknown. categorical: text, missing if unknown.
    """
    short, mid, long = config.short_days, config.mid_days, config.long_days
    windows = config.windows_days
    counts = [count_column(kind, w) for w in windows for kind in (*ALL_EVENT_TYPES, "events")]
    counts += [f"n_active_days_{w}d" for w in windows]
    counts += [f"max_events_per_day_{long}d", f"n_posts_engaged_{long}d"]
    recency = ["days_since_last_event", "days_since_last_high_intent"]
    recency += [f"days_since_last_{kind}" for kind in RECENCY_EVENTS]
    recency += ["days_since_unfollow", "days_since_follow"]
    rates = [f"velocity_{short}d_{w}d" for w in windows[1:]]
    rates += [f"{kind}_share_{mid}d" for kind in (*MIX_EVENTS, "high_intent")]
    rates += [f"campaign_share_{mid}d", f"video_share_{mid}d"]
    rates += [f"video_watch_seconds_{mid}d", f"video_watch_mean_{mid}d"]
    rates += [f"events_per_active_day_{w}d" for w in windows]
    rates += [f"busiest_day_share_{long}d", f"like_share_{long}d", "follower_following_ratio"]
    return {
        "count": tuple(counts),
        "recency": tuple(recency),
        "rate": tuple(rates),
        "score": ("engagement_score", "high_intent_score"),
        "profile": PROFILE_NUMERIC_COLUMNS,
        "categorical": CATEGORICAL_COLUMNS,
    }


def feature_columns(config: FeatureConfig = DEFAULT_FEATURE_CONFIG) -> tuple[str, ...]:
    """The model's input for `config`, in order; it never depends on the batch being scored."""
    return tuple(column for group in feature_groups(config).values() for column in group)


_DEFAULT_GROUPS = feature_groups(DEFAULT_FEATURE_CONFIG)
COUNT_COLUMNS: tuple[str, ...] = _DEFAULT_GROUPS["count"]
RECENCY_COLUMNS: tuple[str, ...] = _DEFAULT_GROUPS["recency"]
RATE_COLUMNS: tuple[str, ...] = _DEFAULT_GROUPS["rate"]
SCORE_COLUMNS: tuple[str, ...] = _DEFAULT_GROUPS["score"]
FEATURE_COLUMNS: tuple[str, ...] = feature_columns(DEFAULT_FEATURE_CONFIG)

LABEL_COLUMN = "converted"


def require_columns(frame: Any, columns: Iterable[str], table: str) -> None:
    """Raise a ValueError naming `table` and every one of `columns` that `frame` lacks."""
    missing = [column for column in dict.fromkeys(columns) if column not in frame.columns]
    if missing:
        names = ", ".join(map(repr, missing))
        raise ValueError(f"{table}: no column{'s' if len(missing) > 1 else ''} {names} (required)")
