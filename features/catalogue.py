"""The feature catalogue: every column in plain words, and a phrase for one follower's value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from types import MappingProxyType

from features.phrases import (
    NOUNS,
    Phrase,
    counted,
    days_ago,
    number,
    one_decimal,
    percent,
    say,
    say_business,
    say_count,
    say_last,
    say_tenure,
    say_text,
    whole,
)
from features.schema import (
    ALL_EVENT_TYPES,
    DEFAULT_FEATURE_CONFIG,
    MIX_EVENTS,
    RECENCY_EVENTS,
    FeatureConfig,
    count_column,
    feature_groups,
)

# What a follower without events (before as_of) gets, by kind of column (see feature_groups).
NO_EVENTS_RULE: dict[str, str] = {
    "count": "0",
    "recency": "missing: it never happened (days_since_follow still comes from the profile)",
    "rate": "missing: nothing to divide by (video watch seconds are 0 when posts are known)",
    "score": "0",
    "profile": "taken from the profile, missing if unknown",
    "categorical": "taken from the profile, missing if unknown",
}


@dataclass(frozen=True)
class Entry:
    """One column: what it measures, and how to say a value of it."""

    description: str
    phrase: Phrase
    kind: str = ""  # the feature_groups kind, which sets the rule for followers without events

    @property
    def without_events(self) -> str:
        """The value a follower without events gets."""
        return NO_EVENTS_RULE[self.kind]


def _last(days: int) -> str:
    """ "the last 7 days", or "the last day" for a one-day window."""
    return "the last day" if days == 1 else f"the last {days} days"


def _event_entries(config: FeatureConfig) -> dict[str, Entry]:
    """Window counts, active days and the daily rhythm of the long window."""
    entries = {}
    for w in config.windows_days:
        span = f"in {_last(w)}"
        for kind in (*ALL_EVENT_TYPES, "events"):
            entries[count_column(kind, w)] = Entry(
                f"{NOUNS[kind][1]} {span}", say_count(kind, span)
            )
        entries[f"n_active_days_{w}d"] = Entry(
            f"days with at least one event {span}",
            say(f"active on {{}} of {_last(w)}", "active days unknown"),
        )
        entries[f"events_per_active_day_{w}d"] = Entry(
            f"events per active day {span}",
            say(f"{{}} events per active day {span}", f"no events {span}", one_decimal),
        )
    span = f"in {_last(config.long_days)}"
    return entries | {
        f"max_events_per_day_{config.long_days}d": Entry(
            f"events on the busiest day {span}",
            say(f"at most {{}} in one day {span}", "busiest day unknown", _events),
        ),
        f"n_posts_engaged_{config.long_days}d": Entry(
            f"different posts engaged with {span}",
            say(f"engaged with {{}} {span}", "posts engaged unknown", _posts),
        ),
        f"busiest_day_share_{config.long_days}d": Entry(
            f"share of the events {span} that fell on the busiest day (burstiness)",
            say(f"{{}} of the events {span} on a single day", f"no events {span}", percent),
        ),
        f"like_share_{config.long_days}d": Entry(
            f"share of likes among the events {span}",
            say(f"{{}} of the events {span} were likes", f"no events {span}", percent),
        ),
    }


def _recency_entries() -> dict[str, Entry]:
    """Days since the latest event of each kind, since an unfollow, since the follow."""
    entries = {
        "days_since_last_event": Entry(
            "days since the latest event", say_last("event", "no events yet")
        ),
        "days_since_last_high_intent": Entry(
            "days since the latest link click, profile visit or DM",
            say_last("high-intent action", "no high-intent action yet"),
        ),
        "days_since_unfollow": Entry(
            "days since the follower last unfollowed (any time back)",
            say("unfollowed {}", "never unfollowed", days_ago),
        ),
        "days_since_follow": Entry(
            "days since the follower followed the brand (tenure)",
            say_tenure,
        ),
    }
    for kind in RECENCY_EVENTS:
        singular = NOUNS[kind][0]
        entries[f"days_since_last_{kind}"] = Entry(
            f"days since the latest {singular}", say_last(singular, f"no {singular} yet")
        )
    return entries


def _events(value: float) -> str:
    return counted(value, "event", "events")


def _posts(value: float) -> str:
    return counted(value, "post", "different posts")


def _mix_entries(config: FeatureConfig) -> dict[str, Entry]:
    """Velocity and intent mix."""
    short, mid = config.short_days, config.mid_days
    span = f"in {_last(mid)}"
    entries = {
        f"velocity_{short}d_{w}d": Entry(
            f"events per day in {_last(short)} relative to {_last(w)}",
            say(
                f"activity in {_last(short)} at {{}}x its {w}-day pace",
                f"no events in {_last(w)}",
                one_decimal,
            ),
        )
        for w in config.windows_days[1:]
    }
    for kind in (*MIX_EVENTS, "high_intent"):
        plural = NOUNS[kind][1]
        entries[f"{kind}_share_{mid}d"] = Entry(
            f"share of {plural} among the events {span}",
            say(f"{{}} of the events {span} were {plural}", f"no events {span}", percent),
        )
    return entries


def _content_entries(config: FeatureConfig) -> dict[str, Entry]:
    """Content affinity, from the posts table."""
    span = f"in {_last(config.mid_days)}"
    mid = config.mid_days
    no_posts = f"no interactions with known posts {span}"
    return {
        f"campaign_share_{mid}d": Entry(
            f"share of interactions with known posts {span} that were on campaign posts",
            say(f"{{}} of post interactions {span} on campaign posts", no_posts, percent),
        ),
        f"video_share_{mid}d": Entry(
            f"share of interactions with known posts {span} that were on videos or lives",
            say(f"{{}} of post interactions {span} on videos", no_posts, percent),
        ),
        f"video_watch_seconds_{mid}d": Entry(
            f"seconds of video watched {span}",
            say(f"{{}} seconds of video watched {span}", "video watch time unknown", whole),
        ),
        f"video_watch_mean_{mid}d": Entry(
            f"mean seconds watched per timed video view {span}",
            say(
                f"{{}} seconds watched per video view {span}",
                f"no timed video views {span}",
                whole,
            ),
        ),
    }


def _profile_entries(config: FeatureConfig) -> dict[str, Entry]:
    """Decayed scores and profile fields."""
    decay = f"each action's points halving every {number(config.half_life_days)} days"
    return {
        "engagement_score": Entry(
            f"engagement points ({decay}; an unfollow takes points away)",
            say("engagement score {}, recent actions weighing most", "score unknown", one_decimal),
        ),
        "high_intent_score": Entry(
            f"points from link clicks, profile visits and DMs ({decay})",
            say("high-intent score {}, recent actions weighing most", "score unknown", one_decimal),
        ),
        "follower_following_ratio": Entry(
            "the follower's own followers per account they follow",
            say(
                "{} followers per account followed",
                "follower/following ratio unknown",
                one_decimal,
            ),
        ),
        "follower_count": Entry(
            "the follower's own number of followers", say("{} followers", "follower count unknown")
        ),
        "following_count": Entry(
            "how many accounts the follower follows",
            say("follows {} accounts", "following count unknown"),
        ),
        "is_business": Entry("whether the follower is a business account", say_business),
        "platform": Entry(
            "the platform the follower follows on", say_text("on {}", "platform unknown")
        ),
        "country": Entry("the follower's country", say_text("in {}", "country unknown")),
    }


@lru_cache(maxsize=16)
def catalogue(config: FeatureConfig = DEFAULT_FEATURE_CONFIG) -> Mapping[str, Entry]:
    """Every column of `feature_columns(config)`, in order, with its entry (read-only)."""
    entries = {
        **_event_entries(config),
        **_recency_entries(),
        **_mix_entries(config),
        **_content_entries(config),
        **_profile_entries(config),
    }
    kinds = {column: kind for kind, group in feature_groups(config).items() for column in group}
    return MappingProxyType(
        {column: replace(entries[column], kind=kinds[column]) for column in kinds}
    )


def describe(column: str, config: FeatureConfig = DEFAULT_FEATURE_CONFIG) -> str:
    """What a column measures, e.g. "link clicks in the last 7 days"."""
    return _entry(column, config).description


def explain(column: str, value: object, config: FeatureConfig = DEFAULT_FEATURE_CONFIG) -> str:
    """One follower's value in words, e.g. "4 link clicks in the last 7 days"."""
    return _entry(column, config).phrase(value)


def _entry(column: str, config: FeatureConfig) -> Entry:
    entries = catalogue(config)
    if column not in entries:
        raise KeyError(f"{column!r} is not a feature column of {config}")
    return entries[column]
