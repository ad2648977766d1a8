"""What the command line prints: a run's metrics beside its baselines, the top scored rows."""

from __future__ import annotations

import json
import logging
import os
import sys
import textwrap
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from serving.batch import ScoreTally
    from training.inspect import Inspection
    from training.run import RunResult
    from training.tune import TuneResult

logger = logging.getLogger("leadscore")
# Drifted features listed on screen, worst first; the JSON report has them all.
DRIFT_SHOWN = 12

SHOWN: dict[str, str] = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "log_loss": "log loss",
    "brier": "Brier",
    "ece": "ECE",
    "lift_top10": "lift@10%",
    "recall_top10": "recall@10%",
}


def console(stderr: bool = False) -> Console:
    """Where the command line writes: standard output, or standard error for logs and errors."""
    return Console(stderr=stderr)


def quiet_libraries(verbose: bool) -> None:
    """Keep MLflow's and BentoML's own notices (serialisation warnings, pip resolution,
    download bars) and library warnings out of the product's output, unless `verbose`."""
    if verbose:
        return
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="mlflow")
    for name in ("mlflow", "bentoml", "alembic", "optuna", "distributed"):
        logging.getLogger(name).setLevel(logging.ERROR)


def log_handler() -> logging.Handler:
    """Progress and warnings on standard error: levels in a column on a terminal, one plain
    timestamped line each in a log file or pipe (no wrapping, nothing to strip)."""
    stream = console(stderr=True)
    if stream.is_terminal:
        from rich.logging import RichHandler

        return RichHandler(show_path=False, show_time=False, console=stream)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    return handler


def one_line(error: BaseException) -> str:
    """An unexpected error as one readable line: what failed, and where if it is a file."""
    if isinstance(error, FileNotFoundError | PermissionError | IsADirectoryError):
        reason = error.strerror or type(error).__name__
        return f"{error.filename}: {reason.lower()}" if error.filename else reason
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > 300:
        text = text[:297] + "..."
    return text if isinstance(error, ValueError | OSError) else f"{type(error).__name__}: {text}"


def fail(message: str) -> NoReturn:
    """Print one error line on standard error and exit with code 1."""
    # One line, never wrapped: a log keeps it whole and a terminal wraps it itself.
    console(stderr=True).print(
        f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False
    )
    raise typer.Exit(code=1)


def show_plan(lines: list[tuple[str, str]], out: Console | None = None) -> None:
    """The training plan, before training: what, then its value wrapped under itself."""
    out = out or console()
    out.print("[bold]training plan[/]")
    _wrapped(lines, out)


def show_inspection(found: Inspection, out: Console | None = None) -> None:
    """Each section as wrapped `what: value` lines, then whether training would run."""
    out = out or console()
    for title, lines in found.sections:
        out.print(f"[bold]{title}[/]")
        _wrapped(lines, out)
    if found.ok:
        out.print("[green]ok:[/] training would run on this data", highlight=False)


def _wrapped(lines: list[tuple[str, str]], out: Console) -> None:
    width = 2 + min(36, max(len(what) for what, _ in lines)) + 2
    for what, value in lines:
        label = f"  {what + ':':<{width - 2}}"
        text = textwrap.fill(
            value,
            width=max(out.width, width + 20),
            initial_indent=label if len(label) <= width else label + "\n" + " " * width,
            subsequent_indent=" " * width,
        )
        out.print(text, highlight=False, markup=False)


def show_run(result: RunResult, model_name: str, uri: str, out: Console | None = None) -> None:
    """The columns left out (if any), the test metrics with baselines, tuning, the decision."""
    out = out or console()
    summary = result.summary
    if summary.excluded or summary.kept:
        out.print(_left_out(result))
    out.print(_metrics_table(result))
    valid = result.valid_metrics
    if valid:
        out.print(
            f"validation period (earlier; tuning and score cut-offs): ROC AUC "
            f"{valid['roc_auc']:.3f}, PR AUC {valid['pr_auc']:.3f}, log loss "
            f"{valid['log_loss']:.4f} on {int(valid['rows']):,} rows"
        )
    show_tuning(out, result.tuning)
    out.print(
        f"run {result.run_id} -> {model_name} version {result.version} (store {uri})\n"
        + ("promoted to champion: " if result.promoted else "stays challenger: ")
        + result.reason
    )


def run_record(result: RunResult, model_name: str, uri: str) -> dict[str, Any]:
    """A run as one JSON-ready object, for `train --format json`."""
    summary, tuning = result.summary, result.tuning
    return {
        "model_name": model_name,
        "version": result.version,
        "run_id": result.run_id,
        "tracking_uri": uri,
        "promoted": result.promoted,
        "reason": result.reason,
        "plan": dict(result.plan),
        "test": {"title": summary.test_title, "metrics": result.metrics},
        "baselines": result.baselines,
        "validation": result.valid_metrics,
        "rows": summary.rows,
        "left_out": [{"column": c, "why": why} for c, why in summary.excluded],
        "kept": [{"column": c, "evidence": e} for c, e in summary.kept],
        "tuning": None
        if tuning is None
        else {
            "trials": tuning.n_trials,
            "pruned": tuning.n_pruned,
            "metric": tuning.metric,
            "best_value": tuning.best_value,
            "best_params": tuning.best_params,
        },
    }


