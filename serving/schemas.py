"""Request and response models of the HTTP service; field names follow features/schema.py.

A table model's /score record is made from its columns (`table_record_model`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model

from features.schema import DEFAULT_FEATURE_CONFIG, FeatureConfig, feature_groups
from features.tabular.dates import DateColumn, reads_as_date
from features.tabular.spec import TabularSpec


def _in_range(moment: datetime) -> datetime:
    # Times outside these years are entry errors, and pandas' nanosecond clock cannot hold them.
    if not 1970 <= moment.year <= 2200:
        raise ValueError("a time between the years 1970 and 2200")
    return moment


Moment = Annotated[datetime, AfterValidator(_in_range)]

FollowerId = Annotated[str, Field(min_length=1, max_length=256, description="Follower id.")]
_STRICT = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


def _feature_fields(config: FeatureConfig) -> dict[str, Any]:
    """One optional field per feature column: counts default to 0, the rest to missing."""
    groups = feature_groups(config)
    fields: dict[str, Any] = {"follower_id": (FollowerId, ...)}
    for column in groups["count"]:
        fields[column] = (int, Field(0, ge=0, description="Event count; 0 if left out."))
    for column in groups["score"]:
        # As for a follower with no events: decayed scores start at zero.
        fields[column] = (float, Field(0.0, description="Decayed score; 0 if left out."))
    for group in ("recency", "rate", "profile"):
        for column in groups[group]:
            fields[column] = (float | None, Field(None, description="Missing if left out."))
    fields["follower_following_ratio"] = (
        float | None,
        Field(None, description="From follower_count / following_count if left out."),
    )
    fields["is_business"] = (bool | None, Field(None, description="Business account?"))
    for column in groups["categorical"]:
        fields[column] = (
            str | None,
            Field(None, max_length=100, description="Missing if left out."),
        )
    return fields


@cache
def feature_record_model(config: FeatureConfig) -> type[BaseModel]:
    """The /score record of an events model whose features use `config`'s windows (a model
    trained on a short log counts over 1 and 3 days, not 7, 30 and 90)."""
    return create_model(
        "FeatureRecord",
        __config__=_STRICT,
        __doc__="Feature values of one follower, as `leadscore features` writes them.",
        **_feature_fields(config),
    )


FeatureRecord = feature_record_model(DEFAULT_FEATURE_CONFIG)


class Event(BaseModel):
    """One interaction of a follower with the brand."""

    model_config = _STRICT

    follower_id: FollowerId
    event_type: str = Field(
        min_length=1,
        max_length=64,
        description="view, like, comment, share, save, click, profile_visit, dm, mention, "
        "follow or unfollow; any other type counts as 'other'.",
    )
    occurred_at: Moment = Field(description="When it happened; a time without zone is UTC.")
    post_id: str | None = Field(None, max_length=256)
    value: float | None = Field(None, description="For example watch seconds of a view.")


class Profile(BaseModel):
    """Profile of one follower; every field but the id may be left out."""

    model_config = _STRICT

    follower_id: FollowerId
    platform: str | None = Field(None, max_length=32, examples=["instagram"])
    followed_at: Moment | None = None
    country: str | None = Field(None, max_length=100)
    follower_count: float | None = Field(None, ge=0)
    following_count: float | None = Field(None, ge=0)
    is_business: bool | None = None


class Post(BaseModel):
    """A post of the brand, for the content features (campaign and video shares)."""

    model_config = _STRICT

    post_id: str = Field(min_length=1, max_length=256)
    published_at: Moment = Field(description="When the post went out; only earlier ones count.")
    format: str | None = Field(
        None, max_length=32, description="image, video, carousel, text, link, story or live."
    )
    campaign: str | None = Field(None, max_length=256, description="Campaign name, if any.")


class Score(BaseModel):
    """The score of one follower."""

    follower_id: str
    probability: float = Field(description="Probability of becoming a lead within the horizon.")
    score: int = Field(ge=1, le=99, description="1–99: percentile among scored followers.")
    tier: str = Field(description="A (score 90–99), B (70–89), C (40–69) or D (1–39).")
    reasons_up: list[str] = Field(description="What raises this score most, in plain words.")
    reasons_down: list[str] = Field(description="What lowers this score most, in plain words.")
    model_version: str


def _bool_as_text(value: Any) -> Any:
    # A yes/no column read from Parquet is bool; its levels are the words "true" and "false".
    return str(value) if isinstance(value, bool) else value


def _date_text(date: DateColumn) -> Any:
    """Text that must read as a date the way the training table wrote them."""

    def check(value: str | None) -> str | None:
        if value is not None and value.strip() and not reads_as_date(value, date.form):
            raise ValueError(f"not a date written as {date.form!r}")
        return value

    return Annotated[str | None, Field(max_length=100), AfterValidator(check)]


Category = Annotated[Annotated[str, Field(max_length=1000)] | None, BeforeValidator(_bool_as_text)]


def table_record_model(table: TabularSpec) -> type[BaseModel]:
    """The /score record of a table-mode model: its id, then one field per column it reads.

    Fields carry the table's own column names (as aliases, since names like "Lead Origin" are
    not identifiers). Numbers are `float | None`, categories `str | None` (any text: a level
    never seen in training is read as missing); a column left out is missing. Other fields,
    the target among them, are rejected by name.
    """
    id_field = Annotated[str, Field(min_length=1, max_length=256, alias=table.id_column)]
    fields: dict[str, Any] = {"lead_id": (id_field, Field(description="The lead's id."))}
    dates = {date.column: date for date in table.input_dates}
    for position, (column, input_kind) in enumerate(table.inputs):
        if input_kind == "numeric":
            kind, note = float | None, "Number"
        elif input_kind == "date":
            kind, note = _date_text(dates[column]), f"Date or time (UTC), as {dates[column].form}"
        else:
            kind, note = Category, "Text"
        described = Field(None, alias=column, description=f"{note}; missing if null or left out.")
        fields[f"column_{position}"] = (kind, described)
    return create_model(
        "LeadRecord",
        __config__=_STRICT,
        __doc__=f"One lead: {table.id_column!r} and the model's columns, named as in the table.",
        **fields,
    )


class LeadScore(BaseModel):
    """The score of one lead (a table-mode model)."""

    id: str = Field(description="The lead's id, from the model's id column.")
    probability: float = Field(description="Calibrated probability that the lead converts.")
    score: int = Field(ge=1, le=99, description="1–99: percentile among the held-out test leads.")
    tier: str = Field(description="A (score 90–99), B (70–89), C (40–69) or D (1–39).")
    reasons_up: list[str] = Field(description="What raises this score most, in plain words.")
    reasons_down: list[str] = Field(description="What lowers this score most, in plain words.")
    model_version: str


class ModelInfo(BaseModel):
    """What model answers, and how it did when trained."""

    name: str
    version: str = Field(description="The version answering now; every score carries it too.")
    serving_since: str = Field("", description="When this version began to answer (UTC).")
    follows: str = Field(
        "", description="The registry alias the service follows and how often it looks (or '')."
    )
    last_failure: str = Field(
        "", description="Why the newest champion was not loaded ('' when nothing failed)."
    )
    trained_at: str
    feature_version: str
    horizon_days: int
    metrics: dict[str, float]
    features: list[str]
    mode: str = Field("events", description="events (followers' events) or table (lead rows).")
    entity_key: str = Field("follower_id", description="The id field of a record.")
    columns: dict[str, str] = Field(
        default_factory=dict, description="Each model column's kind: numeric or categorical."
    )
    excluded: dict[str, str] = Field(
        default_factory=dict, description="Table mode: columns left out of the model, and why."
    )
