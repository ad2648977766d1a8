"""Tuning: Optuna trials as nested MLflow runs, a stored study, pruning, a reproducible refit."""

from __future__ import annotations

import math
from pathlib import Path

import lightgbm as lgb
import mlflow
import numpy as np
import optuna
import pytest
from mlflow import MlflowClient

from serving.model.bundle import load_bundle
from serving.model.encode import to_model_input
from training.boost import STOP_SET, VALID_SET, boost_settings
from training.config import RunConfig
from training.run import encode, fit_levels, train, trial_scorer
from training.sources.events import EventLog, events_lgbm_params
from training.tune import SHRINKAGE_STEP, PruneOnValidLoss, study_storage, tune

MODEL = "tuned-test"


def _config(audience_dir: Path, **changes) -> RunConfig:
    # Few trees on one thread, no baselines: this tests the wiring, not the model's quality.
    settings = {
        "model_name": MODEL,
        "num_boost_round": 60,
        "early_stopping_rounds": 20,
        "trials": 2,
        "baselines": False,
        "lgbm_params": events_lgbm_params() | {"num_threads": 1},
    }
    return RunConfig(EventLog(audience_dir), **(settings | changes))


@pytest.fixture(scope="module")
def tuned(audience_dir, tracking_uri):
    """Two identical tuned runs (same seed) on the small audience."""
    config = _config(audience_dir)
    return train(config), train(config)


@pytest.fixture(scope="module")
def source(audience_dir):
    return _config(audience_dir).source.load()


@pytest.fixture(scope="module")
def split(source):
    return source.split


@pytest.mark.slow
def test_each_trial_is_a_nested_run_of_the_parent(tuned):
    first, _ = tuned
    trials = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{first.run_id}'",
        order_by=["start_time ASC"],
        experiment_names=["leadscore"],
    )
    assert len(trials) == 2
    assert list(trials["tags.mlflow.runName"]) == ["trial-0", "trial-1"]
    assert set(trials["tags.optuna_state"]) == {"COMPLETE"}
    assert set(trials["status"]) == {"FINISHED"}
    assert trials["metrics.valid_log_loss"].notna().all()
    # The two trials tried different settings.
    assert trials["params.lgbm_learning_rate"].nunique() == 2


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
    assert study.best_value == pytest.approx(tuning.best_value)
    # Each Optuna trial knows its MLflow run, and that run is a child of this one.
    for trial in study.trials:
        run = mlflow.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.data.tags["mlflow.parentRunId"] == first.run_id


@pytest.mark.slow
def test_best_params_are_logged_and_used_by_the_refit_model(tuned):
    first, _ = tuned
    tuning = first.tuning
    run = mlflow.get_run(first.run_id)
    assert set(tuning.best_params) == {
        "learning_rate", "num_leaves", "min_data_in_leaf", "feature_fraction",
        "bagging_fraction", "lambda_l1", "lambda_l2",
    }  # fmt: skip
    for name, value in tuning.best_params.items():
        assert float(run.data.params[f"best_{name}"]) == pytest.approx(value)
        assert float(run.data.params[f"lgbm_{name}"]) == pytest.approx(value)
    assert run.data.metrics["tune_trials"] == 2 and run.data.metrics["tune_pruned"] == 0
    booster = load_bundle(f"models:/{MODEL}/{first.version}").booster
    assert booster.params["learning_rate"] == pytest.approx(tuning.best_params["learning_rate"])
    assert booster.params["num_leaves"] == tuning.best_params["num_leaves"]
    assert booster.params["min_data_in_leaf"] == tuning.best_params["min_data_in_leaf"]
    # The refit is made like the best trial's model, so it scores the same on validation.
    assert first.valid_metrics["log_loss"] == pytest.approx(tuning.best_value, abs=1e-12)
    assert run.data.metrics["tune_best_valid_log_loss"] == pytest.approx(tuning.best_value)


