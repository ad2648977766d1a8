"""The routes of the service, one class per kind of model: events models and table models."""

# No `from __future__ import annotations`: BentoML reads the route signatures at class creation,
# and a table model's record type exists only inside `table_api`.

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import bentoml
import pandas as pd
from bentoml.exceptions import InvalidArgument, NotFound
from pydantic import Field
from pydantic_core import to_json
from starlette.responses import Response

from features.records import record_features
from features.schema import DEFAULT_FEATURE_CONFIG, FeatureConfig
from features.tabular.spec import TabularSpec
from serving.follow import ChampionWatch, Served
from serving.model.bundle import ScoringBundle, load_bundle, load_spec
from serving.model.spec import EventsInput, ModelSpec, TableInput
from serving.requests import records_to_rows, records_to_table
from serving.schemas import (
    Event,
    LeadScore,
    ModelInfo,
    Moment,
    Post,
    Profile,
    Score,
    feature_record_model,
    table_record_model,
)
from serving.scoring import DEFAULT_REASONS, Scores, score_frame, score_rows

logger = logging.getLogger(__name__)

# Reasons up and down per score: the request's `reasons`, else the server's default.
REASONS = int(os.environ.get("LEADSCORE_REASONS", DEFAULT_REASONS))
Reasons = Annotated[
    int,
    Field(ge=0, le=5, description="Reasons up and down per score (0: none, faster)."),
]


class ServedModel:
    """What every kind shares: the model loaded from the BentoML store, and /model."""

    model_ref: bentoml.models.BentoModel

    def __init__(self) -> None:
        stored = bentoml.models.get(self.model_ref.tag)
        labels = stored.info.labels
        self.model_name = labels.get("model_name", stored.tag.name)
        version = labels.get("model_version", str(stored.tag.version))
        self.served = Served.now(load_bundle(stored.path_of("mlflow_model")), version)
        logger.info("serving %s version %s", self.model_name, version)
        self.watch = ChampionWatch.from_env(lambda: self.served, self._swap)
        self.watch.start()

    def _swap(self, served: Served) -> None:
        # One assignment: a request that already took `self.served` finishes with its version.
        self.served = served

    @property
    def bundle(self) -> ScoringBundle:
        return self.served.bundle

    @property
    def model_version(self) -> str:
        return self.served.version

    def scores(self, features: pd.DataFrame, served: Served, reasons: int) -> Scores:
        """The scoring function of batch scoring, on prepared features."""
        return score_frame(features, served.bundle, served.version, reasons)

    def excluded(self) -> dict[str, str]:
        """Columns left out of the model, and why (only lead tables have any)."""
        return {}

    def events_scores(
        self,
        events: list[Event],
        profiles: list[Profile] | None,
        posts: list[Post] | None,
        as_of: datetime | None,
        reasons: int = REASONS,
    ) -> list[Score]:
        """Scores from raw events; a model that does not read events answers 400."""
        raise InvalidArgument(
            f"{self.model_name} version {self.model_version} is a {self.bundle.spec.kind}-mode "
            "model: it scores lead rows posted to /score, not events"
        )

    @bentoml.api(route="/score_events")
    def score_events(
        self,
        events: list[Event],
        profiles: list[Profile] | None = None,
        posts: list[Post] | None = None,
        as_of: Moment | None = None,
        reasons: Reasons = REASONS,
    ) -> list[Score]:
        """Score followers from raw events before `as_of` (default: now), as training does.

        Profiles and posts are optional: without posts the content features are missing.
        """
        return self.events_scores(events, profiles, posts, as_of, reasons)

    @bentoml.api(route="/model")
    def model(self) -> ModelInfo:
        """The model answering: name, version, training time, held-out test metrics, features."""
        served = self.served
        spec = served.bundle.spec
        levels = spec.categorical_levels
        return ModelInfo(
            name=self.model_name,
            version=served.version,
            serving_since=served.since,
            follows=self.watch.describe() or "",
            last_failure=self.watch.failure or "",
            trained_at=spec.trained_at,
            feature_version=spec.feature_version,
            horizon_days=spec.inputs.horizon_days,
            metrics=spec.metrics,
            features=spec.feature_columns,
            mode=spec.kind,
            entity_key=spec.entity_key,
            columns={
                column: "categorical" if column in levels else "numeric"
                for column in spec.feature_columns
            },
            excluded=self.excluded(),
        )


