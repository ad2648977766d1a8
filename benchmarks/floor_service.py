"""The served LeadScorer with two more routes, /noop and /noop_events: they take /score's and
/score_events' bodies and do nothing, so their timings are the framework's floor (parse, guard,
reply) for the benchmark to set beside each route.
"""

import bentoml

from serving.apis import REASONS, Reasons
from serving.guard import Guard
from serving.schemas import Event, FeatureRecord, Moment, Post, Profile, Score
from serving.service import SERVICE_CONFIG
from serving.service import LeadScorer as Served


class Floor(Served.inner):  # type: ignore[name-defined,misc]
    @bentoml.api(route="/noop")
    def noop(
        self,
        followers: list[FeatureRecord],  # type: ignore[valid-type]
        reasons: Reasons = REASONS,
    ) -> list[Score]:
        """Nothing: the floor of a /score request."""
        return []

    @bentoml.api(route="/noop_events")
    def noop_events(
        self,
        events: list[Event],
        profiles: list[Profile] | None = None,
        posts: list[Post] | None = None,
        as_of: Moment | None = None,
        reasons: Reasons = REASONS,
    ) -> list[Score]:
        """Nothing: the floor of a /score_events request."""
        return []


LeadScorer = bentoml.service(**SERVICE_CONFIG)(Floor)
LeadScorer.add_asgi_middleware(Guard)
