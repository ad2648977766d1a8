"""End to end on a foreign (Taobao-style) event log: train and score through the real CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import fast_run

pytestmark = pytest.mark.slow

MODEL = "taobao-test"
MAPPING = [
    "--map",
    "user_id=follower_id,item_id=post_id,behavior_type=event_type,timestamp=occurred_at",
    "--event-map",
    "pv=view,fav=save,cart=click",
    "--conversion-event",
    "buy",
]
# Our names as a Taobao log would spell them; other types keep their own names.
TAOBAO_TYPES = {"view": "pv", "save": "fav", "click": "cart"}


@pytest.fixture(scope="module")
def taobao_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """user_id, item_id, behavior_type, timestamp (epoch seconds); conversions are "buy" rows."""
    from simulator.audience import simulate_audience
    from simulator.config import SimulationConfig

    audience = simulate_audience(SimulationConfig(n_followers=3000, days=240, seed=11))
    events = audience.interactions
    buys = audience.conversions
    log = pd.concat(
        [
            pd.DataFrame(
                {
                    "user_id": events["follower_id"].str.removeprefix("f").astype("int64"),
                    "item_id": events["post_id"],
                    "behavior_type": events["event_type"].replace(TAOBAO_TYPES),
                    "timestamp": events["occurred_at"],
                }
            ),
            pd.DataFrame(
                {
                    "user_id": buys["follower_id"].str.removeprefix("f").astype("int64"),
                    "item_id": None,
                    "behavior_type": "buy",
                    "timestamp": buys["converted_at"],
                }
            ),
        ],
        ignore_index=True,
    )
    seconds = log["timestamp"].astype("datetime64[s, UTC]").astype("int64")
    path = tmp_path_factory.mktemp("taobao") / "user_behavior.csv"
    log.assign(timestamp=seconds).sort_values("timestamp").to_csv(path, index=False)
    return path


def test_train_and_score_a_taobao_log(taobao_log, tracking_uri, tmp_path, monkeypatch):
    import mlflow
    from mlflow import MlflowClient

    from leadscore.cli import app

    monkeypatch.chdir(tmp_path)  # a stray local store would land here, never in the repo
    # Few trees on one thread: this tests the wiring, and two threads can crawl on a busy box.
    fast_run(monkeypatch)
    assert os.environ["MLFLOW_TRACKING_URI"] == tracking_uri
    runner = CliRunner()
    trained = runner.invoke(
        app, ["train", "--data", str(taobao_log), *MAPPING, "--model-name", MODEL]
    )
    assert trained.exit_code == 0, trained.output
    version = MlflowClient().get_model_version_by_alias(MODEL, "challenger")
    run = mlflow.get_run(version.run_id)
    assert run.data.metrics["valid_roc_auc"] > 0.6
    assert run.data.params["map_conversion_event"] == "buy"

    out = tmp_path / "scores.csv"
    scored = runner.invoke(
        app,
        ["score", "--data", str(taobao_log), *MAPPING, "--model-name", MODEL, "--out", str(out)],
    )
    assert scored.exit_code == 0, scored.output
    scores = pd.read_csv(out, dtype={"follower_id": "str"})
    log = pd.read_csv(taobao_log, usecols=["user_id", "behavior_type"], dtype="str")
    # As of the day after the data, every user is eligible except those who bought.
    eligible = set(log["user_id"]) - set(log.loc[log["behavior_type"] == "buy", "user_id"])
    assert set(scores["follower_id"]) == eligible and len(scores) == len(eligible)
    assert scores["probability"].between(0, 1, inclusive="neither").all()
    assert scores["score"].between(1, 99).all()
    assert set(scores["tier"]) <= set("ABCD")
    assert (scores["model_version"].astype("str") == str(version.version)).all()


def test_bad_mapping_text_is_a_one_line_error(taobao_log):
    from leadscore.cli import app

    result = CliRunner().invoke(
        app,
        [
            "features",
            "--data",
            str(taobao_log),
            "--as-of",
            "2026-05-01",
            "--out",
            "x.csv",
            "--map",
            "user_id",
        ],
    )
    assert result.exit_code == 1
    assert "'user_id' is not of the form source=target" in result.output