def _reply(scores: Scores, key: str | None = None) -> Response:
    """The scores as the JSON reply, written directly (the route's annotation still declares
    its schema): BentoML would build a model per row and a JSON schema per reply."""
    return Response(to_json(scores.records(key)), media_type="application/json")


def events_api(config: FeatureConfig) -> type[ServedModel]:
    """The routes of an events model: /score takes feature records with its own windows."""
    FollowerRecord = feature_record_model(config)  # noqa: N806  (a type, named like one)

    class EventsAPI(ServedModel):
        """Lead scores for followers, from feature records (/score) or raw events
        (/score_events)."""

        @bentoml.api(route="/score")
        def score(
            self,
            followers: list[FollowerRecord],  # type: ignore[valid-type]
            reasons: Reasons = REASONS,
        ) -> list[Score]:
            """Score followers from their feature values."""
            served = self.served
            bundle = served.bundle
            try:
                rows = records_to_rows(followers, bundle.spec.feature_columns, config)
            except ValueError as error:
                raise InvalidArgument(str(error)) from None
            matrix = bundle.encoder.rows(rows.table)
            return _reply(
                score_rows(rows.ids, rows.values, matrix, bundle, served.version, reasons)
            )  # type: ignore[return-value]  (the annotation is the reply's schema)

        def events_scores(
            self,
            events: list[Event],
            profiles: list[Profile] | None,
            posts: list[Post] | None,
            as_of: datetime | None,
            reasons: int = REASONS,
        ) -> list[Score]:
            """Score followers from raw events before `as_of` (default: now), as training does."""
            moment = as_of if as_of is not None else datetime.now(UTC)
            try:
                found = record_features(events, profiles or [], posts or [], moment, config)
            except ValueError as error:
                raise InvalidArgument(str(error)) from None
            served = self.served
            bundle = served.bundle
            values = [found.columns[column] for column in bundle.spec.feature_columns]
            matrix = bundle.encoder.arrays(found.columns)
            return _reply(score_rows(found.ids, values, matrix, bundle, served.version, reasons))  # type: ignore[return-value]

    return EventsAPI


EventsAPI = events_api(DEFAULT_FEATURE_CONFIG)


def table_api(table: TabularSpec) -> type[ServedModel]:
    """The routes of a table model: /score takes that model's own columns."""
    LeadRecord = table_record_model(table)  # noqa: N806  (a type, named like one)

    class TableAPI(ServedModel):
        """Lead scores for the rows of a lead table, from the columns the model learnt from."""

        def excluded(self) -> dict[str, str]:
            return dict(table.excluded)

        @bentoml.api(route="/score")
        def score(
            self,
            leads: list[LeadRecord],  # type: ignore[valid-type]
            reasons: Reasons = REASONS,
        ) -> list[LeadScore]:
            """Score leads from their columns, named as in the table the model learnt from."""
            if not leads:
                return []
            try:
                served = self.served
                rows = served.bundle.prepare(records_to_table(leads))
                scores = self.scores(rows, served, reasons)
            except ValueError as error:
                raise InvalidArgument(str(error)) from None
            return _reply(scores, key="id")  # type: ignore[return-value]

    return TableAPI


# How each kind of model is served: its routes, made from its spec.
ROUTES: dict[type, Callable[[ModelSpec], type[ServedModel]]] = {
    EventsInput: lambda spec: events_api(spec.expect(EventsInput).features),
    TableInput: lambda spec: table_api(spec.expect(TableInput).columns),
}


def api_for(tag: str) -> type[ServedModel]:
    """The routes for the model stored under `tag`, bound to it.

    Without that model in the store the events routes are declared, and starting the
    service then says the model is missing.
    """
    spec = _stored_spec(tag)
    routes = EventsAPI if spec is None else ROUTES[type(spec.inputs)](spec)
    return type("LeadScorer", (routes,), {"model_ref": bentoml.models.BentoModel(tag)})


def _stored_spec(tag: str) -> ModelSpec | None:
    try:
        stored = bentoml.models.get(tag)
    except NotFound:
        return None
    return load_spec(stored.path_of("mlflow_model"))