@pytest.mark.slow
def test_the_same_seed_gives_the_same_study_and_the_same_model(tuned, split):
    first, second = tuned
    assert first.run_id != second.run_id and first.version != second.version
    assert first.tuning.best_params == second.tuning.best_params
    assert first.tuning.best_value == second.tuning.best_value
    one = load_bundle(f"models:/{MODEL}/{first.version}").predict_proba(split.test)
    two = load_bundle(f"models:/{MODEL}/{second.version}").predict_proba(split.test)
    assert len(one) == len(split.test) and np.unique(one).size > 5
    np.testing.assert_array_equal(one, two)
    assert first.metrics == second.metrics


@pytest.mark.slow
def test_headline_metrics_and_version_tags_are_on_the_test_period(tuned, split):
    first, second = tuned
    run = mlflow.get_run(first.run_id)
    assert {"test_roc_auc", "test_log_loss", "valid_roc_auc", "valid_log_loss"} <= set(
        run.data.metrics
    )
    assert run.data.metrics["test_roc_auc"] == pytest.approx(first.metrics["roc_auc"])
    assert first.metrics["rows"] == len(split.test)
    assert first.valid_metrics["rows"] == len(split.valid)
    tags = MlflowClient().get_model_version(MODEL, first.version).tags
    assert float(tags["test_roc_auc"]) == pytest.approx(first.metrics["roc_auc"], abs=1e-4)
    assert not any(key.startswith("valid_") for key in tags)
    assert tags["training_window"] < tags["validation_window"] < tags["test_window"]
    assert tags["test_window"] == (
        f"{split.test['as_of'].min().date()}..{split.test['as_of'].max().date()}"
    )
    # The second run ties the champion on the same test rows: promoted by the >= rule.
    assert second.promoted and second.reason.startswith("test roc_auc")


@pytest.mark.slow
def test_the_command_line_summary_names_the_test_period_and_the_study(tuned, capsys, monkeypatch):
    from leadscore.show import show_run

    monkeypatch.setenv("COLUMNS", "250")
    first, _ = tuned
    show_run(first, MODEL, "sqlite:///store.db")
    out = capsys.readouterr().out
    assert f"out-of-time test period: {int(first.metrics['rows']):,} rows" in out
    assert f"log loss {first.valid_metrics['log_loss']:.4f}" in out
    best = first.tuning.best_value
    assert f"tuning: 2 trials (0 pruned), best validation log_loss {best:.4f}" in out
    assert "learning_rate=" in out


