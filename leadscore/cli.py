"""The `leadscore` command line: wires features, training and serving; holds no logic."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console

from serving.telemetry import disable_telemetry

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd

    from features.events.mapping import EventLogMapping
    from training.run import TrainResult
    from training.table import TableResult
    from training.tune import TuneResult

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
TableFile = Annotated[
    Path | None,
    typer.Option(
        "--table",
        exists=True,
        dir_okay=False,
        help="A lead table (.csv or .parquet), one row per lead, instead of --data.",
    ),
]
# Options of the events path (--data) that mean nothing for a lead table, and the reverse.
EVENTS_ONLY = (
    "data", "as_of", "horizon", "column_map", "event_map", "conversion_event", "time_unit",
)  # fmt: skip
TABLE_ONLY = ("target", "id_column", "exclude", "keep")


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
    from features.events.mapping import make_mapping

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
    from simulator.audience import SimulationConfig, simulate_audience, write_audience

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
    from features.events.load import load_tables
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
    ctx: typer.Context,
    data: DataDir = Path("data/audience"),
    model_name: ModelName = DEFAULT_MODEL,
    horizon: Annotated[int, typer.Option(min=1, help="Label horizon in days.")] = 28,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    column_map: ColumnMap = None,
    event_map: EventMap = None,
    conversion_event: ConversionEvent = None,
    time_unit: TimeUnit = None,
    trials: Annotated[
        int,
        typer.Option(
            min=0,
            help="Optuna trials over the LightGBM settings, judged on the validation period "
            "(--table: on a held-out 20% of the fit rows; 0: the fixed settings).",
        ),
    ] = 0,
    tune_metric: Annotated[
        Literal["log_loss", "pr_auc"],
        typer.Option("--tune-metric", help="Validation metric the trials optimise."),
    ] = "log_loss",
    table: TableFile = None,
    target: Annotated[
        str | None, typer.Option(help="--table: the 0/1 target column (e.g. Converted).")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option("--id", help="--table: the lead id column (unique per row).")
    ] = None,
    exclude: Annotated[
        str | None,
        typer.Option(help="--table: columns to leave out, COL,COL (e.g. post-contact fields)."),
    ] = None,
    keep: Annotated[
        str | None,
        typer.Option(help="--table: columns to keep although the leakage audit flags them."),
    ] = None,
) -> None:
    """Train on time-ordered snapshots (or a lead table with --table), log to MLflow, register
    and promote if better."""
    if table is not None or _given(ctx, TABLE_ONLY):
        _train_table(
            ctx, table, target, id_column, exclude, keep, model_name, seed, trials, tune_metric
        )
        return
    from training.config import TrainConfig
    from training.run import train as run_training

    mapping = _mapping(column_map, event_map, conversion_event, time_unit)
    uri = _tracking()
    config = TrainConfig(
        data_dir=data,
        model_name=model_name,
        horizon_days=horizon,
        seed=seed,
        mapping=mapping,
        trials=trials,
        tune_metric=tune_metric,
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
        f"out-of-time test period: {int(metrics['rows']):,} rows, base rate "
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
    valid = result.valid_metrics
    if valid:
        console.print(
            f"validation period (earlier; tuning and score cut-offs): ROC AUC "
            f"{valid['roc_auc']:.3f}, PR AUC {valid['pr_auc']:.3f}, log loss "
            f"{valid['log_loss']:.4f} on {int(valid['rows']):,} rows"
        )
    _print_tuning(console, result.tuning)
    console.print(
        f"run {result.run_id} -> {model_name} version {result.version} (store {uri})\n"
        + ("promoted to champion: " if result.promoted else "stays challenger: ")
        + result.reason
    )


def _print_tuning(console: Console, tuning: TuneResult | None) -> None:
    if tuning is not None:
        best = ", ".join(f"{k}={v:.4g}" for k, v in tuning.best_params.items())
        console.print(
            f"tuning: {tuning.n_trials} trials ({tuning.n_pruned} pruned), best validation "
            f"{tuning.metric} {tuning.best_value:.4f} (trial {tuning.best_trial}): {best}"
        )


def _given(ctx: typer.Context, names: Sequence[str]) -> list[str]:
    """The options among `names` set by the user (not left at their defaults), as flags."""
    params = {param.name: param for param in ctx.command.params}
    # By name: typer ships its own copy of click, whose ParameterSource is another enum.
    sources = {name: getattr(ctx.get_parameter_source(name), "name", None) for name in params}
    return [
        params[name].opts[0]
        for name in names
        if sources.get(name) in ("COMMANDLINE", "ENVIRONMENT", "PROMPT")
    ]


def _refuse_events_options(ctx: typer.Context) -> None:
    given = _given(ctx, EVENTS_ONLY)
    if given:
        _fail(f"--data and --table are mutually exclusive: {', '.join(given)} apply to --data")


def _columns(text: str | None) -> tuple[str, ...]:
    return tuple(column.strip() for column in (text or "").split(",") if column.strip())


def _train_table(
    ctx: typer.Context,
    table: Path | None,
    target: str | None,
    id_column: str | None,
    exclude: str | None,
    keep: str | None,
    model_name: str,
    seed: int,
    trials: int,
    tune_metric: str,
) -> None:
    """`train --table`: a lead table instead of an events folder."""
    if table is None:
        _fail(f"{', '.join(_given(ctx, TABLE_ONLY))}: only with --table FILE")
    _refuse_events_options(ctx)
    if target is None or id_column is None:
        _fail("--table needs --target COL (the 0/1 outcome) and --id COL (the lead id)")
    from training.table import TableConfig, train_table

    uri = _tracking()
    config = TableConfig(
        table_path=table,
        id_column=id_column,
        target=target,
        exclude=_columns(exclude),
        keep=_columns(keep),
        model_name=model_name,
        seed=seed,
        trials=trials,
        tune_metric=tune_metric,
    )
    try:
        result = train_table(config)
    except ValueError as error:
        _fail(str(error))
    _print_table_run(result, model_name, uri)


def _print_table_run(result: TableResult, model_name: str, uri: str) -> None:
    from rich.table import Table

    console = _console()
    left_out = Table(title="columns left out of the model")
    left_out.add_column("column", no_wrap=True)
    left_out.add_column("why")
    for column, why in result.excluded:
        left_out.add_row(column, why)
    for column, evidence in result.kept:
        left_out.add_row(f"({column})", f"kept by --keep although the audit flagged it: {evidence}")
    console.print(left_out)
    metrics, rows = result.metrics, result.rows
    table = Table(
        title=f"held-out test: {rows['test']:,} leads (stratified random split), base rate "
        f"{metrics['base_rate']:.3f}; trained on {rows['fit']:,}, early stopping and "
        f"calibration on {rows['valid']:,}"
    )
    shown = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_top10", "recall_top10")
    headers = ("ROC AUC", "PR AUC", "log loss", "Brier", "ECE", "lift@10%", "recall@10%")
    table.add_column("model", no_wrap=True)
    for header in (*headers, "accuracy"):
        table.add_column(header, justify="right")
    for name, values in {"LightGBM (calibrated)": metrics, **result.baselines}.items():
        table.add_row(name, *(f"{values[key]:.3f}" for key in (*shown, "accuracy")))
    base = metrics["base_rate"]
    constant = (f"{metrics['log_loss_baseline']:.3f}", f"{metrics['brier_baseline']:.3f}")
    table.add_row("base rate", "0.5", f"{base:.3f}", *constant, "", "1.0", "0.1", "")
    console.print(table)
    _print_tuning(console, result.tuning)
    console.print(
        f"run {result.run_id} -> {model_name} version {result.version} (store {uri})\n"
        + ("promoted to champion: " if result.promoted else "stays challenger: ")
        + result.reason
    )


@app.command()
def score(
    ctx: typer.Context,
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
    table: TableFile = None,
) -> None:
    """Score every follower of a data folder as of a date (or every row of a lead table with
    --table), with the champion by default."""
    if table is not None:
        _score_table(ctx, table, out, model, model_name, top, reasons)
        return
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


def _score_table(
    ctx: typer.Context,
    table: Path,
    out: Path,
    model: str | None,
    model_name: str,
    top: int,
    reasons: int,
) -> None:
    """`score --table`: every row of a lead table, with a table-mode model."""
    _refuse_events_options(ctx)
    from features.io import write_table
    from serving.batch import score_table
    from serving.model_store import champion_uri, load_registered
    from serving.scoring import flatten_reasons

    _tracking()
    try:
        bundle, version = load_registered(model or champion_uri(model_name))
        scores = score_table(table, bundle, version, reasons)
        write_table(flatten_reasons(scores) if out.suffix == ".csv" else scores, out)
    except ValueError as error:
        _fail(str(error))
    _print_top(scores, top, f"{len(scores):,} leads of {table.name} scored -> {out}")


def _print_top(scores: pd.DataFrame, top: int, title: str) -> None:
    from rich.table import Table

    key = scores.columns[0]  # follower_id, or a table model's own id column
    table = Table(title=title)
    for column in (key, "probability", "score", "tier", "why"):
        table.add_column(column)
    for _, row in scores.nlargest(top, "probability").iterrows():
        why = "; ".join(row["reasons_up"])
        table.add_row(
            str(row[key]), f"{row['probability']:.3f}", str(row["score"]), row["tier"], why
        )
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
