"""What the command line prints: a run's metrics beside its baselines, the top scored rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from training.run import RunResult
    from training.tune import TuneResult

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


def fail(message: str) -> NoReturn:
    """Print one error line on standard error and exit with code 1."""
    console(stderr=True).print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=1)


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
    metrics = result.metrics
    # Lead-table runs also show accuracy at 0.5, which published results on such tables quote.
    keys = {**SHOWN, **({"accuracy": "accuracy"} if "accuracy" in metrics else {})}
    table = Table(title=result.summary.test_title)
    table.add_column("model", no_wrap=True)
    for header in keys.values():
        table.add_column(header, justify="right")
    for name, values in {"LightGBM (calibrated)": metrics, **result.baselines}.items():
        table.add_row(name, *(f"{values[key]:.3f}" for key in keys))
    constant = (f"{metrics['log_loss_baseline']:.3f}", f"{metrics['brier_baseline']:.3f}")
    base = ("0.5", f"{metrics['base_rate']:.3f}", *constant, "", "1.0", "0.1")
    table.add_row("base rate", *base, *([""] * (len(keys) - len(base))))
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
