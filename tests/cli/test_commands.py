"""The command line end to end on a simulated audience: simulate, features, train, score."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.schema import FEATURE_COLUMNS
from leadscore.cli import app
from tests.conftest import fast_run

MODEL = "cli-test"
COMMANDS = (
    "simulate", "inspect", "features", "train", "score", "serve", "ui", "promote", "rollback",
)  # fmt: skip


@pytest.fixture(scope="module")
def audience(tmp_path_factory: pytest.TempPathFactory):
    """`leadscore simulate` of a small audience into a fresh folder."""
    out = tmp_path_factory.mktemp("cli") / "audience"
    command = ["simulate", "--followers", "1500", "--days", "240", "--seed", "3"]
    result = CliRunner().invoke(app, [*command, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_every_command_has_help():
    runner = CliRunner()
    listing = runner.invoke(app, ["--help"])
    assert listing.exit_code == 0
    for command in COMMANDS:
        assert command in listing.output
        helped = runner.invoke(app, [command, "--help"])
        assert helped.exit_code == 0 and "Usage" in helped.output, command


def test_simulate_writes_every_table(audience):
    out, output = audience
    names = sorted(path.name for path in out.iterdir())
    assert names == [
        "conversions.parquet", "followers.parquet", "interactions.parquet", "oracle.parquet",
        "posts.parquet",
    ]  # fmt: skip
    assert "simulated 1,500 followers" in output
    assert len(pd.read_parquet(out / "followers.parquet")) == 1500


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_features_writes_the_table_as_of_a_date(audience, tmp_path, suffix):
    out, _ = audience
    target = tmp_path / f"features{suffix}"
    result = CliRunner().invoke(
        app, ["features", "--data", str(out), "--as-of", "2026-06-01", "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(target) if suffix == ".csv" else pd.read_parquet(target)
    assert list(table.columns) == ["follower_id", *FEATURE_COLUMNS]
    followed = pd.read_parquet(out / "followers.parquet")["followed_at"]
    assert 0 < len(table) <= (followed < pd.Timestamp("2026-06-01", tz="UTC")).sum()
    assert f"x {len(FEATURE_COLUMNS)} features" in result.output


def test_bad_input_is_one_line_error_without_traceback(audience, tmp_path):
    out, _ = audience
    runner = CliRunner()
    missing = runner.invoke(app, ["features", "--data", str(tmp_path / "nope"), "--as-of",
                                  "2026-06-01", "--out", str(tmp_path / "f.csv")])  # fmt: skip
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert "Traceback" not in missing.output
    wrong = runner.invoke(
        app, ["features", "--data", str(out), "--as-of", "2026-06-01", "--out", "f.txt"]
    )
    assert wrong.exit_code == 2 and "must end in .csv or .parquet" in wrong.output
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.slow
def test_train_score_promote_and_rollback(audience, tracking_uri, tmp_path, monkeypatch):
    out, _ = audience
    monkeypatch.chdir(tmp_path)  # a stray local store would land here, never in the repo
    monkeypatch.setenv("COLUMNS", "200")
    fast_run(monkeypatch)
    runner = CliRunner()
    train = ["train", "--data", str(out), "--model-name", MODEL]
    first = runner.invoke(app, train)
    assert first.exit_code == 0, first.output
    assert "out-of-time test period:" in first.output and "points rule" in first.output
    assert f"-> {MODEL} version 1" in first.output and "promoted to champion" in first.output
    second = runner.invoke(app, [*train, "--seed", "7"])
    assert second.exit_code == 0, second.output
    assert f"-> {MODEL} version 2" in second.output and "on the same test rows" in second.output

    scores = tmp_path / "scores.parquet"
    score = ["score", "--data", str(out), "--model-name", MODEL, "--out", str(scores)]
    scored = runner.invoke(app, [*score, "--top", "3"])
    assert scored.exit_code == 0, scored.output
    frame = pd.read_parquet(scores)
    assert list(frame.columns) == [
        "follower_id", "probability", "score", "tier", "reasons_up", "reasons_down",
        "model_version",
    ]  # fmt: skip
    champion = mlflow.MlflowClient().get_model_version_by_alias(MODEL, "champion").version
    assert (frame["model_version"] == str(champion)).all()
    assert frame["probability"].between(0, 1, inclusive="neither").all()
    assert frame["reasons_up"].map(len).between(0, 3).all()
    assert f"followers: {len(frame):,} scored in" in scored.output
    assert "followers as of 2026-08-29 00:00:00+00:00" in scored.output

    promoted = runner.invoke(app, ["promote", "2", "--model-name", MODEL])
    assert promoted.exit_code == 0 and f"{MODEL} version 2 is now champion" in promoted.output
    back = runner.invoke(app, ["rollback", "--model-name", MODEL])
    assert back.exit_code == 0 and "rolled back to version 1" in back.output, back.output
    version = mlflow.MlflowClient().get_model_version_by_alias(MODEL, "champion")
    assert str(version.version) == "1" and version.tags["mode"] == "events"
    unknown = runner.invoke(app, ["promote", "99", "--model-name", MODEL])
    assert unknown.exit_code == 1 and f"{MODEL} version 99" in unknown.output


def test_serve_refuses_an_open_address_without_a_key(tmp_path, monkeypatch):
    # Refused before anything is loaded or started: no model is needed to see it.
    monkeypatch.delenv("LEADSCORE_API_KEY", raising=False)
    monkeypatch.delenv("LEADSCORE_API_KEY_FILE", raising=False)
    runner = CliRunner()
    opened = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert opened.exit_code == 1
    assert "--host 0.0.0.0 opens the service beyond this machine" in opened.output
    empty = tmp_path / "key"
    empty.write_text("\n")
    keyless = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--api-key-file", str(empty)])
    assert keyless.exit_code == 1 and "is empty" in keyless.output
