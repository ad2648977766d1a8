"""The model spec: one JSON form with a part per kind, and specs of the first form still read."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from features.schema import DEFAULT_FEATURE_CONFIG, FeatureConfig
from features.tabular.spec import infer_tabular_spec, prepare_tabular
from serving.model.bundle import SPEC_FILE, ScoringBundle, load_spec
from serving.model.encode import CategoryLevels
from serving.model.spec import SPEC_FORMAT, EventsInput, ModelSpec, TableInput, spec_from_dict

FIRST_FORM = {
    "feature_version": "v2",
    "feature_columns": ["n_click_7d"],
    "categorical_levels": {},
    "score_cutoffs": [0.5],
    "horizon_days": 28,
    "trained_at": "2026-01-01T00:00:00+00:00",
    "mode": "events",
    "feature_config": {},
    "calibration": {"method": "platt", "a": 1.0, "b": 0.0},
    "entity_key": "follower_id",
    "metrics": {"roc_auc": 0.8},
    "table": {},
    "placeholders": [],
    "phrases": {},
}


def test_an_events_spec_of_the_first_form_still_loads(tmp_path) -> None:
    (tmp_path / SPEC_FILE).write_text(json.dumps(FIRST_FORM))
    spec = load_spec(tmp_path)
    assert spec.kind == "events" and spec.entity_key == "follower_id"
    assert spec.inputs == EventsInput(28, {}) and spec.inputs.features == DEFAULT_FEATURE_CONFIG
    assert spec.calibration["method"] == "platt" and spec.metrics == {"roc_auc": 0.8}
    with pytest.raises(ValueError, match="mode is 'events': it scores followers"):
        spec.expect(TableInput)


def test_a_table_spec_of_the_first_form_still_loads(small_leads: pd.DataFrame) -> None:
    table = small_leads
    tabular = infer_tabular_spec(table, "id", "won")
    flat = FIRST_FORM | {"mode": "table", "horizon_days": 0, "entity_key": "id"}
    flat |= {"table": tabular.to_dict(), "placeholders": ["Select"], "phrases": {"labels": {}}}
    spec = spec_from_dict(flat)
    assert spec.kind == "table" and spec.entity_key == "id"
    assert spec.expect(TableInput).columns == tabular
    assert spec.inputs.placeholders == ["Select"] and spec.inputs.horizon_days == 0


def test_a_table_spec_round_trips_and_prepares_rows(small_leads: pd.DataFrame, tmp_path) -> None:
    table = small_leads
    tabular = infer_tabular_spec(table, "id", "won")
    levels = CategoryLevels(tabular.categorical).fit(prepare_tabular(table, tabular)).levels_
    part = TableInput(tabular.to_dict(), ["Select"])
    spec = ModelSpec("table-v1", list(tabular.features), levels, [], "now", part)
    form = spec.to_dict()
    assert form["format"] == SPEC_FORMAT and form["kind"] == "table" and "table" in form
    (tmp_path / SPEC_FILE).write_text(json.dumps(form))
    loaded = ScoringBundle(booster=None, spec=load_spec(tmp_path))
    # JSON keeps the values, with lists where the spec held tuples.
    assert loaded.spec.to_dict() == json.loads(json.dumps(form))
    assert loaded.spec.expect(TableInput).columns == tabular
    rows = loaded.prepare(table.drop(columns=["won"]).iloc[[5, 0]])
    assert rows.index.tolist() == ["p5", "p0"]
    assert rows["Lead Source"].isna().tolist() == [True, False]
    with pytest.raises(ValueError, match="mode is 'table': it scores rows of a lead table"):
        spec.expect(EventsInput)


def test_an_events_spec_round_trips_with_its_windows() -> None:
    config = FeatureConfig((3, 14), 7.0)
    spec = ModelSpec("v2", ["n_click_3d"], {}, [0.1], "now", EventsInput(14, config.to_dict()))
    again = spec_from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.inputs.features == config and again.inputs.horizon_days == 14
    frame = pd.DataFrame({"n_click_3d": [1]})
    assert again.inputs.prepare(frame) is frame
    assert again.inputs.say("n_click_3d", 2) == "2 link clicks in the last 3 days"


def test_a_spec_of_an_unknown_form_says_to_retrain() -> None:
    spec = ModelSpec("v2", [], {}, [], "now", EventsInput(28)).to_dict()
    with pytest.raises(ValueError, match="format 9 .* retrain the model"):
        spec_from_dict(spec | {"format": 9})
    with pytest.raises(ValueError, match="kind 'graph' .* retrain the model"):
        spec_from_dict(spec | {"kind": "graph"})
