"""Nothing calls home: the opt-out switches that every entry point sets (CLI, service, tests)."""

from __future__ import annotations

import os

TELEMETRY_SWITCHES = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
}


def disable_telemetry() -> None:
    """Nothing may call home: set every library's opt-out switch (unless the user set it)."""
    for name, value in TELEMETRY_SWITCHES.items():
        os.environ.setdefault(name, value)
