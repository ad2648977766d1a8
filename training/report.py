"""Evaluation report of a run: PNG charts and one self-contained, offline report.html."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from training.evaluate import calibration_table, evaluate_scores, gains_table

if TYPE_CHECKING:
    import lightgbm
    from matplotlib.figure import Figure

REPORT_FILE = "report.html"
# Column headers of the metrics table, in the order of `evaluate_scores`.
METRIC_LABELS: dict[str, str] = {
    "roc_auc": "ROC AUC", "pr_auc": "PR AUC", "log_loss": "Log loss",
    "log_loss_baseline": "Log loss (base rate)", "brier": "Brier",
    "brier_baseline": "Brier (base rate)", "ece": "ECE", "lift_top10": "Lift top 10%",
    "recall_top10": "Recall top 10%", "lift_top20": "Lift top 20%",
    "recall_top20": "Recall top 20%", "base_rate": "Base rate", "rows": "Rows",
    "accuracy": "Accuracy at 0.5",
}  # fmt: skip
_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0 20px}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}tr.model{font-weight:bold;background:#eef4ff}"
    "img{max-width:100%;border:1px solid #eee;margin:6px 0}"
)


@dataclass(frozen=True)
class ReportInputs:
    """What the report shows: test-set scores of the tuned model and each baseline.

    scored: name -> (labels, probabilities) on the same test rows; `model` names the tuned one.
    importance: mean |SHAP| per feature (see `shap_importance`), or None to leave the chart out.
    notes: extra lines shown under the title, e.g. {"Oracle ROC AUC": "0.812"}.
    metrics: each scorer's metrics on those rows, when the caller has them already (else they
    are computed from `scored`).
    """

    model: str
    scored: Mapping[str, tuple[np.ndarray, np.ndarray]]
    importance: pd.Series | None = None
    notes: Mapping[str, str] = field(default_factory=dict)
    title: str = "Lead scoring: tuned model against baselines"
    metrics: Mapping[str, Mapping[str, float]] | None = None


def shap_importance(
    booster: lightgbm.Booster,
    matrix: np.ndarray | pd.DataFrame,
    feature_names: list[str],
    max_rows: int = 20000,
    seed: int = 0,
) -> pd.Series:
    """Mean absolute SHAP contribution per feature on a seeded sample of rows, largest first."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if len(matrix) > max_rows:
        rows = np.random.default_rng(seed).choice(len(matrix), size=max_rows, replace=False)
        matrix = matrix[np.sort(rows)]
    # The last column of the contributions is the bias (expected value), not a feature.
    contributions = np.asarray(booster.predict(matrix, pred_contrib=True))[:, :-1]
    importance = pd.Series(np.abs(contributions).mean(axis=0), index=list(feature_names))
    return importance.sort_values(ascending=False, kind="stable").rename("mean_abs_shap")


def _figure(width: float = 7.0, height: float = 4.5) -> Figure:
    # The Figure class draws without pyplot, so no global backend or state is touched.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(figure: Figure, path: Path) -> bytes:
    figure.savefig(path, format="png", metadata={"Software": None})
    return path.read_bytes()


def plot_gains(scored: Mapping[str, tuple[np.ndarray, np.ndarray]], path: Path) -> bytes:
    """Cumulative gains and cumulative lift by decile of every scorer; PNG bytes."""
    figure = _figure(11, 4.5)
    gains_axes, lift_axes = figure.subplots(1, 2)
    for name, (labels, probabilities) in scored.items():
        table = gains_table(labels, probabilities)
        share = table["rows"].cumsum() / table["rows"].sum()
        gains_axes.plot([0, *share], [0, *table["cumulative_recall"]], marker="o", label=name)
        lift_axes.plot(table["decile"], table["cumulative_lift"], marker="o", label=name)
    gains_axes.plot([0, 1], [0, 1], color="grey", linestyle="--", label="random")
    lift_axes.axhline(1.0, color="grey", linestyle="--", label="random")
    gains_axes.set(xlabel="share scored (best scores first)", ylabel="share of conversions")
    gains_axes.set_title("Cumulative gains")
    lift_axes.set(xlabel="decile (1 = best scores)", ylabel="cumulative lift over base rate")
    lift_axes.set_title("Cumulative lift")
    lift_axes.set_xticks(range(1, 11))
    gains_axes.legend(fontsize=8)
    return _save(figure, path)


