"""The BentoML service LeadScorer: the routes of the served model's kind, bound to that model.

`leadscore serve` copies the champion into the BentoML model store and names it in
LEADSCORE_MODEL_TAG. An events model takes feature records (`{"followers": [...]}`) and raw
events; a table model takes its own columns (`{"leads": [...]}`), see serving.apis.
"""

from __future__ import annotations

import os

from serving.telemetry import disable_telemetry

# The switches must be set before BentoML is imported, whoever starts the service.
disable_telemetry()

import bentoml

from serving.apis import api_for

MODEL_TAG = os.environ.get("LEADSCORE_MODEL_TAG", "lead-scorer:latest")

LeadScorer = bentoml.service(name="lead_scorer", traffic={"timeout": 60})(api_for(MODEL_TAG))