class PruneSecondTrial(optuna.pruners.BasePruner):
    """Prunes trial 1 at its first report, keeps every other trial."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number == 1


@pytest.mark.slow
def test_a_pruned_trial_finishes_its_run_tagged_as_pruned(source, tracking_uri):
    config = _config(Path("."))
    mlflow.set_experiment("leadscore")
    with mlflow.start_run(run_name="prune-test") as parent:
        result = tune(
            trial_scorer(source.tuning_rows(config.seed), source, config),
            config.lgbm_params,
            model_name=config.model_name,
            run_id=parent.info.run_id,
            trials=config.trials,
            metric=config.tune_metric,
            seed=config.seed,
            pruner=PruneSecondTrial(),
        )
    assert result.n_trials == 2 and result.n_pruned == 1 and result.best_trial == 0
    trials = mlflow.search_runs(
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        order_by=["start_time ASC"],
        experiment_names=["leadscore"],
    )
    assert list(trials["tags.optuna_state"]) == ["COMPLETE", "PRUNED"]
    assert list(trials["status"]) == ["FINISHED", "FINISHED"]
    pruned = trials.iloc[1]
    # Pruned at its first report: the first tree count reaching a shrinkage of 0.5.
    rate = float(pruned["params.lgbm_learning_rate"])
    assert pruned["metrics.pruned_at_trees"] == math.ceil(SHRINKAGE_STEP / rate - 1e-9)
    assert pruned["metrics.raw_valid_log_loss"] > 0
    assert np.isnan(pruned["metrics.valid_log_loss"])


def _lgbm_data(seed: int = 0) -> tuple[lgb.Dataset, lgb.Dataset]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(600, 3))
    labels = (features[:, 0] + rng.normal(size=600) > 1).astype(int)
    fit = lgb.Dataset(features[:400], labels[:400])
    return fit, lgb.Dataset(features[400:], labels[400:], reference=fit)


def _train_watched(trial: optuna.Trial, rounds: int, learning_rate: float = 0.05, **params):
    fit, valid = _lgbm_data()
    callback = PruneOnValidLoss(trial, learning_rate)
    settings = {"objective": "binary", "learning_rate": learning_rate, "verbosity": -1}
    booster = lgb.train(
        settings | {"num_threads": 1} | params,
        fit,
        rounds,
        valid_sets=[valid],
        valid_names=[VALID_SET],
        callbacks=[callback],
    )
    return booster, callback


def test_the_pruning_callback_stops_a_trial_worse_than_the_median():
    study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    # An earlier trial that had a perfect validation loss at every report.
    study.add_trial(
        optuna.trial.create_trial(value=0.0, intermediate_values={s: 0.0 for s in (1, 2, 3)})
    )
    trial = study.ask()
    with pytest.raises(optuna.TrialPruned, match="after 10 trees"):
        _train_watched(trial, 50)
    # Step 1 is a shrinkage of 0.5: 10 trees at a learning rate of 0.05.
    (loss,) = study.trials[1].intermediate_values.values()
    assert study.trials[1].intermediate_values == {1: loss} and 0 < loss < 0.7


def test_the_pruning_callback_reports_at_equal_shrinkage_and_keeps_a_good_trial():
    study = optuna.create_study(pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    study.add_trial(optuna.trial.create_trial(value=1.0, intermediate_values={1: 1.0, 2: 1.0}))
    booster, callback = _train_watched(study.ask(), 25, learning_rate=0.1)
    assert booster.current_iteration() == 25
    # At 0.1 a step is 5 trees: five reports, the last after 25 trees.
    assert sorted(study.trials[1].intermediate_values) == [1, 2, 3, 4, 5]
    trees, step, loss = callback.last
    assert (trees, step) == (25, 5) and loss == study.trials[1].intermediate_values[5]


def test_the_pruning_callback_needs_the_validation_log_loss():
    study = optuna.create_study()
    with pytest.raises(ValueError, match="binary_logloss"):
        _train_watched(study.ask(), 20, metric="auc")


@pytest.mark.slow
def test_watching_the_validation_rows_leaves_the_trees_unchanged(source):
    from training.boost import train_booster

    config = _config(Path("."))
    levels = fit_levels(source.periods["fit"], source.categorical)
    seen: dict[str, set[str]] = {"plain": set(), "watched": set()}

    def record(key: str):
        return lambda env: seen[key].update(name for name, *_ in env.evaluation_result_list)

    inputs = encode(source.periods, source.columns, levels)
    settings = boost_settings(config.boosting, config.seed, source.columns, levels)
    fit, stop, valid = inputs["fit"], inputs["stop"], inputs["valid"]
    plain = train_booster(settings, fit, {STOP_SET: stop}, [record("plain")])
    watched = train_booster(settings, fit, {STOP_SET: stop, VALID_SET: valid}, [record("watched")])
    assert seen == {"plain": {STOP_SET}, "watched": {STOP_SET, VALID_SET}}
    assert plain.best_iteration == watched.best_iteration
    matrix = to_model_input(source.split.test, list(source.columns), levels)
    np.testing.assert_array_equal(plain.predict(matrix), watched.predict(matrix))


def test_the_study_lives_beside_a_local_store_or_in_mlruns(tmp_path, monkeypatch):
    store = tmp_path / "store"
    store.mkdir()
    assert study_storage(f"sqlite:///{store}/mlflow.db") == f"sqlite:///{store / 'optuna.db'}"
    monkeypatch.chdir(tmp_path)
    remote = study_storage("http://127.0.0.1:5000")
    assert remote == f"sqlite:///{tmp_path / 'mlruns' / 'optuna.db'}"
    assert (tmp_path / "mlruns").is_dir()


def test_bad_tuning_settings_are_rejected():
    with pytest.raises(ValueError, match="trials"):
        RunConfig(EventLog(Path(".")), trials=-1)
    with pytest.raises(ValueError, match="tune_metric"):
        RunConfig(EventLog(Path(".")), tune_metric="roc_auc")
