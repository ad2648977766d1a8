"""A lead table with dates from the command line: simulate it, inspect it, train out of time."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from leadscore.cli import app
from tests.conftest import fast_run

TABLE = ["--target", "won", "--id", "lead_id"]


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("dated") / "crm.csv"
    command = ["simulate", "--table", str(path), "--leads", "3000", "--days", "200", "--seed", "4"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "simulated 3,000 leads over 200 days" in " ".join(result.output.split())
    return path


def test_inspect_shows_the_dates_the_split_and_the_audit_in_80_columns(dated, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    command = ["inspect", "--table", str(dated), *TABLE, "--time", "created"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "created: date (ISO8601) -> month, weekday, hour" in text
    assert "split: out of time by 'created': test the newest 20% (" in text
    assert "'closed_at' is after 'created' in 100%" in text
    assert "ok: training would run" in text
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_inspect_without_time_says_the_split_is_random(dated):
    result = CliRunner().invoke(app, ["inspect", "--table", str(dated), *TABLE])
    assert result.exit_code == 0, result.output
    assert "stratified random" in result.output and "no time column given" in result.output


def test_inspect_exits_1_with_the_reason_when_training_would_not_run(dated):
    result = CliRunner().invoke(app, ["inspect", "--table", str(dated), *TABLE, "--time", "origin"])
    assert result.exit_code == 1
    assert "training would not run: --time 'origin': its values are not dates" in result.output


def test_time_options_need_a_table(tmp_path):
    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path), "--time", "created"])
    assert result.exit_code == 1 and "only with --table" in result.output


@pytest.mark.slow
def test_train_out_of_time_as_json(dated, tracking_uri, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fast_run(monkeypatch)
    command = ["train", "--table", str(dated), *TABLE, "--time", "created", "--format", "json"]
    result = CliRunner().invoke(app, [*command, "--model-name", "dated-cli"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert "out of time by 'created'" in record["test"]["title"]
    assert record["plan"]["split"].startswith("out of time by 'created'")
    assert {row["column"] for row in record["left_out"]} >= {"closed_at"}
    assert 0.5 < record["test"]["metrics"]["roc_auc"] < 1.0
