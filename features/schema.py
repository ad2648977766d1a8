"""The data contracts: table columns, event vocabulary and the versioned feature columns."""

from __future__ import annotations

FEATURE_VERSION = "v1"

# Followers are keyed by this column in every table and every output.
ENTITY_KEY = "follower_id"

PLATFORMS: tuple[str, ...] = ("instagram", "facebook", "x", "linkedin", "tiktok")
POST_FORMATS: tuple[str, ...] = ("image", "video", "carousel", "text", "link", "story", "live")

# The event vocabulary of DESIGN.md; anything else is counted as "other", never rejected.
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

WINDOWS_DAYS: tuple[int, ...] = (7, 30, 90)

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


COUNT_COLUMNS: tuple[str, ...] = tuple(
    count_column(event_type, window)
    for window in WINDOWS_DAYS
    for event_type in (*ALL_EVENT_TYPES, "events")
)
RECENCY_COLUMNS: tuple[str, ...] = (
    "days_since_last_event",
    "days_since_last_high_intent",
    "days_since_unfollow",
    "days_since_follow",
)

# The model's input, in order. It never depends on the batch being scored.
FEATURE_COLUMNS: tuple[str, ...] = (
    *COUNT_COLUMNS,
    *RECENCY_COLUMNS,
    *PROFILE_NUMERIC_COLUMNS,
    *CATEGORICAL_COLUMNS,
)

LABEL_COLUMN = "converted"
