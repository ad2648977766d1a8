"""The command line on a lead table: train, tune and score, and the options that do not mix."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import fast_run
from training.sources.table import table_lgbm_params


@pytest.mark.slow
def test_cli_trains_and_scores_a_table(crm_table, tracking_uri, tmp_path, monkeypatch):
    from leadscore.cli import app

    monkeypatch.chdir(tmp_path)  # a stray local store would land here, never in the repo
    params = table_lgbm_params() | {"learning_rate": 0.1, "num_threads": 1}
    fast_run(monkeypatch, lgbm_params=params, num_boost_round=300)
    runner = CliRunner()
    command = ["train", "--table", str(crm_table), "--target", "Converted", "--id", "Lead ID"]
    trained = runner.invoke(app, [*command, "--exclude", "Lead Number", "--model-name", "crm-cli"])
    assert trained.exit_code == 0, trained.output
    assert "Deal Score" in trained.output and "single-column ROC AUC" in trained.output
    assert "held-out test: 400 leads" in trained.output and "logistic" in trained.output
    out = tmp_path / "scores.csv"
    score = ["score", "--table", str(crm_table), "--model-name", "crm-cli", "--out", str(out)]
    scored = runner.invoke(app, score)
    assert scored.exit_code == 0, scored.output
    scores = pd.read_csv(out)
    assert list(scores.columns) == [
        "Lead ID", "probability", "score", "tier", "reasons_up", "reasons_down", "model_version",
    ]  # fmt: skip
    assert len(scores) == 2000 and scores["reasons_up"].str.contains(" is ").any()
    events = ["score", "--data", str(tmp_path), "--model-name", "crm-cli", "--out", str(out)]
    wrong = runner.invoke(app, events)
    assert wrong.exit_code == 1 and "mode is 'table'" in wrong.output


def test_cli_table_option_errors(crm_table, tmp_path):
    from leadscore.cli import app

    runner = CliRunner()
    both = runner.invoke(
        app, ["train", "--table", str(crm_table), "--data", str(tmp_path), "--target", "y"]
    )
    assert both.exit_code == 1 and "--data and --table are mutually exclusive" in both.output
    alone = runner.invoke(app, ["train", "--target", "Converted", "--id", "Lead ID"])
    assert alone.exit_code == 1 and "--target, --id: only with --table FILE" in alone.output
    no_id = runner.invoke(app, ["train", "--table", str(crm_table), "--target", "Converted"])
    assert no_id.exit_code == 1 and "--id COL" in no_id.output
    scoring = ["score", "--table", str(crm_table), "--as-of", "2026-01-01", "--out", "x.csv"]
    dated = runner.invoke(app, scoring)
    assert dated.exit_code == 1 and "--as-of apply to --data" in dated.output


@pytest.mark.slow
def test_cli_tunes_a_table(crm_table, tracking_uri, tmp_path, monkeypatch):
    from leadscore.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")
    params = table_lgbm_params() | {"learning_rate": 0.1, "num_threads": 1}
    fast_run(monkeypatch, lgbm_params=params, num_boost_round=300)
    command = ["train", "--table", str(crm_table), "--target", "Converted", "--id", "Lead ID"]
    command += ["--exclude", "Lead Number", "--model-name", "crm-cli-tuned"]
    result = CliRunner().invoke(app, [*command, "--trials", "2", "--tune-metric", "pr_auc"])
    assert result.exit_code == 0, result.output
    assert "held-out test: 400 leads" in result.output
    assert "tuning: 2 trials (0 pruned), best validation pr_auc 0." in result.output
    assert "learning_rate=" in result.output
    (run,) = mlflow.search_runs(
        filter_string="tags.mlflow.runName = 'crm-cli-tuned-table'",
        experiment_names=["leadscore"],
        output_format="list",
    )
    assert run.data.metrics["tune_trials"] == 2 and "tune_best_valid_pr_auc" in run.data.metrics
    assert f"run {run.info.run_id} -> crm-cli-tuned version 1" in result.output
