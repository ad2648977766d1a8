"""Fuzz the running service with schemathesis: a small model trained in a scratch folder, served
on loopback behind a key, then every route of its spec (`make fuzz`). Prints schemathesis's
summary; exits non-zero on any failure (a 5xx, or a reply that does not match the spec)."""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from local_server import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[1]
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=200, help="Examples per route.")
    parser.add_argument("--table", action="store_true", help="Fuzz a table model instead.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadscore-fuzz-") as scratch:
        work = Path(scratch)
        env = os.environ | {
            "BENTOML_HOME": str(work / "bentoml"),
            "DO_NOT_TRACK": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "BENTOML_DO_NOT_TRACK": "true",
        }
        model = _train(work, env, args.table)
        key, port = secrets.token_urlsafe(16), free_port()
        # The version itself, promoted or not: a small table model may not pass the floor.
        serve = [*_leadscore(), "serve", "--model", f"models:/{model}/1", "--port", str(port)]
        log = (work / "server.log").open("w")
        server = subprocess.Popen(
            serve, cwd=work, env=env | {"LEADSCORE_API_KEY": key}, stdout=log, stderr=log,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_ready(f"http://127.0.0.1:{port}", server)
            return _fuzz(port, key, args.examples, env)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _leadscore() -> list[str]:
    return [sys.executable, "-m", "leadscore.cli"]


def _train(work: Path, env: dict[str, str], table: bool) -> str:
    """A small model in `work`'s store; its name."""
    quiet = subprocess.DEVNULL
    run = {"cwd": work, "env": env, "check": True, "stdout": quiet, "stderr": quiet}
    if table:
        subprocess.run(
            [*_leadscore(), "simulate", "--table", "leads.csv", "--leads", "2000"], **run
        )
        command = ["train", "--table", "leads.csv", "--target", "won", "--id", "lead_id",
                   "--time", "created"]  # fmt: skip
    else:
        simulate = ["simulate", "--followers", "2000", "--days", "120", "--out", "audience"]
        subprocess.run([*_leadscore(), *simulate], **run)
        command = ["train", "--data", "audience"]
    subprocess.run([*_leadscore(), *command, "--model-name", "fuzzed"], **run)
    return "fuzzed"


def _fuzz(port: int, key: str, examples: int, env: dict[str, str]) -> int:
    command = ["schemathesis", "run", f"http://127.0.0.1:{port}/docs.json", "--checks", CHECKS,
               "--continue-on-failure", "--max-examples", str(examples),
               "-H", f"Authorization: Bearer {key}"]  # fmt: skip
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
