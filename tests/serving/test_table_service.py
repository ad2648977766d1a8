"""A table-mode model served over real HTTP: its own columns in, the same scores as batch."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest

from serving.batch import score_lead_table
from serving.model.bundle import load_bundle
from tests.conftest import CRM_MODEL, make_crm_table

pytestmark = pytest.mark.slow

COLUMNS = ["Lead ID", "Lead Origin", "Lead Source", "City", "Time on Site", "Visits", "Opt Out"]


@pytest.fixture(scope="module")
def leads() -> pd.DataFrame:
    """Eight new leads: an unseen origin, a placeholder city, missing values, odd casing."""
    table = make_crm_table(8, seed=11)
    table.loc[0, "Lead Origin"] = "Carrier Pigeon"
    table.loc[1, ["City", "Visits", "Lead Source"]] = ["Select", np.nan, None]
    table.loc[2, "Lead Source"] = " GOOGLE "
    return table


def _records(leads: pd.DataFrame) -> list[dict]:
    rows = leads[COLUMNS].astype("object")
    return rows.where(rows.notna(), None).to_dict(orient="records")


def test_table_model_scores_rows_over_http_like_batch(table_server, table_trained, leads, tmp_path):
    reply = httpx.post(f"{table_server}/score", json={"leads": _records(leads)}, timeout=30)
    assert reply.status_code == 200, reply.text
    scores = pd.DataFrame(reply.json()).set_index("id")
    leads.to_csv(tmp_path / "leads.csv", index=False)
    bundle = load_bundle(f"models:/{CRM_MODEL}/{table_trained.version}")
    batch = score_lead_table(tmp_path / "leads.csv", bundle, table_trained.version).set_index(
        "Lead ID"
    )
    assert list(scores.index) == list(batch.index) == list(leads["Lead ID"])
    np.testing.assert_allclose(scores["probability"], batch["probability"], rtol=0, atol=1e-12)
    assert (scores["score"] == batch["score"]).all() and (scores["tier"] == batch["tier"]).all()
    assert scores["reasons_up"].tolist() == batch["reasons_up"].tolist()
    assert scores["reasons_down"].tolist() == batch["reasons_down"].tolist()
    assert (scores["model_version"] == table_trained.version).all()
    # The unseen origin scores like a missing one, and reasons never name a raw code.
    assert 0 < scores.loc["L00000", "probability"] < 1
    reasons = [r for row in scores["reasons_up"] + scores["reasons_down"] for r in row]
    assert all(" is " in reason for reason in reasons)


def test_table_http_errors_name_the_field(table_server):
    def post(route: str, body: dict) -> httpx.Response:
        return httpx.post(f"{table_server}/{route}", json=body, timeout=30)

    bad_number = post("score", {"leads": [{"Lead ID": "a", "Visits": "many"}]})
    assert bad_number.status_code == 400 and "Visits" in bad_number.text
    leaked = post("score", {"leads": [{"Lead ID": "a", "Status Tag": "Closed Won"}]})
    assert leaked.status_code == 400 and "Status Tag" in leaked.text
    no_id = post("score", {"leads": [{"Visits": 3}]})
    assert no_id.status_code == 400 and "Lead ID" in no_id.text
    twice = post("score", {"leads": [{"Lead ID": "a"}, {"Lead ID": "a"}]})
    assert twice.status_code == 400 and "duplicated ids" in twice.text
    events = post("score_events", {"events": []})
    assert events.status_code == 400 and "table-mode model" in events.text
    empty = post("score", {"leads": []})
    assert empty.status_code == 200 and empty.json() == []
    bare = post("score", {"leads": [{"Lead ID": 17, "Opt Out": True}]})
    assert bare.status_code == 200 and bare.json()[0]["id"] == "17"


def test_table_openapi_and_model_info(table_server, table_trained):
    spec = httpx.get(f"{table_server}/docs.json", timeout=30).json()
    record = spec["components"]["schemas"]["LeadRecord"]
    assert list(record["properties"]) == COLUMNS and record["required"] == ["Lead ID"]
    assert record["properties"]["Visits"]["anyOf"][0]["type"] == "number"
    body = spec["components"]["schemas"]["score__Input"]
    assert list(body["properties"]) == ["leads", "reasons"]
    info = httpx.post(f"{table_server}/model", json={}, timeout=30).json()
    assert info["mode"] == "table" and info["entity_key"] == "Lead ID"
    assert info["name"] == CRM_MODEL and info["version"] == table_trained.version
    assert info["columns"]["Lead Origin"] == "categorical"
    assert info["columns"]["Visits"] == "numeric"
    assert info["excluded"]["Newsletter"] == "constant"
    assert info["excluded"]["Deal Score"].startswith("leakage audit")
