"""`leadscore score` as a stream: listed followers, drift against the held-out rows, and an
interrupted run that leaves no file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

from leadscore.cli import app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another sample of the trained model's audience: same settings, another seed."""
    from simulator.audience import simulate_audience, write_audience
    from simulator.config import SimulationConfig

    out = tmp_path_factory.mktemp("fresh")
    write_audience(simulate_audience(SimulationConfig(n_followers=4000, days=240, seed=8)), out)
    return out


def _score(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["score", "--top", "0", *args])
    return result.exit_code, result.output


def test_a_fresh_sample_does_not_drift_and_a_shifted_one_does(
    trained, fresh_sample, tmp_path, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "200")
    report = tmp_path / "fresh.json"
    code, output = _score("--data", str(fresh_sample), "--out", str(tmp_path / "f.csv"),
                          "--drift-report", str(report))  # fmt: skip
    assert code == 0, output
    fresh = json.loads(report.read_text())
    assert fresh["drifted"] == [] and fresh["score_psi"] < 0.1, fresh
    assert set(fresh) >= {"score_psi", "features", "drifted", "threshold"}
    assert "0 of 76 features drifted" in output

    # The same audience without its likes and views.
    shifted = tmp_path / "shifted"
    shutil.copytree(fresh_sample, shifted)
    events = pd.read_parquet(shifted / "interactions.parquet")
    kept = events[~events["event_type"].isin(["like", "view"])]
    kept.to_parquet(shifted / "interactions.parquet")
    report = tmp_path / "shifted.json"
    code, output = _score("--data", str(shifted), "--out", str(tmp_path / "s.csv"),
                          "--drift-report", str(report), "--log-drift")  # fmt: skip
    assert code == 0, output
    drifted = json.loads(report.read_text())["drifted"]
    assert {"n_like_90d", "n_view_30d", "like_share_90d"} <= set(drifted)
    assert "n_like_90d" in output and "drift logged to MLflow" in output
    runs = mlflow.search_runs(experiment_names=["leadscore-monitoring"])
    assert runs["tags.model_version"].tolist() == [trained.version]
    assert runs["metrics.drifted_features"].tolist() == [len(drifted)]


def test_listed_followers_keep_their_order_and_the_unknown_are_named(
    trained, fresh_sample, tmp_path
):
    whole = tmp_path / "whole.csv"
    assert _score("--data", str(fresh_sample), "--out", str(whole))[0] == 0
    ids = pd.read_csv(whole)["follower_id"].tolist()
    listed = [ids[5], ids[0], "nobody", ids[5], ids[3]]
    (tmp_path / "list.txt").write_text("follower_id\n" + "\n".join(listed) + "\n\n")
    out = tmp_path / "listed.csv"
    code, output = _score("--data", str(fresh_sample), "--out", str(out),
                          "--followers", str(tmp_path / "list.txt"))  # fmt: skip
    assert code == 0, output
    assert pd.read_csv(out)["follower_id"].tolist() == [ids[5], ids[0], ids[3]]
    assert "1 listed followers not scored" in output and "nobody" in output


def test_chunks_give_the_whole_file_and_an_interrupted_run_leaves_none(
    trained, fresh_sample, tmp_path, monkeypatch
):
    whole, chunked = tmp_path / "whole.parquet", tmp_path / "chunked.parquet"
    assert _score("--data", str(fresh_sample), "--out", str(whole))[0] == 0
    assert _score("--data", str(fresh_sample), "--out", str(chunked), "--chunk", "700")[0] == 0
    pd.testing.assert_frame_equal(pd.read_parquet(whole), pd.read_parquet(chunked))

    import serving.batch

    real = serving.batch.score_frame
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("the disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(serving.batch, "score_frame", failing)
    out = tmp_path / "cut" / "scores.csv"
    code, output = _score("--data", str(fresh_sample), "--out", str(out), "--chunk", "700")
    assert code == 1 and "the disk is full" in output
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
