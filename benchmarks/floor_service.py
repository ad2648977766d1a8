"""The served LeadScorer with one more route, /noop: it takes /score's body and does nothing, so
its timing is the framework's floor (parse, guard, reply) for the benchmark to set beside /score.
"""

import bentoml

from serving.apis import REASONS, Reasons
from serving.guard import Guard
from serving.schemas import FeatureRecord, Score
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


LeadScorer = bentoml.service(**SERVICE_CONFIG)(Floor)
LeadScorer.add_asgi_middleware(Guard)
