"""The `leadscore` command line: parse the options, make the config, call, show. No logic."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape

from leadscore.operate import promote, rollback, serve, tracking, ui
from leadscore.options import (
    DEFAULT_MODEL,
    BadRows,
    ColumnMap,
    ConversionEvent,
    DaskAddress,
    DataDir,
    Delimiter,
    Encoding,
    EventMap,
    Exclude,
    HeaderColumns,
    Horizon,
    IdColumn,
    Keep,
    MinHistory,
    ModelName,
    ModelUri,
    Ordered,
    OutFile,
    OutputFormat,
    SnapshotEvery,
    TableFile,
    Target,
    TestSnapshots,
    TimeColumn,
    TimeUnit,
    ValidSnapshots,
    Windows,
)
from leadscore.show import console, fail, log_handler, one_line, quiet_libraries
from leadscore.sources import (
    event_mapping,
    feature_config,
    read_options,
    refuse_events_options,
    source_settings,
)
from serving.telemetry import disable_telemetry

if TYPE_CHECKING:
    from serving.model.bundle import ScoringBundle
    from serving.model.drift import DriftCounts
    from training.sources.base import SourceSettings

app = typer.Typer(
    name="leadscore",
    help="Lead scoring for social-media audiences: simulate, build features, train, score, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _setup(
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Debug logs, and MLflow's and BentoML's own notices."),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="On an unexpected failure, show the traceback.")
    ] = False,
) -> None:
    disable_telemetry()
    quiet_libraries(verbose)
    logging.basicConfig(level=logging.WARNING, handlers=[log_handler()])
    for package in ("features", "simulator", "training", "serving", "leadscore"):
        logging.getLogger(package).setLevel(logging.DEBUG if verbose else logging.INFO)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="Folder to write the tables to.")] = Path(
        "data/audience"
    ),
    followers: Annotated[int, typer.Option(min=10, help="Number of followers.")] = 20_000,
    days: Annotated[int, typer.Option(min=7, help="Days of activity.")] = 240,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    start: Annotated[str, typer.Option(help="First day (UTC), YYYY-MM-DD.")] = "2026-01-01",
    horizon: Annotated[int, typer.Option(min=1, help="Horizon of the oracle, in days.")] = 28,
    table: Annotated[
        Path | None,
        typer.Option(
            "--table",
            help="Write a CRM lead table with dates (.csv or .parquet; one row per lead, "
            "outcome 'won') instead of an audience; --leads rows over --days.",
        ),
    ] = None,
    leads: Annotated[int, typer.Option(min=100, help="--table: number of leads.")] = 8_000,
) -> None:
    """Simulate a social audience: followers, posts, interactions, conversions and the oracle."""
    from simulator.audience import simulate_to_folder
    from simulator.config import SimulationConfig

    if table is not None:
        _simulate_table(table, leads, days, seed, start)
        return

    config = SimulationConfig(
        n_followers=followers, days=days, seed=seed, start=start, horizon_days=horizon
    )
    rows = simulate_to_folder(config, out)
    console().print(
        f"simulated {rows['followers']:,} followers, {rows['interactions']:,} "
        f"interactions, {rows['conversions']:,} conversions -> {out}/ "
        f"({', '.join(sorted(f'{name}.parquet' for name in rows))})"
    )


def _simulate_table(out: Path, leads: int, days: int, seed: int, start: str) -> None:
    from features.write import write_table
    from simulator.leads import LeadTableConfig, simulate_lead_table

    if out.suffix not in (".csv", ".parquet"):
        fail(f"--table {out}: must end in .csv or .parquet")
    rows = simulate_lead_table(LeadTableConfig(leads, days, seed, start))
    write_table(rows, out)
    console().print(
        f"simulated {len(rows):,} leads over {days} days from {start} "
        f"({rows['won'].mean():.1%} won) -> {out}",
        highlight=False,
    )


@app.command()
def features(
    ctx: typer.Context,
    data: DataDir,
    as_of: Annotated[str, typer.Option("--as-of", help="Cutoff date or time (UTC).")],
    out: OutFile,
    column_map: ColumnMap = None,
    event_map: EventMap = None,
    conversion_event: ConversionEvent = None,
    time_unit: TimeUnit = None,
    names: HeaderColumns = None,
    delimiter: Delimiter = None,
    encoding: Encoding = "utf-8",
    bad_rows: BadRows = "error",
    windows: Annotated[
        str | None,
        typer.Option(
            "--windows",
            help="Feature windows in days (default 7,30,90); a model trained on a short log "
            "reads its own (leadscore inspect and /model say which).",
        ),
    ] = None,
    dask: DaskAddress = None,
) -> None:
    """Write the point-in-time feature table of every follower as of a date."""
    from features.build import build_follower_features
    from features.cluster import cluster_features, dask_client
    from features.events.load import load_tables
    from features.labels import select_snapshot_followers
    from features.memory import reuse_memory
    from features.write import write_table

    mapping, read = event_mapping(ctx), read_options(ctx)
    config = feature_config(windows)
    reuse_memory()  # one pass over the log: its freed arrays serve the next ones
    try:
        tables = load_tables(data, mapping, read)
        followers = select_snapshot_followers(tables.followers, tables.conversions, as_of)
        inputs = (tables.interactions, followers, as_of, tables.posts, config)
        if dask is None:
            table = build_follower_features(*inputs)
        else:
            with dask_client(dask) as client:
                table = cluster_features(client, *inputs)
        write_table(table.reset_index(), out)
    except ValueError as error:
        fail(str(error))
    console().print(f"{len(table):,} followers x {table.shape[1]} features -> {out}")


@app.command()
def train(
    ctx: typer.Context,
    data: DataDir = Path("data/audience"),
    model_name: ModelName = DEFAULT_MODEL,
    horizon: Horizon = 28,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    column_map: ColumnMap = None,
    event_map: EventMap = None,
    conversion_event: ConversionEvent = None,
    time_unit: TimeUnit = None,
    names: HeaderColumns = None,
    delimiter: Delimiter = None,
    encoding: Encoding = "utf-8",
    bad_rows: BadRows = "error",
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
    target: Target = None,
    id_column: IdColumn = None,
    exclude: Exclude = None,
    keep: Keep = None,
    time_column: TimeColumn = None,
    ordered: Ordered = False,
    windows: Windows = None,
    snapshot_every: SnapshotEvery = None,
    min_history: MinHistory = None,
    valid_snapshots: ValidSnapshots = None,
    test_snapshots: TestSnapshots = None,
    output: OutputFormat = "text",
    dask: DaskAddress = None,
) -> None:
    """Train on event snapshots or a lead table (--table); log, register, promote if better.

    With --dask the snapshots' features are made on the workers and the trees grow there
    (LightGBM's data-parallel learner); the model matches one machine's closely, not exactly.
    """
    _run(source_settings(ctx), model_name, seed, trials, tune_metric, output, dask)


@app.command()
def inspect(
    ctx: typer.Context,
    data: DataDir = Path("data/audience"),
    horizon: Horizon = 28,
    column_map: ColumnMap = None,
    event_map: EventMap = None,
    conversion_event: ConversionEvent = None,
    time_unit: TimeUnit = None,
    names: HeaderColumns = None,
    delimiter: Delimiter = None,
    encoding: Encoding = "utf-8",
    bad_rows: BadRows = "error",
    windows: Windows = None,
    snapshot_every: SnapshotEvery = None,
    min_history: MinHistory = None,
    valid_snapshots: ValidSnapshots = None,
    test_snapshots: TestSnapshots = None,
    table: TableFile = None,
    target: Target = None,
    id_column: IdColumn = None,
    exclude: Exclude = None,
    keep: Keep = None,
    time_column: TimeColumn = None,
    ordered: Ordered = False,
    output: OutputFormat = "text",
) -> None:
    """Check data before training: what is read, how it maps, the plan or split, the audit."""
    from leadscore.show import print_json, show_inspection
    from training.inspect import inspect_events, inspect_table
    from training.sources.table import LeadTable

    settings = source_settings(ctx)
    is_table = isinstance(settings, LeadTable)
    found = inspect_table(settings) if is_table else inspect_events(settings)  # type: ignore[arg-type]
    if output == "json":
        print_json(found.to_dict())
    else:
        show_inspection(found)
    if not found.ok:
        fail(f"training would not run: {found.problem}")


def _run(
    source: SourceSettings,
    model_name: str,
    seed: int,
    trials: int,
    metric: str,
    output: str,
    dask: str | None = None,
) -> None:
    from leadscore.show import print_json, run_record, show_plan, show_run
    from training import config
    from training.run import train as run_training

    uri = tracking()
    try:
        settings = config.RunConfig(
            source, model_name=model_name, seed=seed, trials=trials, tune_metric=metric, dask=dask
        )
        shown = None if output == "json" else (lambda data: show_plan(data.describe()))
        result = run_training(settings, loaded=shown)
    except ValueError as error:
        fail(str(error))
    if output == "json":
        print_json(run_record(result, model_name, uri))
    else:
        show_run(result, model_name, uri)


@app.command()
def score(
    ctx: typer.Context,
    out: OutFile,
    data: DataDir = Path("data/audience"),
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Cutoff (UTC); default: the day after the data.")
    ] = None,
    model: ModelUri = None,
    model_name: ModelName = DEFAULT_MODEL,
    top: Annotated[int, typer.Option(min=0, help="Print this many top leads.")] = 10,
    reasons: Annotated[
        int, typer.Option(min=0, max=10, help="Reasons up and down per follower (0: none).")
    ] = 3,
    followers: Annotated[
        Path | None,
        typer.Option(
            "--followers",
            exists=True,
            dir_okay=False,
            help="Score only these followers, in this order: a text file of ids, one a line.",
        ),
    ] = None,
    chunk: Annotated[
        int, typer.Option("--chunk", min=1, help="Followers scored at a time (memory).")
    ] = 50_000,
    drift_report: Annotated[
        Path | None,
        typer.Option(
            "--drift-report",
            dir_okay=False,
            help="Write the drift of the scored rows from the model's held-out rows (PSI) to "
            "this JSON file.",
        ),
    ] = None,
    drift_threshold: Annotated[
        float, typer.Option(min=0.0, help="PSI above which a feature counts as drifted.")
    ] = 0.2,
    log_drift: Annotated[
        bool,
        typer.Option("--log-drift", help="Log the drift report to MLflow (a monitoring run)."),
    ] = False,
    dask: DaskAddress = None,
    column_map: ColumnMap = None,
    event_map: EventMap = None,
    conversion_event: ConversionEvent = None,
    time_unit: TimeUnit = None,
    names: HeaderColumns = None,
    delimiter: Delimiter = None,
    encoding: Encoding = "utf-8",
    bad_rows: BadRows = "error",
    table: TableFile = None,
) -> None:
    """Score every follower as of a date, or every lead of a table (--table); champion default.

    Written --chunk followers at a time: the file appears whole when the run ends, or not at all.
    """
    import time
    from contextlib import ExitStack

    from features.cluster import dask_client
    from features.write import write_json
    from leadscore.show import progress, show_drift, show_summary, show_top
    from serving.batch import (
        followers_to_score,
        score_chunks,
        score_lead_table,
        write_scores,
    )
    from serving.model.spec import EventsInput
    from serving.model_store import champion_uri, load_registered, resolve_version

    if table is not None:
        refuse_events_options(ctx)
        if followers is not None or dask is not None:
            fail("--followers and --dask are for followers; a lead table is scored whole here")
    mapping, read = event_mapping(ctx), read_options(ctx)
    tracking()
    started = time.perf_counter()
    try:
        uri = model or champion_uri(model_name)
        name, _ = resolve_version(uri)
        bundle, version = load_registered(uri)
        drift = _drift_counts(bundle, version) if drift_report or log_drift else None
        if table is not None:
            scores = score_lead_table(table, bundle, version, reasons, read, drift)
            with progress(len(scores), "leads") as done:
                tally = write_scores([scores], out, top, done)
            what, title = "leads", f"leads of {table.name} -> {out}"
        else:
            bundle.spec.expect(EventsInput)  # before reading any data
            listed = _listed(followers) if followers is not None else None
            batch = followers_to_score(data, as_of, mapping, read, listed)
            if batch.not_found:
                _warn_not_found(batch.not_found, batch.as_of)
            with ExitStack() as stack:
                client = None if dask is None else stack.enter_context(dask_client(dask))
                chunks = score_chunks(batch, bundle, version, reasons, chunk, drift, client)
                with progress(len(batch), "followers") as done:
                    tally = write_scores(chunks, out, top, done)
            what, title = "followers", f"followers as of {batch.as_of} -> {out}"
    except ValueError as error:
        fail(str(error))
    except KeyboardInterrupt:
        console(stderr=True).print(f"interrupted: {out} was not written", highlight=False)
        raise typer.Exit(130) from None
    show_summary(tally, what, time.perf_counter() - started)
    if tally.top is not None and top:
        show_top(tally.top, top, f"top {min(top, tally.rows)} of {tally.rows:,} {title}")
    if drift is not None:
        report = drift.report(drift_threshold).to_dict()
        if drift_report is not None:
            write_json(report, drift_report)
        show_drift(report)
        if log_drift:
            from training.monitor import log_drift as log_report

            run_id = log_report(report, name, version, str(table or data))
            console().print(f"drift logged to MLflow: run {run_id}", highlight=False)


def _drift_counts(bundle: ScoringBundle, version: str) -> DriftCounts:
    from serving.model.drift import DriftCounts, Reference

    if not bundle.spec.reference:
        raise ValueError(
            f"model version {version} has no reference distribution (it was trained before "
            "drift reports): retrain it to get one"
        )
    return DriftCounts(Reference.from_dict(bundle.spec.reference))


def _listed(path: Path) -> list[str]:
    """Follower ids of a --followers file: one a line; blank lines and a header are skipped."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines()]
    ids = [line for line in lines if line]
    if ids and ids[0] == "follower_id":
        ids = ids[1:]
    if not ids:
        raise ValueError(f"{path}: no follower ids (one a line)")
    return ids


def _warn_not_found(ids: list[str], as_of: object) -> None:
    shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    console(stderr=True).print(
        f"[yellow]warning:[/] {len(ids):,} listed followers not scored (not in the data, not "
        f"following yet or already converted as of {as_of}): {escape(shown)}",
        soft_wrap=True,
        highlight=False,
    )


for command in (serve, ui, promote, rollback):
    app.command()(command)


def main() -> None:
    """The `leadscore` command: any failure is one line naming what to fix (--debug: the
    traceback too)."""
    try:
        app()
    except KeyboardInterrupt:
        console(stderr=True).print("interrupted", highlight=False)
        sys.exit(130)
    except Exception as error:  # the last line of defence: no user sees a traceback
        if "--debug" in sys.argv:
            raise
        console(stderr=True).print(
            f"[bold red]error:[/] {escape(one_line(error))} (--debug shows the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
