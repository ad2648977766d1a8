"""Tuning in tabular mode: trials judged on rows carved from the fit part, then a plain refit."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import optuna
import pytest

from serving.model.bundle import load_bundle
from tests.conftest import fast_table_config, load_source
from training.config import RunConfig
from training.run import train

MODEL = "crm-tuned"
SEARCHED = {
    "learning_rate", "num_leaves", "min_data_in_leaf", "feature_fraction", "bagging_fraction",
    "lambda_l1", "lambda_l2",
}  # fmt: skip


def _config(crm_table: Path, **changes) -> RunConfig:
    settings = {"model_name": MODEL, "baselines": False, "trials": 2}
    return fast_table_config(crm_table, **settings | changes)


@pytest.fixture(scope="module")
def tuned(crm_table, tracking_uri):
    """Two identical tuned table runs (same seed) on the synthetic CRM export."""
    config = _config(crm_table)
    return train(config), train(config)


def _trial_runs(parent_id: str):
    return mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}'",
        order_by=["start_time ASC"],
        experiment_names=["leadscore"],
    )


def test_trials_are_judged_on_fit_rows_held_out_from_the_trial(crm_table):
    config = _config(crm_table)
    data = load_source(config)
    fit, stop, test = data.parts
    trial_fit, trial_valid = data.split_for_tuning(config.seed)
    assert (len(trial_fit), len(trial_valid)) == (1024, 256)
    # A partition of the fit rows: never the early-stopping or the test rows.
    np.testing.assert_array_equal(np.sort(np.concatenate([trial_fit, trial_valid])), fit)
    assert not np.intersect1d(trial_fit, trial_valid).size
    assert not np.intersect1d(trial_valid, np.concatenate([stop, test])).size
    assert data.target[trial_valid].mean() == pytest.approx(data.target[fit].mean(), abs=0.01)
    again = data.split_for_tuning(config.seed)
    np.testing.assert_array_equal(again[1], trial_valid)
    other = data.split_for_tuning(7)
    assert not np.array_equal(other[1], trial_valid)


@pytest.mark.slow
def test_each_trial_is_a_nested_run_judged_on_the_trial_valid_rows(tuned):
    first, _ = tuned
    trials = _trial_runs(first.run_id)
    assert list(trials["tags.mlflow.runName"]) == ["trial-0", "trial-1"]
    assert set(trials["tags.optuna_state"]) == {"COMPLETE"}
    assert set(trials["status"]) == {"FINISHED"}
    # Judged on the 256 trial-valid rows, not the 320 early-stopping or the 400 test rows.
    assert list(trials["metrics.valid_rows"]) == [256, 256]
    assert trials["metrics.valid_log_loss"].notna().all()
    assert (trials["metrics.best_iteration"] > 0).all()
    assert trials["params.lgbm_learning_rate"].nunique() == 2
    best = trials["metrics.valid_log_loss"].min()
    assert first.tuning.best_value == pytest.approx(best)
    assert trials.iloc[first.tuning.best_trial]["metrics.valid_log_loss"] == pytest.approx(best)


@pytest.mark.slow
def test_the_study_is_stored_beside_the_mlflow_store(tuned, tracking_uri):
    first, _ = tuned
    tuning = first.tuning
    database = Path(tracking_uri.removeprefix("sqlite:///")).parent / "optuna.db"
    assert tuning.storage == f"sqlite:///{database.resolve()}" and database.exists()
    assert tuning.study_name == f"{MODEL}-{first.run_id}"
    study = optuna.load_study(study_name=tuning.study_name, storage=tuning.storage)
    assert len(study.trials) == 2 and tuning.n_trials == 2 and tuning.n_pruned == 0
    assert study.best_trial.params == tuning.best_params
    for trial in study.trials:
        run = mlflow.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.data.tags["mlflow.parentRunId"] == first.run_id


@pytest.mark.slow
def test_best_params_are_logged_and_refit_on_all_fit_rows(tuned):
    first, _ = tuned
    tuning = first.tuning
    assert set(tuning.best_params) == SEARCHED
    run = mlflow.get_run(first.run_id)
    params, metrics = run.data.params, run.data.metrics
    for name, value in tuning.best_params.items():
        assert float(params[f"best_{name}"]) == pytest.approx(value)
        assert float(params[f"lgbm_{name}"]) == pytest.approx(value)
    assert metrics["tune_trials"] == 2 and metrics["tune_pruned"] == 0
    assert metrics["tune_best_valid_log_loss"] == pytest.approx(tuning.best_value)
    assert run.data.tags["optuna_study"] == tuning.study_name
    assert (params["tune_fit_rows"], params["tune_valid_rows"]) == ("1024", "256")
    booster = load_bundle(f"models:/{MODEL}/{first.version}").booster
    # The saved model text keeps 6 significant digits of each setting.
    rate = tuning.best_params["learning_rate"]
    assert booster.params["learning_rate"] == pytest.approx(rate, rel=1e-5)
    assert booster.params["num_leaves"] == tuning.best_params["num_leaves"]
    assert booster.params["min_data_in_leaf"] == tuning.best_params["min_data_in_leaf"]
    # The refit is an untuned run's: all fit rows, test metrics on the untouched test rows.
    assert first.summary.rows == {"fit": 1280, "stop": 320, "test": 400}
    assert first.metrics["rows"] == 400 and 0.7 < first.metrics["roc_auc"] < 0.95
    assert metrics["test_roc_auc"] == pytest.approx(first.metrics["roc_auc"])


@pytest.mark.slow
def test_the_same_seed_gives_the_same_study_and_the_same_model(tuned, crm_table):
    first, second = tuned
    assert first.run_id != second.run_id and first.version != second.version
    assert first.tuning.best_params == second.tuning.best_params
    assert first.tuning.best_value == second.tuning.best_value
    data = load_source(_config(crm_table))
    rows = data.table.iloc[data.parts[2]]
    bundles = [load_bundle(f"models:/{MODEL}/{result.version}") for result in tuned]
    one, two = (bundle.predict_proba(bundle.prepare(rows)) for bundle in bundles)
    assert np.unique(one).size > 5
    np.testing.assert_array_equal(one, two)
    assert first.metrics == second.metrics


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"trials": -1}, "trials"), ({"tune_metric": "roc_auc"}, "tune_metric"),
     ({"tune_share": 1.0}, "tune_share")],
)  # fmt: skip
def test_bad_tuning_settings_are_rejected(crm_table, changes, message):
    with pytest.raises(ValueError, match=message):
        _config(crm_table, **changes)
