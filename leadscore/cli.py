"""The `leadscore` command line: wires features, training and serving; holds no logic."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from features.runtime import disable_telemetry

if TYPE_CHECKING:
    import pandas as pd

    from features.mapping import EventLogMapping
    from training.train import TrainResult

app = typer.Typer(
    name="leadscore",
    help="Lead scoring for social-media audiences: simulate, build features, train, score, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DataDir = Annotated[
    Path,
    typer.Option(
        "--data",
        help="Folder with followers, interactions, ... or one .csv/.parquet events file. "
        "Without a followers table, followers are derived from the events "
        "(followed_at = first event, platform 'unknown').",
    ),
]
ColumnMap = Annotated[
    str | None,
    typer.Option(
        "--map",
        help="Rename source columns: SRC=DST,... e.g. "
        "user_id=follower_id,behavior_type=event_type,timestamp=occurred_at.",
    ),
]
EventMap = Annotated[
    str | None,
    typer.Option(
        "--event-map",
        help="Rename source event types: SRC=OURS,... e.g. pv=view,fav=save,cart=click "
        "(unmapped unknown types count as 'other').",
    ),
]
ConversionEvent = Annotated[
    str | None,
    typer.Option(
        "--conversion-event",
        help="Source event type that means 'converted', e.g. buy: a follower's first one is "
        "the conversion, and these events are dropped from the features.",
    ),
]
TimeUnit = Annotated[
    str | None,
    typer.Option(
        "--time-unit", help="Unit of numeric times: s, ms, us or ns (default: by magnitude)."
    ),
]
ModelName = Annotated[str, typer.Option("--model-name", help="Registered model name.")]
DEFAULT_MODEL = "lead-scorer"


@app.callback()
def _setup(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    disable_telemetry()
    from rich.logging import RichHandler

    logging.basicConfig(
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(show_path=False, console=_console(stderr=True))],
    )
    for package in ("features", "training", "serving", "leadscore"):
        logging.getLogger(package).setLevel(logging.DEBUG if verbose else logging.INFO)


def _console(stderr: bool = False) -> Console:

    return Console(stderr=stderr)


def _fail(message: str) -> None:
    _console(stderr=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=1)


def _mapping(
    columns: str | None, event_types: str | None, conversion: str | None, unit: str | None
) -> EventLogMapping | None:
    from features.mapping import make_mapping

    try:
        return make_mapping(columns, event_types, conversion, unit)
    except ValueError as error:
        _fail(str(error))


def _tracking() -> str:
    from training.tracking import configure_tracking

    return configure_tracking(Path("mlruns"))


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the tables to.")] = Path(
        "data/audience"
    ),
    followers: Annotated[int, typer.Option(min=10, help="Number of followers.")] = 20_000,
    days: Annotated[int, typer.Option(min=30, help="Days of activity.")] = 240,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    start: Annotated[str, typer.Option(help="First day (UTC), YYYY-MM-DD.")] = "2026-01-01",
    horizon: Annotated[int, typer.Option(min=1, help="Horizon of the oracle, in days.")] = 28,
) -> None:
    """Simulate a social audience: followers, posts, interactions, conversions and the oracle."""
    from features.simulate import SimulationConfig, simulate_audience, write_audience

    config = SimulationConfig(
        n_followers=followers, days=days, seed=seed, start=start, horizon_days=horizon
    )
    audience = simulate_audience(config)
    paths = write_audience(audience, out)
    _console().print(
        f"simulated {len(audience.followers):,} followers, {len(audience.interactions):,} "
        f"interactions, {len(audience.conversions):,} conversions -> {out}/ "
        f"({', '.join(sorted(p.name for p in paths.values()))})"
    )


@app.command()
def features(
    data: DataDir,
    as_of: Annotated[str, typer.Option("--as-of", help="Cutoff date or time (UTC).")],
    out: Annotated[Path, typer.Option(help="Output .csv or .parquet file.")],
    column_map: ColumnMap = None,
    event_map: EventMap = None,
    conversion_event: ConversionEvent = None,
    time_unit: TimeUnit = None,
) -> None:
    """Write the point-in-time feature table of every follower as of a date."""
    from features.build import build_follower_features
    from features.events import load_tables
    from features.io import write_table
    from features.labels import select_snapshot_followers

    mapping = _mapping(column_map, event_map, conversion_event, time_unit)
    try:
        tables = load_tables(data, mapping)
        followers = select_snapshot_followers(tables.followers, tables.conversions, as_of)
        table = build_follower_features(tables.interactions, followers, as_of, tables.posts)
        write_table(table.reset_index(), out)
    except ValueError as error:
        _fail(str(error))
    _console().print(f"{len(table):,} followers x {table.shape[1]} features -> {out}")


@app.command()
def train(
    data: DataDir = Path("data/audience"),
    model_name: ModelName = DEFAULT_MODEL,
    horizon: Annotated[int, typer.Option(min=1, help="Label horizon in days.")] = 28,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    column_map: ColumnMap = None,
    event_map: EventMap = None,
    conversion_event: ConversionEvent = None,
    time_unit: TimeUnit = None,
) -> None:
    """Train on time-ordered snapshots, log to MLflow, register and promote if better."""
    from training.config import TrainConfig
    from training.train import train as run_training

    mapping = _mapping(column_map, event_map, conversion_event, time_unit)
    uri = _tracking()
    config = TrainConfig(
        data_dir=data, model_name=model_name, horizon_days=horizon, seed=seed, mapping=mapping
    )
    try:
        result = run_training(config)
    except ValueError as error:
        _fail(str(error))
    _print_run(result, model_name, uri)


def _print_run(result: TrainResult, model_name: str, uri: str) -> None:
    from rich.table import Table

    metrics = result.metrics
    oracle = metrics.get("oracle_roc_auc")
    title = (
        f"out-of-time validation: {int(metrics['rows']):,} rows, base rate "
        f"{metrics['base_rate']:.3f}" + (f", oracle ROC AUC {oracle:.3f}" if oracle else "")
    )
    table = Table(title=title)
    shown = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_top10", "recall_top10")
    headers = ("ROC AUC", "PR AUC", "log loss", "Brier", "ECE", "lift@10%", "recall@10%")
    table.add_column("model", no_wrap=True)
    for header in headers:
        table.add_column(header, justify="right")
    for name, values in {"LightGBM": metrics, **result.baselines}.items():
        table.add_row(name, *(f"{values[key]:.3f}" for key in shown))
    log_loss, brier = metrics["log_loss_baseline"], metrics["brier_baseline"]
    base = f"{metrics['base_rate']:.3f}"
    table.add_row("base rate", "0.5", base, f"{log_loss:.3f}", f"{brier:.3f}", "", "1.0", "0.1")
    console = _console()
    console.print(table)
    console.print(
        f"run {result.run_id} -> {model_name} version {result.version} (store {uri})\n"
        + ("promoted to champion: " if result.promoted else "stays challenger: ")
        + result.reason
    )


@app.command()
def score(
    out: Annotated[Path, typer.Option(help="Output .csv or .parquet file.")],
    data: DataDir = Path("data/audience"),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Cutoff (UTC); default: the day after the data.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="MLflow model URI; default: models:/NAME@champion.")
    ] = None,
    model_name: ModelName = DEFAULT_MODEL,
    top: Annotated[int, typer.Option(min=0, help="Print this many top leads.")] = 10,
    reasons: Annotated[
        int, typer.Option(min=0, max=10, help="Reasons up and down per follower (0: none).")
    ] = 3,
    column_map: ColumnMap = None,
    event_map: EventMap = None,
    conversion_event: ConversionEvent = None,
    time_unit: TimeUnit = None,
) -> None:
    """Score every follower of a data folder as of a date, with the champion by default."""

    from features.io import write_table
    from serving.batch import score_data_dir
    from serving.model_store import champion_uri, load_registered
    from serving.scoring import flatten_reasons

    mapping = _mapping(column_map, event_map, conversion_event, time_unit)
    _tracking()
    try:
        bundle, version = load_registered(model or champion_uri(model_name))
        scores = score_data_dir(data, as_of, bundle, version, mapping, reasons)
        # CSV has no lists: the reasons become one "; "-separated text cell each.
        write_table(flatten_reasons(scores) if out.suffix == ".csv" else scores, out)
    except ValueError as error:
        _fail(str(error))
    cutoff = scores.attrs["as_of"]
    _print_top(scores, top, f"{len(scores):,} followers scored as of {cutoff} -> {out}")


def _print_top(scores: pd.DataFrame, top: int, title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in ("follower_id", "probability", "score", "tier", "why"):
        table.add_column(column)
    for row in scores.nlargest(top, "probability").itertuples(index=False):
        why = "; ".join(row.reasons_up)
        table.add_row(row.follower_id, f"{row.probability:.3f}", str(row.score), row.tier, why)
    _console().print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 3000,
    model: Annotated[
        str | None, typer.Option(help="MLflow model URI; default: models:/NAME@champion.")
    ] = None,
    model_name: ModelName = DEFAULT_MODEL,
) -> None:
    """Serve the champion over HTTP with BentoML (OpenAPI at /docs.json, Swagger UI at /)."""
    from serving.model_store import champion_uri, import_to_bentoml

    _tracking()
    try:
        tag = import_to_bentoml(model or champion_uri(model_name))
    except ValueError as error:
        _fail(str(error))
    _console().print(f"serving {tag} on http://{host}:{port}")
    command = [sys.executable, "-m", "bentoml", "serve", "serving.service:LeadScorer"]
    command += ["--host", host, "--port", str(port)]
    env = os.environ | {"LEADSCORE_MODEL_TAG": tag}
    raise typer.Exit(subprocess.call(command, env=env))


@app.command()
def ui(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 5000,
) -> None:
    """Open the MLflow UI on the local store."""
    uri = _tracking()
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri]
    command += ["--host", host, "--port", str(port), "--workers", "1"]
    # Job workers would outlive the UI; nothing here needs them.
    env = os.environ | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    raise typer.Exit(subprocess.call(command, env=env))


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="Model version to make champion.")],
    model_name: ModelName = DEFAULT_MODEL,
) -> None:
    """Make a model version the champion."""
    from training import registry

    _tracking()
    try:
        registry.promote(model_name, version)
    except Exception as error:  # noqa: BLE001  (MLflow raises its own types for a bad version)
        _fail(f"{model_name} version {version}: {error}")
    _console().print(f"{model_name} version {version} is now champion")


@app.command()
def rollback(model_name: ModelName = DEFAULT_MODEL) -> None:
    """Give the champion alias back to the previous champion."""
    from training import registry

    _tracking()
    try:
        version = registry.rollback(model_name)
    except ValueError as error:
        _fail(str(error))
    _console().print(f"{model_name} champion rolled back to version {version}")


if __name__ == "__main__":
    app()
