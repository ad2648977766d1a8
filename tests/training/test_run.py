"""A real training run on a small simulated audience, into a throw-away MLflow store."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from features.schema import FEATURE_VERSION
from training import registry
from training.config import RunConfig
from training.run import train
from training.sources.events import EventLog

pytestmark = pytest.mark.slow


def test_run_is_logged_registered_and_promoted(trained):
    assert trained.promoted and trained.reason == "passes the readiness floor; no champion yet"
    assert 0.65 < trained.metrics["roc_auc"] <= trained.metrics.get("oracle_roc_auc", 1.0) + 0.05
    assert trained.metrics["log_loss"] < trained.metrics["log_loss_baseline"]
    assert trained.tuning is None and trained.valid_metrics["roc_auc"] > 0.65
    run = mlflow.get_run(trained.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["feature_version"] == FEATURE_VERSION
    logged = run.data.metrics
    assert {"valid_roc_auc", "valid_pr_auc", "valid_log_loss"} <= set(logged)
    assert {"test_roc_auc", "test_pr_auc", "test_log_loss", "test_oracle_roc_auc"} <= set(logged)
    assert logged["test_roc_auc"] == pytest.approx(trained.metrics["roc_auc"])
    assert logged["valid_roc_auc"] == pytest.approx(trained.valid_metrics["roc_auc"])
    # Baselines are judged on the test rows too.
    assert logged["baseline_logistic_rows"] == trained.metrics["rows"]
    assert not any(key.startswith("tune_") for key in logged)
    client = MlflowClient()
    tags = client.get_model_version("lead-scorer", trained.version).tags
    assert tags["feature_version"] == FEATURE_VERSION and len(tags["data_fingerprint"]) == 16
    assert float(tags["test_roc_auc"]) == pytest.approx(trained.metrics["roc_auc"], abs=1e-4)
    assert tags["training_window"] < tags["validation_window"] < tags["test_window"]
    assert (
        str(client.get_model_version_by_alias("lead-scorer", "champion").version) == trained.version
    )
    assert str(client.get_model_version_by_alias("lead-scorer", "challenger").version) == (
        trained.version
    )


def test_metrics_are_on_test_rows_and_cutoffs_on_validation_rows(trained, audience_dir):
    from serving.model.bundle import load_bundle
    from serving.model.scores import make_score_cutoffs
    from training.evaluate import evaluate_scores

    split = EventLog(audience_dir).load().split
    bundle = load_bundle(f"models:/lead-scorer/{trained.version}")
    test = evaluate_scores(split.test["converted"].to_numpy(), bundle.predict_proba(split.test))
    assert test["rows"] == trained.metrics["rows"] == len(split.test)
    assert test["roc_auc"] == pytest.approx(trained.metrics["roc_auc"])
    assert test["log_loss"] == pytest.approx(trained.metrics["log_loss"])
    assert bundle.spec.metrics["roc_auc"] == pytest.approx(trained.metrics["roc_auc"])
    assert trained.valid_metrics["rows"] == len(split.valid)
    cutoffs = make_score_cutoffs(bundle.predict_proba(split.valid))
    np.testing.assert_allclose(bundle.spec.score_cutoffs, cutoffs)
    assert split.valid["as_of"].max() < split.test["as_of"].min()


def test_pyfunc_returns_probabilities(trained, audience_dir):
    from features.build import build_follower_features
    from features.events.load import load_tables

    tables = load_tables(audience_dir)
    features = build_follower_features(tables.interactions, tables.followers.head(50), "2026-05-01")
    model = mlflow.pyfunc.load_model(f"models:/lead-scorer/{trained.version}")
    predicted = model.predict(features.reset_index(drop=True))
    assert list(predicted.columns) == ["probability"] and len(predicted) == 50
    assert predicted["probability"].between(0, 1).all()
    assert predicted["probability"].nunique() > 5


def test_worse_challenger_is_not_promoted_and_rollback_works(trained, audience_dir):
    weak = RunConfig(
        EventLog(audience_dir),
        num_boost_round=1,
        lgbm_params={
            "objective": "binary",
            "num_leaves": 2,
            "learning_rate": 0.01,
            "verbosity": -1,
        },
    )
    result = train(weak)
    assert not result.promoted and "< champion's" in result.reason, result.reason
    assert registry.champion_version("lead-scorer") == trained.version
    challenger = MlflowClient().get_model_version_by_alias("lead-scorer", "challenger")
    assert str(challenger.version) == result.version
    registry.promote("lead-scorer", result.version)
    assert registry.champion_version("lead-scorer") == result.version
    assert registry.rollback("lead-scorer") == trained.version
    assert registry.champion_version("lead-scorer") == trained.version
    with pytest.raises(ValueError, match="no earlier champion"):
        registry.rollback("lead-scorer")


def test_missing_conversions_is_a_clear_error(audience_dir, tmp_path):
    for name in ("followers", "interactions"):
        (tmp_path / f"{name}.parquet").write_bytes((audience_dir / f"{name}.parquet").read_bytes())
    with pytest.raises(ValueError, match="training needs a conversions table"):
        train(RunConfig(EventLog(tmp_path)))


def test_a_failed_run_is_marked_failed_and_keeps_the_champion(trained, audience_dir):
    champion = registry.champion_version("lead-scorer")
    broken = RunConfig(EventLog(audience_dir), lgbm_params={"objective": "no-such-objective"})
    with pytest.raises(Exception, match="objective"):
        train(broken)
    runs = mlflow.search_runs(order_by=["start_time DESC"], max_results=1)
    assert runs.iloc[0]["status"] == "FAILED"
    assert registry.champion_version("lead-scorer") == champion