def print_json(record: dict[str, Any]) -> None:
    """One JSON object on standard output (numbers as numbers, anything else as text)."""
    sys.stdout.write(json.dumps(record, indent=2, default=str) + "\n")


def _left_out(result: RunResult) -> Table:
    table = Table(title="columns left out of the model")
    table.add_column("column", no_wrap=True)
    table.add_column("why")
    for column, why in result.summary.excluded:
        table.add_row(column, why)
    for column, evidence in result.summary.kept:
        table.add_row(f"({column})", f"kept by --keep although the audit flagged it: {evidence}")
    return table


def _metrics_table(result: RunResult) -> Table:
    """Metrics down, models across: five or six columns fit 80 characters without cutting a
    number, where one column per metric did not."""
    metrics = result.metrics
    # Lead-table runs also show accuracy at 0.5, which published results on such tables quote.
    keys = {**SHOWN, **({"accuracy": "accuracy"} if "accuracy" in metrics else {})}
    models = {"LightGBM (calibrated)": metrics, **result.baselines}
    constant = {
        "roc_auc": 0.5,
        "pr_auc": metrics["base_rate"],
        "log_loss": metrics["log_loss_baseline"],
        "brier": metrics["brier_baseline"],
        "lift_top10": 1.0,
        "recall_top10": 0.1,
    }
    table = Table(title=result.summary.test_title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("metric", no_wrap=True)
    for name in [*models, "base rate"]:
        table.add_column(name, justify="right", no_wrap=False, min_width=6, overflow="fold")
    for key, label in keys.items():
        values = [f"{values[key]:.3f}" for values in models.values()]
        base = f"{constant[key]:.3f}" if key in constant else ""
        table.add_row(label, *values, base)
    return table


def show_tuning(out: Console, tuning: TuneResult | None) -> None:
    """The study's outcome: trials, pruned, the best value and settings."""
    if tuning is not None:
        best = ", ".join(f"{k}={v:.4g}" for k, v in tuning.best_params.items())
        out.print(
            f"tuning: {tuning.n_trials} trials ({tuning.n_pruned} pruned), best validation "
            f"{tuning.metric} {tuning.best_value:.4f} (trial {tuning.best_trial}): {best}"
        )


def show_top(scores: pd.DataFrame, top: int, title: str, out: Console | None = None) -> None:
    """The `top` highest-scored rows with their reasons up."""
    key = scores.columns[0]  # follower_id, or a table model's own id column
    table = Table(title=title)
    for column in (key, "probability", "score", "tier", "why"):
        table.add_column(column)
    for _, row in scores.nlargest(top, "probability").iterrows():
        why = "; ".join(row["reasons_up"])
        table.add_row(
            str(row[key]), f"{row['probability']:.3f}", str(row["score"]), row["tier"], why
        )
    (out or console()).print(table)


@contextmanager
def progress(total: int, what: str) -> Iterator[Callable[[int], None]]:
    """A bar with the rate on a terminal's standard error, one log line per step elsewhere;
    yields the function that counts `n` more done."""
    stream = console(stderr=True)
    started = time.perf_counter()
    done = 0

    def count(n: int) -> str:
        """Add `n` done; the rate so far, in words."""
        nonlocal done
        done += n
        return f"{done / max(time.perf_counter() - started, 1e-9):,.0f}"

    if not stream.is_terminal:
        yield lambda n: logger.info(
            "%s/%s %s (%s/s)", f"{done + n:,}", f"{total:,}", what, count(n)
        )
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(what), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}/s"), TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=stream, transient=True) as bar:
        task = bar.add_task(what, total=total, rate="-")
        yield lambda n: bar.update(task, advance=n, rate=count(n))


def show_summary(tally: ScoreTally, what: str, seconds: float, out: Console | None = None) -> None:
    """One line of what was scored: how many, how long, per tier, mean probability, leads."""
    tiers = " · ".join(f"{tier} {tally.tiers.get(tier, 0):,}" for tier in "ABCD")
    (out or console()).print(
        f"{what}: {tally.rows:,} scored in {seconds:.1f} s, reading included; tiers {tiers}; "
        f"mean probability {tally.mean_probability:.4f}; expected leads "
        f"{tally.expected_leads:,.1f}",
        highlight=False,
        soft_wrap=True,  # one line in a log; a terminal wraps it itself
    )


def show_drift(report: dict[str, Any], out: Console | None = None) -> None:
    """The score's PSI and the drifted features, worst first."""
    out = out or console()
    threshold = report["threshold"]
    drifted = report["drifted"]
    verdict = f"{len(drifted)} of {len(report['features'])} features drifted"
    if not report["judged"]:
        verdict = f"not judged: {report['rows']:,} rows scored, too few to stand for a population"
    out.print(
        f"drift (PSI against the model's held-out rows, threshold {threshold}): score "
        f"{report['score_psi']:.3f}; {verdict}",
        highlight=False,
        soft_wrap=True,
    )
    for name in drifted[:DRIFT_SHOWN]:
        # A lead table's columns are any text: "[" must not read as markup.
        out.print(f"  {escape(name)}: {report['features'][name]:.3f}", highlight=False)
    if len(drifted) > DRIFT_SHOWN:
        out.print(f"  ... and {len(drifted) - DRIFT_SHOWN} more", highlight=False)
