"""The BentoML service LeadScorer: the routes of the served model's kind, bound to that model.

`leadscore serve` copies the champion into the BentoML model store and names it in
LEADSCORE_MODEL_TAG. An events model takes feature records (`{"followers": [...]}`) and raw
events; a table model takes its own columns (`{"leads": [...]}`), see serving.apis.
"""

from __future__ import annotations

import logging
import os

from serving.telemetry import disable_telemetry

# The switches must be set before BentoML is imported, whoever starts the service.
disable_telemetry()

import bentoml
from bentoml.exceptions import BentoMLException
from pydantic import ValidationError

from serving.apis import api_for
from serving.guard import Guard

MODEL_TAG = os.environ.get("LEADSCORE_MODEL_TAG", "lead-scorer:latest")
TIMEOUT_S = float(os.environ.get("LEADSCORE_TIMEOUT_S", "60"))


class _NoTracebackFor4xx(logging.Filter):
    """BentoML logs a traceback for every bad request; the guard logs one line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        client = isinstance(error, ValidationError) or (
            isinstance(error, BentoMLException) and error.error_code.value < 500
        )
        return not client


logging.getLogger("bentoml._internal.server.http_app").addFilter(_NoTracebackFor4xx())

# How the server runs: processes, and requests at once in each. Scoring is CPU work under the
# GIL and `leadscore serve` starts a process per core, so one thread each: on 2 cores a second
# thread per process cost 100-follower bodies 10-25 % of their followers/s (benchmarks/).
SERVICE_CONFIG: dict[str, object] = {
    "name": "lead_scorer",
    "traffic": {"timeout": TIMEOUT_S},
    "workers": int(os.environ.get("LEADSCORE_WORKERS", "1")),
    "threads": int(os.environ.get("LEADSCORE_THREADS", "1")),
}

LeadScorer = bentoml.service(**SERVICE_CONFIG)(api_for(MODEL_TAG))
LeadScorer.add_asgi_middleware(Guard)
