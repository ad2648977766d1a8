"""Commands that operate registered models: serve one, open the MLflow UI, promote, roll back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from leadscore.options import DEFAULT_MODEL, ModelName, ModelUri
from leadscore.show import console, fail


def tracking() -> str:
    """Point MLflow at the local store (or MLFLOW_TRACKING_URI); the URI."""
    from training.tracking import configure_tracking

    return configure_tracking(Path("mlruns"))


LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Default processes: one per core up to this; each holds the model and follows the champion.
MAX_WORKERS = 4


def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 3000,
    model: ModelUri = None,
    model_name: ModelName = DEFAULT_MODEL,
    api_key_file: Annotated[
        Path | None,
        typer.Option(
            "--api-key-file",
            help="A file holding the API key (or set LEADSCORE_API_KEY): scoring and /model then "
            "need 'Authorization: Bearer <key>'; /healthz, /readyz and /metrics stay open.",
        ),
    ] = None,
    insecure: Annotated[
        bool,
        typer.Option("--insecure", help="Serve on an address other than loopback without a key."),
    ] = False,
    follow_every: Annotated[
        float,
        typer.Option(
            "--follow-every",
            min=0,
            help="Seconds between looks at the registry's champion: a newly promoted version "
            "answers without a restart (0: never; --model URI: never).",
        ),
    ] = 30.0,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Server processes, each with the model (default: one per core, at most 4).",
        ),
    ] = None,
    service: Annotated[
        str, typer.Option(hidden=True, help="The BentoML service to run (benchmarks add routes).")
    ] = "serving.service:LeadScorer",
) -> None:
    """Serve the champion over HTTP with BentoML (OpenAPI at /docs.json, Swagger UI at /)."""
    from serving.model_store import champion_uri, import_to_bentoml

    env = dict(os.environ)
    if api_key_file is not None:
        if not api_key_file.is_file() or not api_key_file.read_text().strip():
            fail(f"--api-key-file {api_key_file}: no such file, or it is empty")
        env["LEADSCORE_API_KEY_FILE"] = str(api_key_file.resolve())
    keyed = bool(env.get("LEADSCORE_API_KEY") or env.get("LEADSCORE_API_KEY_FILE"))
    if host not in LOOPBACK and not keyed and not insecure:
        fail(
            f"--host {host} opens the service beyond this machine: set LEADSCORE_API_KEY or "
            "--api-key-file, or say --insecure"
        )
    env["MLFLOW_TRACKING_URI"] = tracking()  # the service reads the same registry
    if model is None and follow_every > 0:
        env |= {"LEADSCORE_FOLLOW": model_name, "LEADSCORE_FOLLOW_EVERY_S": str(follow_every)}
    try:
        tag = import_to_bentoml(model or champion_uri(model_name))
    except ValueError as error:
        fail(str(error))
    key = "with an API key" if keyed else "without an API key"
    cores = min(os.cpu_count() or 1, MAX_WORKERS)
    processes = workers or int(env.get("LEADSCORE_WORKERS") or cores)
    shown = f"{processes} process{'es' if processes > 1 else ''}"
    # One line, even piped into a log: it is what a log search finds.
    console().print(f"serving {tag} on http://{host}:{port} ({key}, {shown})", soft_wrap=True)
    command = [sys.executable, "-m", "bentoml", "serve", service]
    command += ["--host", host, "--port", str(port)]
    env["LEADSCORE_MODEL_TAG"] = tag
    env["LEADSCORE_WORKERS"] = str(processes)
    sys.stdout.flush()
    # The server takes this process's place, so a stop signal (docker stop, systemd) reaches it.
    os.execve(sys.executable, command, env)


def ui(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 5000,
) -> None:
    """Open the MLflow UI on the local store."""
    uri = tracking()
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    command += ["--host", host, "--port", str(port), "--workers", "1"]
    # Job workers would outlive the UI; nothing here needs them.
    env = os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    raise typer.Exit(subprocess.call(command, env=env))


def promote(
    version: Annotated[str, typer.Argument(help="Model version to make champion.")],
    model_name: ModelName = DEFAULT_MODEL,
) -> None:
    """Make a model version the champion."""
    from training import registry

    tracking()
    try:
        registry.promote(model_name, version)
    except Exception as error:  # noqa: BLE001  (MLflow raises its own types for a bad version)
        fail(f"{model_name} version {version}: {error}")
    console().print(f"{model_name} version {version} is now champion")


def rollback(model_name: ModelName = DEFAULT_MODEL) -> None:
    """Give the champion alias back to the previous champion."""
    from training import registry

    tracking()
    try:
        version = registry.rollback(model_name)
    except ValueError as error:
        fail(str(error))
    console().print(f"{model_name} champion rolled back to version {version}")
