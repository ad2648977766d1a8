"""schemathesis over the served spec, with a key: no 5xx, and every reply as the spec says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving.conftest import _serve

pytestmark = pytest.mark.slow

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"


def test_fuzzing_the_events_service_finds_nothing(bento_tag):
    key = "fuzz-key"
    with _serve(bento_tag, LEADSCORE_API_KEY=key) as url:
        command = [
            str(Path(sys.executable).with_name("schemathesis")), "run", f"{url}/docs.json",
            "--checks", CHECKS, "--continue-on-failure", "--max-examples", "30",
            "--seed", "1", "-H", f"Authorization: Bearer {key}",
        ]  # fmt: skip
        run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "No issues found" in run.stdout
