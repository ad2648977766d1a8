"""The BentoML service LeadScorer: scores feature records, raw events or lead rows with one model.

Which /score body it accepts follows the served model, read at import: an events-mode model takes
feature records (`{"followers": [...]}`), a table-mode model its own columns (`{"leads": [...]}`).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from serving.telemetry import disable_telemetry

# The switches must be set before BentoML is imported, whoever starts the service.
disable_telemetry()

import bentoml
import pandas as pd
from bentoml.exceptions import InvalidArgument, NotFound

from features.build import build_follower_features
from serving.model.bundle import ModelSpec, find_bundle_dir, load_bundle, load_spec
from serving.requests import (
    events_to_frame,
    followers_to_score,
    posts_to_frame,
    records_to_features,
    records_to_table,
)
from serving.schemas import (
    Event,
    FeatureRecord,
    LeadScore,
    ModelInfo,
    Post,
    Profile,
    Score,
    table_record_model,
)
from serving.scoring import score_features

logger = logging.getLogger(__name__)

# `leadscore serve` copies the champion into the BentoML model store and names it here.
MODEL_TAG = os.environ.get("LEADSCORE_MODEL_TAG", "lead-scorer:latest")


def _served_spec(tag: str) -> ModelSpec | None:
    """The spec of the model to serve (None if the store lacks it: __init__ then says so)."""
    try:
        stored = bentoml.models.get(tag)
    except NotFound:
        return None
    return load_spec(find_bundle_dir(Path(stored.path_of("mlflow_model"))))


SERVED_SPEC = _served_spec(MODEL_TAG)
TABLE_MODE = SERVED_SPEC is not None and SERVED_SPEC.mode == "table"
# The /score record of a table model: one field per column of that model.
LeadRecord = table_record_model(SERVED_SPEC) if TABLE_MODE else FeatureRecord


def _to_scores(scores: pd.DataFrame) -> list[Score]:
    return [Score(**row) for row in scores.to_dict(orient="records")]


def _to_lead_scores(scores: pd.DataFrame) -> list[LeadScore]:
    scores = scores.rename(columns={scores.columns[0]: "id"})
    return [LeadScore(**row) for row in scores.to_dict(orient="records")]


@bentoml.service(name="lead_scorer", traffic={"timeout": 60})
class LeadScorer:
    """Lead scores for followers, from feature records (/score) or raw events (/score_events)."""

    model_ref = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        stored = bentoml.models.get(self.model_ref.tag)
        self.bundle = load_bundle(find_bundle_dir(Path(stored.path_of("mlflow_model"))))
        labels = stored.info.labels
        self.model_name = labels.get("model_name", stored.tag.name)
        self.model_version = labels.get("model_version", str(stored.tag.version))
        logger.info("serving %s version %s", self.model_name, self.model_version)

    if TABLE_MODE:

        @bentoml.api(route="/score")
        def score(self, leads: list[LeadRecord]) -> list[LeadScore]:  # type: ignore[valid-type]
            """Score leads from their columns, named as in the table the model learnt from."""
            if not leads:
                return []
            try:
                features = self.bundle.table_features(records_to_table(leads))
                scores = score_features(features, self.bundle, self.model_version)
            except ValueError as error:
                raise InvalidArgument(str(error)) from None
            return _to_lead_scores(scores)

    else:

        @bentoml.api(route="/score")
        def score(self, followers: list[FeatureRecord]) -> list[Score]:  # type: ignore[valid-type]
            """Score followers from their feature values."""
            if not followers:
                return []
            try:
                features = records_to_features(followers)
                scores = score_features(features, self.bundle, self.model_version)
            except ValueError as error:
                raise InvalidArgument(str(error)) from None
            return _to_scores(scores)

    @bentoml.api(route="/score_events")
    def score_events(
        self,
        events: list[Event],
        profiles: list[Profile] | None = None,
        posts: list[Post] | None = None,
        as_of: datetime | None = None,
    ) -> list[Score]:
        """Score followers from raw events before `as_of` (default: now), as training does.

        Profiles and posts are optional: without posts the content features are missing.
        """
        if self.bundle.spec.mode != "events":
            raise InvalidArgument(
                f"{self.model_name} version {self.model_version} is a {self.bundle.spec.mode}-mode "
                "model: it scores lead rows posted to /score, not events"
            )
        try:
            interactions = events_to_frame(events)
            followers = followers_to_score(interactions, profiles or [])
            post_table = posts_to_frame(posts)
        except ValueError as error:
            raise InvalidArgument(str(error)) from None
        if followers.empty:
            return []
        cutoff = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(datetime.now(UTC))
        features = build_follower_features(
            interactions, followers, cutoff, post_table, self.bundle.features_config
        )
        return _to_scores(score_features(features, self.bundle, self.model_version))

    @bentoml.api(route="/model")
    def model(self) -> ModelInfo:
        """The model answering: name, version, training time, held-out test metrics, features."""
        spec = self.bundle.spec
        levels = spec.categorical_levels
        return ModelInfo(
            name=self.model_name,
            version=self.model_version,
            trained_at=spec.trained_at,
            feature_version=spec.feature_version,
            horizon_days=spec.horizon_days,
            metrics=spec.metrics,
            features=spec.feature_columns,
            mode=spec.mode,
            entity_key=spec.entity_key,
            columns={
                column: "categorical" if column in levels else "numeric"
                for column in spec.feature_columns
            },
            excluded=dict(self.bundle.tabular_spec.excluded) if TABLE_MODE else {},
        )
