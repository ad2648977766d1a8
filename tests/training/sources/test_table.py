"""Tabular mode training: audit, split, model, MLflow run, registry, promotion, CLI."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from features.tabular.spec import TABLE_VERSION
from serving.batch import score_lead_table
from serving.model.bundle import load_bundle
from serving.model.spec import EventsInput, ModelSpec, TableInput
from tests.conftest import (
    CRM_MODEL,
    LEADS,
    POST_CONTACT,
    fast_table_config,
    load_source,
    make_crm_table,
)
from training import registry
from training.boost import booster_feature_names
from training.registry import spec_mismatch
from training.run import train
from training.sources.table import stratified_split


def test_prepare_audits_only_non_test_rows_and_excludes_leaks(crm_table):
    data = load_source(fast_table_config(crm_table))
    fit, stop, test = data.parts
    assert (len(fit), len(stop), len(test)) == (1280, 320, 400)
    assert data.target[test].mean() == pytest.approx(data.target.mean(), abs=0.01)
    assert set(data.audit["column"]) == {"Status Tag", "Deal Score"}
    assert (data.audit["action"] == "excluded").all()
    reasons = data.spec.exclusion_reasons
    assert reasons["Lead Number"] == "excluded by request"
    assert reasons["Newsletter"] == "constant"
    assert reasons["Deal Score"].startswith("leakage audit: single-column ROC AUC 1.000")
    assert "converts at" in reasons["Status Tag"]
    assert list(data.features.columns) == list(data.spec.features) == [
        "Lead Origin", "Lead Source", "City", "Time on Site", "Visits", "Opt Out",
    ]  # fmt: skip


def test_audit_never_sees_the_test_rows(crm_table, tmp_path):
    data = load_source(fast_table_config(crm_table))
    # Scramble both leaks on the test rows only: the split follows the target, so it is the
    # same, and the audit's findings (counts included) must not move.
    table = pd.read_csv(crm_table)
    test = data.parts[2]
    table.loc[test, "Status Tag"] = "Closed Won"
    table.loc[test, "Deal Score"] = np.random.default_rng(0).normal(0, 50, len(test))
    table.to_csv(tmp_path / "scrambled.csv", index=False)
    again = load_source(fast_table_config(tmp_path / "scrambled.csv"))
    assert all(np.array_equal(a, b) for a, b in zip(again.parts, data.parts, strict=True))
    pd.testing.assert_frame_equal(again.audit, data.audit)


def test_keep_overrides_the_audit_and_unknown_keep_is_an_error(crm_table):
    data = load_source(fast_table_config(crm_table, keep=("Status Tag",)))
    assert "Status Tag" in data.spec.features
    kept = data.audit.set_index("column")["action"]
    assert kept["Status Tag"] == "kept (--keep)" and kept["Deal Score"] == "excluded"
    with pytest.raises(ValueError, match="--keep names column.*Lead Number"):
        load_source(fast_table_config(crm_table, keep=("Lead Number",)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target": "Won"}, "no column.*'Won'"),
        ({"id_column": "Lead Origin"}, "id column 'Lead Origin' has duplicated ids"),
        ({"exclude": ("Lead Number", "Nope")}, "no column.*'Nope'"),
    ],
)
def test_bad_settings_are_clear_errors(crm_table, changes, message):
    with pytest.raises(ValueError, match=message):
        load_source(fast_table_config(crm_table, **changes))


def test_too_few_rows_of_a_class_is_a_clear_error(tmp_path):
    table = make_crm_table(200).assign(Converted=[1] * 5 + [0] * 195)
    table.to_csv(tmp_path / "few.csv", index=False)
    with pytest.raises(ValueError, match="only 5 rows of one class"):
        load_source(fast_table_config(tmp_path / "few.csv"))


def test_booster_feature_names_are_safe_and_unique():
    names = booster_feature_names(["Lead Origin", "Lead-Origin", "a:b,{c}", "é"])
    assert names == ["Lead_Origin", "Lead_Origin_1", "a_b_c", "column"]


@pytest.mark.slow
def test_table_run_is_logged_registered_and_promoted(table_trained):
    result = table_trained
    assert result.promoted and "no champion yet" in result.reason
    assert 0.75 < result.metrics["roc_auc"] < 0.95  # the leaks are out, the signal is in
    assert result.metrics["log_loss"] < result.metrics["log_loss_baseline"]
    assert set(result.baselines) == {"logistic", "LightGBM default"}
    assert result.summary.rows == {"fit": 1280, "stop": 320, "test": 400}
    assert {"Status Tag", "Deal Score", "Newsletter"} <= dict(result.summary.excluded).keys()
    run = mlflow.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["mode"] == "table" and tags["feature_version"] == TABLE_VERSION
    assert len(tags["data_fingerprint"]) == 16
    assert tags["leakage_excluded"] == "Status Tag, Deal Score"
    assert run.data.params["exclude"] == "Lead Number" and run.data.params["test_rows"] == "400"
    assert run.data.metrics["test_roc_auc"] == pytest.approx(result.metrics["roc_auc"])
    assert "baseline_logistic_roc_auc" in run.data.metrics
    client = MlflowClient()
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "report")}
    assert "report/report.html" in artifacts
    audit = mlflow.artifacts.load_dict(f"runs:/{result.run_id}/audit/leakage_audit.json")
    assert [row["column"] for row in audit["flagged"]] == ["Status Tag", "Deal Score"]
    assert audit["audited_rows"] == 1600 and "Status Tag" not in audit["features"]
    version = client.get_model_version(CRM_MODEL, result.version)
    assert version.tags["mode"] == "table" and version.tags["id_column"] == "Lead ID"
    assert float(version.tags["test_roc_auc"]) == pytest.approx(result.metrics["roc_auc"], 1e-4)
    assert registry.champion_version(CRM_MODEL) == result.version


@pytest.mark.slow
def test_table_bundle_carries_spec_and_pyfunc_matches_batch(table_trained, crm_table):
    bundle = load_bundle(f"models:/{CRM_MODEL}/{table_trained.version}")
    spec = bundle.spec
    assert spec.kind == "table" and spec.entity_key == "Lead ID"
    assert spec.inputs.placeholders == ["Select"] and len(spec.score_cutoffs) == 98
    assert spec.categorical_levels["Lead Source"][:2] in (
        ["google", "direct traffic"], ["google", "olark chat"],
    )  # fmt: skip
    assert "select" not in spec.categorical_levels["City"]
    assert spec.inputs.phrases["labels"]["Lead Source"]["google"] in ("Google", "google")
    model = mlflow.pyfunc.load_model(f"models:/{CRM_MODEL}/{table_trained.version}")
    inputs = [column.name for column in model.metadata.get_input_schema().inputs]
    assert inputs == ["Lead ID", *spec.feature_columns]
    table = pd.read_csv(crm_table).head(50)
    numeric = spec.inputs.columns.numeric
    predicted = model.predict(table.astype(dict.fromkeys(numeric, "float64")))
    batch = score_lead_table(crm_table, bundle, table_trained.version, reasons=0).head(50)
    np.testing.assert_allclose(predicted["probability"], batch["probability"], rtol=0, atol=1e-12)


@pytest.mark.slow
def test_batch_scores_every_row_with_reasons_and_clear_errors(table_trained, crm_table, tmp_path):
    bundle = load_bundle(f"models:/{CRM_MODEL}/{table_trained.version}")
    scores = score_lead_table(crm_table, bundle, table_trained.version)
    assert list(scores.columns[:4]) == ["Lead ID", "probability", "score", "tier"]
    assert len(scores) == 2000 and scores["Lead ID"].iloc[0] == "L00000"
    assert scores["score"].between(1, 99).all() and set(scores["tier"]) == set("ABCD")
    reasons = [reason for row in scores["reasons_up"] for reason in row]
    assert any(r.startswith("Lead Origin is Lead Add Form") for r in reasons)
    assert any(r.startswith("Time on Site is ") and r.endswith("(high)") for r in reasons)
    # An unseen origin scores (as missing); the target and extra columns are ignored.
    table = make_crm_table(20, seed=3).drop(columns=["Converted", "Status Tag"])
    table.loc[0, "Lead Origin"] = "Carrier Pigeon"
    table.to_csv(tmp_path / "new.csv", index=False)
    fresh = score_lead_table(tmp_path / "new.csv", bundle, "1")
    assert len(fresh) == 20 and 0 < fresh["probability"].iloc[0] < 1
    table.drop(columns=["Visits"]).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ValueError, match="no column.*'Visits'"):
        score_lead_table(tmp_path / "short.csv", bundle, "1")
    table.assign(Visits=["many"] + [1.0] * 19).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="numeric column 'Visits'.*'many'.*'L00000'"):
        score_lead_table(tmp_path / "bad.csv", bundle, "1")


@pytest.mark.slow
def test_weaker_challenger_on_the_same_columns_is_compared_on_the_same_test_rows(
    table_trained, crm_table
):
    weak = fast_table_config(crm_table, num_boost_round=2, baselines=False)
    result = train(weak)
    assert not result.promoted
    assert "< champion's" in result.reason and "same test rows" in result.reason
    assert registry.champion_version(CRM_MODEL) == table_trained.version


@pytest.mark.slow
def test_champion_of_another_mode_or_columns_is_never_replaced(trained, table_trained, crm_table):
    # An events-mode champion under the name the table run registers to.
    source = MlflowClient().get_model_version("lead-scorer", trained.version).source
    events = mlflow.register_model(source, "crm-mixed").version
    registry.promote("crm-mixed", str(events))
    result = train(fast_table_config(crm_table, model_name="crm-mixed", baselines=False))
    assert not result.promoted
    assert "is a events-mode model, this one a table-mode model" in result.reason
    assert registry.champion_version("crm-mixed") == str(events)
    # Other columns: a table champion that reads one column more.
    kept = train(fast_table_config(crm_table, keep=("Status Tag",), baselines=False))
    assert not kept.promoted and "reads other columns" in kept.reason
    assert "adds ['Status Tag']" in kept.reason
    assert registry.champion_version(CRM_MODEL) == table_trained.version


def test_spec_mismatch_names_mode_id_target_and_columns():
    table = {
        "id_column": "id", "target": "won", "features": ["a", "b"],
        "categorical": ["a"], "numeric": ["b"],
    }  # fmt: skip
    spec = ModelSpec("table-v1", ["a", "b"], {}, [], "now", TableInput(table))
    events = ModelSpec("v2", ["x"], {}, [], "now", EventsInput(28))
    assert spec_mismatch(spec, spec) is None
    assert "events-mode" in spec_mismatch(events, spec)
    other_id = ModelSpec("table-v1", [], {}, [], "now", TableInput(table | {"id_column": "x"}))
    assert "another id column ('x'; this one 'id')" in spec_mismatch(other_id, spec)
    fewer = table | {"features": ["a"], "numeric": []}
    old = ModelSpec("table-v1", ["a"], {}, [], "now", TableInput(fewer))
    assert spec_mismatch(old, spec) == "reads other columns (this one adds ['b'], drops none)"
    shorter = ModelSpec("v2", ["x"], {}, [], "now", EventsInput(14))
    assert spec_mismatch(shorter, events) == "predicts 14 days ahead (this one 28)"
    older = ModelSpec("v1", ["x"], {}, [], "now", EventsInput(28))
    assert spec_mismatch(older, events) == "uses feature version v1 (this one v2)"


@pytest.mark.slow
def test_a_failed_table_run_is_marked_failed_and_keeps_the_champion(table_trained, crm_table):
    broken = fast_table_config(crm_table, lgbm_params={"objective": "no-such-objective"})
    with pytest.raises(Exception, match="objective"):
        train(broken)
    runs = mlflow.search_runs(order_by=["start_time DESC"], max_results=1)
    assert runs.iloc[0]["status"] == "FAILED" and runs.iloc[0]["tags.mode"] == "table"
    assert registry.champion_version(CRM_MODEL) == table_trained.version


@pytest.mark.slow
@pytest.mark.skipif(not LEADS.exists(), reason="the shared Leads.csv is not on this machine")
def test_leakage_audit_on_the_real_leads_file():
    from features.io import read_table
    from training.sources.table import LeadTable

    table = read_table(LEADS)
    assert len(table) == 9240
    leaky = LeadTable(LEADS, "Prospect ID", "Converted", ("Lead Number",)).load()
    flagged = set(leaky.audit["column"])
    assert {"Tags", "Lead Quality"} <= flagged
    honest = LeadTable(LEADS, "Prospect ID", "Converted", ("Lead Number", *POST_CONTACT))
    data = honest.load()
    # One acquisition channel of Lead Source (Welingak Website) converts at 98 %.
    assert data.audit["column"].tolist() == ["Lead Source"]
    assert len(data.spec.features) == 21 and "Last Activity" in data.spec.features
    assert json.dumps(data.spec.to_dict())  # JSON-ready for the run


def test_stratified_split_is_reproducible_and_stratified() -> None:
    labels = np.array([1] * 40 + [0] * 60)
    fit, stop, test = stratified_split(labels, test_share=0.2, stop_share=0.25, seed=7)
    assert (len(fit), len(stop), len(test)) == (60, 20, 20)
    assert [labels[part].sum() for part in (fit, stop, test)] == [24, 8, 8]
    assert sorted(np.concatenate([fit, stop, test]).tolist()) == list(range(100))
    again = stratified_split(labels, test_share=0.2, stop_share=0.25, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip((fit, stop, test), again, strict=True))
    other = stratified_split(labels, test_share=0.2, stop_share=0.25, seed=8)
    assert not np.array_equal(test, other[2])
    assert len(stratified_split(labels, stop_share=0)[1]) == 0
