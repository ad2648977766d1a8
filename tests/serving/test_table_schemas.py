"""The /score record generated from a table model's spec: its columns, typed, nothing else."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from features.tabular.spec import TabularSpec, prepare_tabular
from serving.requests import records_to_table
from serving.schemas import table_record_model

TABLE = TabularSpec(
    id_column="Prospect ID",
    target="Converted",
    features=("Lead Origin", "TotalVisits", "Do Not Email"),
    categorical=("Lead Origin", "Do Not Email"),
    numeric=("TotalVisits",),
    excluded=(("Tags", "excluded by request"),),
)


@pytest.fixture
def record():
    return table_record_model(TABLE)


def test_fields_are_the_table_columns_by_their_own_names(record):
    schema = record.model_json_schema()
    assert list(schema["properties"]) == ["Prospect ID", *TABLE.features]
    assert schema["required"] == ["Prospect ID"]
    lead = record.model_validate({"Prospect ID": 42, "TotalVisits": "3.5", "Do Not Email": False})
    assert lead.model_dump(by_alias=True) == {
        "Prospect ID": "42",
        "Lead Origin": None,
        "TotalVisits": 3.5,
        "Do Not Email": "False",
    }
    nulls = {"Prospect ID": "a", "Lead Origin": None, "TotalVisits": None, "Do Not Email": None}
    assert record.model_validate(nulls).model_dump(by_alias=True) == nulls
    with pytest.raises(ValidationError, match="Lead Origin"):
        record.model_validate({"Prospect ID": "a", "Lead Origin": "x" * 1001})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"Prospect ID": "a", "Tags": "Ringing"}, "Tags"),
        ({"Prospect ID": "a", "Converted": 1}, "Converted"),
        ({"Prospect ID": "a", "TotalVisits": "many"}, "TotalVisits"),
        ({"Prospect ID": ""}, "Prospect ID"),
        ({"Lead Origin": "API"}, "Prospect ID"),
    ],
)
def test_bad_records_name_the_field(record, body, field):
    with pytest.raises(ValidationError) as error:
        record.model_validate(body)
    assert error.value.errors()[0]["loc"] == (field,)


def test_records_become_table_rows_with_every_column(record):
    leads = [
        record.model_validate({"Prospect ID": "a", "Lead Origin": "API"}),
        record.model_validate({"Prospect ID": "b", "TotalVisits": 2}),
    ]
    table = records_to_table(leads)
    assert list(table.columns) == ["Prospect ID", "Lead Origin", "TotalVisits", "Do Not Email"]
    features = prepare_tabular(table, TABLE)
    assert features.index.tolist() == ["a", "b"]
    assert features["TotalVisits"].isna().tolist() == [True, False]
    assert features["Lead Origin"].tolist()[0] == "api" and pd.isna(features["Do Not Email"]).all()


DATED = TabularSpec(
    id_column="lead_id",
    target="won",
    features=("origin", "created month", "created hour"),
    categorical=("origin",),
    numeric=("created month", "created hour"),
    dates=(("created", "%d/%m/%Y %H:%M", True),),
)


def test_a_dated_model_takes_the_date_as_text_and_derives_its_features():
    record = table_record_model(DATED)
    assert list(record.model_json_schema()["properties"]) == ["lead_id", "origin", "created"]
    lead = record.model_validate({"lead_id": "l1", "origin": "chat", "created": "31/12/2026 14:05"})
    features = prepare_tabular(records_to_table([lead]), DATED)
    assert features.loc["l1", "created month"] == 12 and features.loc["l1", "created hour"] == 14
    with pytest.raises(ValidationError, match="not a date written as '%d/%m/%Y %H:%M'"):
        record.model_validate({"lead_id": "l2", "created": "2026-12-31"})
    assert record.model_validate({"lead_id": "l3"}).model_dump(by_alias=True)["created"] is None
