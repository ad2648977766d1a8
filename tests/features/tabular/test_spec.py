"""Tabular mode: spec inference, prepared frames, the split and reading tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.tabular.spec import (
    TabularSpec,
    infer_tabular_spec,
    make_tabular_target,
    prepare_tabular,
)
from serving.model.encode import CategoryLevels, to_model_input


@pytest.fixture
def leads() -> pd.DataFrame:
    """Five leads shaped like Leads.csv: placeholders, mixed casing, a constant column."""
    return pd.DataFrame(
        {
            "lead_id": ["p1", "p2", "p3", "p4", "p5"],
            "source": ["Google", "google ", "Direct Traffic", None, "Olark Chat"],
            "city": ["Mumbai", "Select", "Thane", "Select", None],
            "visits": [3.0, np.nan, 0.0, 7.0, 1.0],
            "seconds": [120, 0, 35, 900, 5],
            "opt_out": [False, True, False, False, True],
            "magazine": ["No"] * 5,
            "tag": ["x", "y", "x", "y", "x"],
            "converted": ["Yes", "No", "No", "Yes", "No"],
        }
    )


@pytest.fixture
def spec(leads: pd.DataFrame) -> TabularSpec:
    return infer_tabular_spec(leads, "lead_id", "converted", exclude=["tag"])


def test_infer_splits_columns_by_dtype_and_excludes_constant(spec: TabularSpec) -> None:
    assert spec.features == ("source", "city", "visits", "seconds", "opt_out")
    assert spec.categorical == ("source", "city", "opt_out")
    assert spec.numeric == ("visits", "seconds")
    assert spec.exclusion_reasons == {"tag": "excluded by request", "magazine": "constant"}
    assert spec.target_mapping == "'Yes' -> 1, 'No' -> 0"


def test_spec_round_trips_through_dict(spec: TabularSpec) -> None:
    assert TabularSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1, 0, 1], [1, 0, 1]), ([True, False, False], [1, 0, 0]), (["no", "Yes ", "NO"], [0, 1, 0])],
)
def test_target_spellings_map_to_int8(values: list, expected: list[int]) -> None:
    table = pd.DataFrame({"id": [1, 2, 3], "x": [1.0, 2.0, 3.0], "y": values})
    spec = infer_tabular_spec(table, "id", "y")
    target = make_tabular_target(table, spec)
    assert target.dtype == np.int8
    assert target.tolist() == expected
    assert target.index.tolist() == [1, 2, 3]
    assert target.name == "y"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"y": [1, 2, 0]}, "target 'y' must be 0/1"),
        ({"y": [1, None, 0]}, "target 'y' has 1 missing"),
        ({"y": [1, 1, 1]}, "single class"),
        ({"id": [1, 1, 2]}, "id column 'id' has duplicated ids"),
        ({"id": ["a", " ", "c"]}, "id column 'id' has 1 empty"),
    ],
)
def test_infer_rejects_bad_target_or_ids(change: dict, message: str) -> None:
    table = pd.DataFrame({"id": [1, 2, 3], "x": [1.0, 2.0, 3.0], "y": [1, 0, 1]} | change)
    with pytest.raises(ValueError, match=message):
        infer_tabular_spec(table, "id", "y")


@pytest.mark.parametrize(
    ("id_column", "target", "exclude", "missing"),
    [
        ("nope", "converted", (), "'nope'"),
        ("lead_id", "won", (), "'won'"),
        ("lead_id", "converted", ("Tags",), "'Tags'"),
    ],
)
def test_infer_names_absent_columns(
    leads: pd.DataFrame, id_column: str, target: str, exclude: tuple[str, ...], missing: str
) -> None:
    with pytest.raises(ValueError, match=f"no column.*{missing}"):
        infer_tabular_spec(leads, id_column, target, exclude=exclude)


def test_prepare_cleans_values_and_keeps_missing(leads: pd.DataFrame, spec: TabularSpec) -> None:
    features = prepare_tabular(leads, spec)
    assert features.index.name == "lead_id"
    assert features.index.tolist() == ["p1", "p2", "p3", "p4", "p5"]
    assert list(features.columns) == list(spec.features)
    assert features["source"].tolist()[:3] == ["google", "google", "direct traffic"]
    assert features["source"].isna().tolist() == [False, False, False, True, False]
    assert features["city"].isna().tolist() == [False, True, False, True, True]
    assert features["opt_out"].tolist() == ["false", "true", "false", "false", "true"]
    assert features["visits"].isna().tolist() == [False, True, False, False, False]
    assert features["seconds"].dtype == np.float64
    assert features["source"].dtype == "str"


def test_prepare_leaves_input_untouched(leads: pd.DataFrame, spec: TabularSpec) -> None:
    before = leads.copy()
    prepare_tabular(leads, spec)
    pd.testing.assert_frame_equal(leads, before)


def test_placeholders_are_a_parameter(leads: pd.DataFrame, spec: TabularSpec) -> None:
    features = prepare_tabular(leads, spec, placeholders=("Select", "Thane"))
    assert features["city"].isna().tolist() == [False, True, True, True, True]
    assert prepare_tabular(leads, spec, placeholders=())["city"].tolist()[1] == "select"


def test_prepare_scores_a_table_without_target(leads: pd.DataFrame, spec: TabularSpec) -> None:
    to_score = leads.drop(columns=["converted", "tag", "magazine"]).iloc[::-1]
    features = prepare_tabular(to_score, spec)
    assert features.index.tolist() == ["p5", "p4", "p3", "p2", "p1"]
    with pytest.raises(ValueError, match="'visits'"):
        prepare_tabular(to_score.drop(columns=["visits"]), spec)


def test_prepare_rejects_text_in_numeric_column(leads: pd.DataFrame, spec: TabularSpec) -> None:
    table = leads.assign(visits=["3", "Select", "", "seven", "1"])
    with pytest.raises(ValueError, match="numeric column 'visits'.*'seven'"):
        prepare_tabular(table, spec)
    table = leads.assign(visits=["3", "Select", "", "7", "1"])
    assert prepare_tabular(table, spec)["visits"].isna().tolist() == [
        False,
        True,
        True,
        False,
        False,
    ]


def test_unseen_and_missing_categories_encode_to_nan(
    leads: pd.DataFrame, spec: TabularSpec
) -> None:
    levels = CategoryLevels(spec.categorical).fit(prepare_tabular(leads, spec))
    new = leads.assign(source=["Facebook", "GOOGLE", None, "Select", "google"])
    matrix = to_model_input(prepare_tabular(new, spec), spec.features, levels.levels_)
    google = levels.levels_["source"].index("google")
    assert np.isnan(matrix[[0, 2, 3], 0]).all()
    assert matrix[[1, 4], 0].tolist() == [google, google]
    assert matrix[:, 3].tolist() == [120.0, 0.0, 35.0, 900.0, 5.0]


def test_bad_number_error_names_the_lead(leads: pd.DataFrame, spec: TabularSpec) -> None:
    table = leads.assign(visits=["3", "1", "", "seven", "eight"])
    with pytest.raises(
        ValueError, match=r"'visits' has 2 non-numeric.*'seven' \(row with id 'p4'\)"
    ):
        prepare_tabular(table, spec)


def test_number_codes_in_a_categorical_column_read_as_their_text(leads, spec) -> None:
    # Trained on text codes; a later export reads the same codes as numbers (3.0 once one is
    # missing): the levels must still match.
    text = prepare_tabular(leads.assign(source=["3", "4", "3", None, "5"]), spec)
    numbers = prepare_tabular(leads.assign(source=[3.0, 4.0, 3.0, np.nan, 5.5]), spec)
    assert text["source"].tolist()[:3] == numbers["source"].tolist()[:3] == ["3", "4", "3"]
    assert numbers["source"].tolist()[4] == "5.5" and numbers["source"].isna().tolist()[3]
