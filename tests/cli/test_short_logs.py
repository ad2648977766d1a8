"""Short event logs from the command line: inspect, the plan printed, JSON, 80 columns, errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import leadscore.cli
from leadscore.cli import app
from tests.conftest import fast_run

MODEL = "short-test"


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory):
    """Sixty days of a small simulated audience."""
    out = tmp_path_factory.mktemp("short") / "audience"
    command = ["simulate", "--followers", "1500", "--days", "60", "--seed", "5", "--horizon", "7"]
    result = CliRunner().invoke(app, [*command, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _narrow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


def test_inspect_shows_what_is_read_the_span_and_the_plan(short, monkeypatch):
    _narrow(monkeypatch)
    result = CliRunner().invoke(app, ["inspect", "--data", str(short), "--horizon", "7"])
    assert result.exit_code == 0, result.output
    for heading in ("read", "events", "span", "training plan (7-day horizon)"):
        assert f"\n{heading}\n" in f"\n{result.output}"
    assert "2026-01-01..2026-03-01 (60 days)" in result.output
    assert "history 30 of 90 days" in result.output
    assert "conversion rate per snapshot" in result.output
    assert "ok: training would run" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_inspect_says_why_training_would_not_run(short):
    result = CliRunner().invoke(app, ["inspect", "--data", str(short)])
    assert result.exit_code == 1
    assert "training would not run" in result.output
    assert "a 28-day horizon needs at least" in result.output and "--horizon" in result.output


def test_inspect_as_json(short):
    result = CliRunner().invoke(
        app, ["inspect", "--data", str(short), "--horizon", "7", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["ok"] is True and found["problem"] is None
    assert found["sections"]["span"]["dense days"].startswith("2026-01-01..2026-03-01")


@pytest.mark.slow
def test_train_on_sixty_days_prints_the_plan_first_and_fits_80_columns(
    short, tracking_uri, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    _narrow(monkeypatch)
    fast_run(monkeypatch)
    command = ["train", "--data", str(short), "--horizon", "7", "--model-name", MODEL]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index("training plan") < out.index("out-of-time test period")
    assert "early stopping on 20% held-out followers" in " ".join(out.split())
    assert "…" not in out  # no number or header cut
    assert max(len(line.rstrip()) for line in out.splitlines()) <= 80
    # MLflow's own notices stay out of the product's output.
    for notice in ("CloudPickle", "pip version", "Downloading artifacts", "Successfully regis"):
        assert notice not in result.output

    as_json = CliRunner().invoke(app, [*command, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    record = json.loads(as_json.stdout)
    assert record["model_name"] == MODEL and record["version"] == "2"
    assert record["plan"]["feature windows"].startswith("7, 14, 30 days")
    assert 0.5 < record["test"]["metrics"]["roc_auc"] <= 1.0
    assert set(record["baselines"]) == {"points rule", "logistic", "LightGBM default"}


def test_too_short_a_log_is_one_line_naming_the_flag(short, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["train", "--data", str(short)])
    assert result.exit_code == 1
    assert "events span 2026-01-01..2026-03-01 (60 days)" in result.output
    assert "use --horizon" in result.output and "Traceback" not in result.output


def test_bad_plan_flags_name_themselves(short):
    runner = CliRunner()
    windows = runner.invoke(app, ["train", "--data", str(short), "--windows", "7,x"])
    assert windows.exit_code == 1 and "--windows takes whole days" in windows.output
    history = ["train", "--data", str(short), "--windows", "7,30", "--min-history", "14"]
    shorter = runner.invoke(app, history)
    assert shorter.exit_code == 1 and "shorter than the longest window" in shorter.output
    table = runner.invoke(app, ["train", "--table", str(short / "followers.parquet"),
                                "--windows", "1,3"])  # fmt: skip
    assert table.exit_code == 1 and "--windows" in table.output


def test_an_unexpected_failure_is_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    def broken() -> None:
        raise RuntimeError("the disk\nfell off")

    monkeypatch.setattr(leadscore.cli, "app", broken)
    monkeypatch.setattr("sys.argv", ["leadscore", "train"])
    with pytest.raises(SystemExit) as stopped:
        leadscore.cli.main()
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "error: RuntimeError: the disk fell off (--debug shows the traceback)" in err
    assert "Traceback" not in err
    monkeypatch.setattr("sys.argv", ["leadscore", "--debug", "train"])
    with pytest.raises(RuntimeError, match="the disk"):
        leadscore.cli.main()


def test_features_with_a_short_models_windows(short, tmp_path):
    out = tmp_path / "features.parquet"
    command = ["features", "--data", str(short), "--as-of", "2026-02-20", "--out", str(out)]
    result = CliRunner().invoke(app, [*command, "--windows", "7,14,30"])
    assert result.exit_code == 0, result.output
    columns = set(pd.read_parquet(out).columns)
    assert {"n_view_7d", "n_view_14d", "n_view_30d"} <= columns and "n_view_90d" not in columns
    bad = CliRunner().invoke(app, [*command, "--windows", "3,1"])
    assert bad.exit_code == 1 and "--windows" in bad.output and "ascending" in bad.output
