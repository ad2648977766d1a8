"""Training on a real Dask LocalCluster: the same snapshots, trees close to one machine's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from training.boost import Labelled, boost_settings
from training.config import RunConfig
from training.distributed import best_iteration, local_machines
from training.run import fit_final
from training.sources.events import EventLog


def test_best_iteration_is_the_round_early_stopping_keeps():
    # A real run: every round's stop-set loss recorded, and the same run stopped early.
    rng = np.random.default_rng(1)
    X = rng.random((3000, 6))
    y = (X[:, 0] + rng.normal(0, 0.4, 3000) > 0.9).astype(int)
    fit, stop = lgb.Dataset(X[:2000], y[:2000]), lgb.Dataset(X[2000:], y[2000:])
    params = {"objective": "binary", "learning_rate": 0.3, "num_leaves": 15, "verbose": -1}
    for patience in (3, 10):
        history: dict = {}
        lgb.train(params, fit, 200, valid_sets=[stop], valid_names=["stop"],
                  callbacks=[lgb.record_evaluation(history)])  # fmt: skip
        stopped = lgb.train(params, fit, 200, valid_sets=[stop], valid_names=["stop"],
                            callbacks=[lgb.early_stopping(patience, verbose=False)])  # fmt: skip
        kept = best_iteration(history["stop"]["binary_logloss"], patience)
        assert kept == stopped.best_iteration < 200
    assert best_iteration([0.5, 0.4, 0.4, 0.3], 5) == 4
    assert best_iteration([0.5, 0.6, 0.7, 0.1], 2) == 1  # stopped before the late best


def test_ports_for_workers_on_this_host(dask_cluster):
    machines = local_machines(dask_cluster).split(",")
    assert len(machines) == len(dask_cluster.scheduler_info()["workers"]) == 2
    assert len(set(machines)) == 2 and all(m.startswith("127.0.0.1:") for m in machines)


@pytest.fixture(scope="module")
def sources(audience_dir, dask_cluster):
    log = EventLog(audience_dir)
    return log.load(), log.load(client=dask_cluster)


def test_snapshots_made_on_the_cluster_are_the_same(sources):
    alone, spread = sources
    for part in ("fit", "stop", "valid", "test"):
        pd.testing.assert_frame_equal(getattr(spread.split, part), getattr(alone.split, part))


def test_trees_grown_on_the_cluster_score_within_0_005_roc_auc(sources, dask_cluster):
    alone, _ = sources
    config = RunConfig(EventLog(alone.data_path), baselines=False)
    single = fit_final(config, alone)
    spread = fit_final(config, alone, dask_cluster)
    test = {name: fitted.scored["test"].metrics for name, fitted in
            (("single", single), ("dask", spread))}  # fmt: skip
    assert abs(test["dask"]["roc_auc"] - test["single"]["roc_auc"]) < 0.005, test
    # Stopped early on the stop rows like one machine, not run to the round limit.
    assert 0 < spread.booster.num_trees() < config.boosting.num_boost_round
    assert spread.booster.num_trees() == spread.booster.best_iteration
    # The booster stands alone: it predicts without the cluster, as the registry needs.
    rows = Labelled(np.zeros((3, len(alone.columns))), np.zeros(3))
    settings = boost_settings(config.boosting, config.seed, alone.columns, single.levels)
    assert spread.booster.predict(rows.matrix).shape == (3,)
    assert settings.feature_names == spread.booster.feature_name()
    labels = alone.periods["test"].labels
    assert roc_auc_score(labels, spread.scored["test"].probabilities) == pytest.approx(
        test["dask"]["roc_auc"]
    )


def test_train_on_dask_from_the_command_line_keeps_stdout_for_its_json(audience_dir, tmp_path):
    """Run as a user runs it: the workers share the terminal, yet LightGBM's network lines
    never reach stdout, which holds one JSON object."""
    command = [sys.executable, "-m", "leadscore.cli", "train", "--data", str(audience_dir),
               "--model-name", "on-dask", "--dask", "local", "--format", "json"]  # fmt: skip
    env = os.environ | {"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)  # the scratch folder's own store
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    record = json.loads(run.stdout)
    assert record["version"] == "1" and record["model_name"] == "on-dask"
    assert "on Dask (2 workers)" in run.stderr
    assert "[LightGBM]" not in run.stdout + run.stderr