def plot_calibration(labels: np.ndarray, probabilities: np.ndarray, path: Path) -> bytes:
    """Reliability curve over 10 equal-frequency bins with the diagonal; PNG bytes."""
    table = calibration_table(labels, probabilities)
    top = 1.05 * float(max(table["mean_predicted"].max(), table["observed_rate"].max()))
    axes = _figure(5.5, 5).subplots()
    axes.plot([0, top], [0, top], color="grey", linestyle="--", label="perfect calibration")
    axes.plot(table["mean_predicted"], table["observed_rate"], marker="o", label="model")
    axes.set(xlim=(0, top), ylim=(0, top), xlabel="mean predicted probability")
    axes.set(ylabel="observed conversion rate", title="Calibration (10 equal-frequency bins)")
    axes.legend(fontsize=8)
    return _save(axes.figure, path)


def plot_score_distribution(labels: np.ndarray, probabilities: np.ndarray, path: Path) -> bytes:
    """Histograms of the model's probabilities for converters and the rest; PNG bytes."""
    labels, probabilities = np.asarray(labels), np.asarray(probabilities, dtype=float)
    edges = np.linspace(0, float(np.quantile(probabilities, 0.995)) + 1e-9, 41)
    axes = _figure().subplots()
    for value, name in ((0, "did not convert"), (1, "converted")):
        chosen = np.clip(probabilities[labels == value], 0, edges[-1])
        axes.hist(chosen, bins=edges, density=True, alpha=0.55, label=f"{name} ({len(chosen)})")
    axes.set(xlabel="predicted probability (top 0.5% folded into the last bin)")
    axes.set(ylabel="density", title="Score distribution by class")
    axes.legend(fontsize=8)
    return _save(axes.figure, path)


def plot_importance(importance: pd.Series, path: Path, top: int = 20) -> bytes:
    """Horizontal bars of the `top` largest importances; PNG bytes."""
    shown = importance.sort_values(ascending=False).head(top)[::-1]
    axes = _figure(7, 0.3 * len(shown) + 1.2).subplots()
    axes.barh(shown.index.astype(str), shown.to_numpy())
    axes.set(xlabel="mean |SHAP| (log-odds)", title=f"Global feature importance (top {top})")
    axes.tick_params(axis="y", labelsize=8)
    return _save(axes.figure, path)


def _format(key: str, value: float) -> str:
    if key == "rows":
        return f"{value:,.0f}"
    if key in ("base_rate", "accuracy") or key.startswith("recall"):
        return f"{value:.2%}"
    return f"{value:.4f}"


def metrics_table_html(metrics: Mapping[str, Mapping[str, float]], model: str) -> str:
    """An HTML table with one row per scorer and one column per metric key."""
    keys = list(next(iter(metrics.values())))
    head = "".join(f"<th>{html.escape(METRIC_LABELS.get(k, k))}</th>" for k in keys)
    rows = []
    for name, values in metrics.items():
        cells = "".join(f"<td>{_format(k, values[k])}</td>" for k in keys)
        marker = ' class="model"' if name == model else ""
        rows.append(f"<tr{marker}><td>{html.escape(name)}</td>{cells}</tr>")
    return f"<table><tr><th>scorer</th>{head}</tr>{''.join(rows)}</table>"


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _page(results: ReportInputs, metrics: dict[str, Any], images: dict[str, bytes]) -> str:
    labels, probabilities = results.scored[results.model]
    gains = gains_table(labels, probabilities).to_html(index=False, float_format="{:.3f}".format)
    notes = "".join(
        f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in results.notes.items()
    )
    figures = "".join(_image(png, name) for name, png in images.items())
    title = html.escape(results.title)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1><ul>{notes}</ul>"
        f"<h2>Test-set metrics</h2>{metrics_table_html(metrics, results.model)}"
        f"<h2>Charts</h2>{figures}"
        f"<h2>Gains of {html.escape(results.model)} by decile</h2>{gains}</body></html>"
    )


def write_report(out_dir: Path, results: ReportInputs) -> Path:
    """Write the charts as PNG files and report.html (images inlined) into `out_dir`; its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if results.model not in results.scored:
        raise ValueError(f"the model {results.model!r} has no scores in the results")
    labels, probabilities = results.scored[results.model]
    names = [results.model, *(name for name in results.scored if name != results.model)]
    given = results.metrics or {}
    metrics = {name: given.get(name) or evaluate_scores(*results.scored[name]) for name in names}
    images = {
        "gains and lift": plot_gains(results.scored, out_dir / "gains.png"),
        "calibration": plot_calibration(labels, probabilities, out_dir / "calibration.png"),
        "score distribution": plot_score_distribution(
            labels, probabilities, out_dir / "score_distribution.png"
        ),
    }
    if results.importance is not None:
        images["importance"] = plot_importance(results.importance, out_dir / "importance.png")
    path = out_dir / REPORT_FILE
    path.write_text(_page(results, metrics, images), encoding="utf-8")
    return path
