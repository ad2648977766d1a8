"""A model trained on a short log serves with its own windows: /score records, /score_events."""

from __future__ import annotations

import httpx
import pandas as pd
import pytest

from features.events.load import load_tables
from serving.batch import score_followers
from serving.model_store import import_to_bentoml, load_registered
from tests.serving.conftest import _serve
from tests.serving.test_service import _events_of, _posts_of, _profiles_of

pytestmark = pytest.mark.slow

MODEL = "short-served"


@pytest.fixture(scope="module")
def short_model(tmp_path_factory: pytest.TempPathFactory, tracking_uri: str):
    from simulator.audience import simulate_audience, write_audience
    from simulator.config import SimulationConfig
    from training.config import RunConfig
    from training.run import train
    from training.sources.events import EventLog

    out = tmp_path_factory.mktemp("short-audience")
    config = SimulationConfig(n_followers=1500, days=60, seed=5, horizon_days=7)
    write_audience(simulate_audience(config), out)
    run = RunConfig(EventLog(out, horizon_days=7), model_name=MODEL, num_boost_round=100)
    result = train(run)
    return out, result.version


def test_a_short_log_model_serves_its_own_windows_and_matches_batch(short_model):
    data, version = short_model
    bundle, _ = load_registered(f"models:/{MODEL}/{version}")
    assert bundle.spec.inputs.features.windows_days == (7, 14, 30)
    tag = import_to_bentoml(f"models:/{MODEL}/{version}")
    as_of = "2026-02-20T00:00:00Z"
    batch = score_followers(data, as_of, bundle, version).scores.set_index("follower_id")
    followers = [str(batch["probability"].idxmax()), str(batch["probability"].idxmin())]
    tables = load_tables(data)
    events = _events_of(tables, followers)
    body = {"events": events, "profiles": _profiles_of(tables, followers),
            "posts": _posts_of(tables, events), "as_of": as_of}  # fmt: skip
    with _serve(tag) as url:
        schema = httpx.get(f"{url}/docs.json").json()
        record = schema["components"]["schemas"]["FeatureRecord"]["properties"]
        assert "n_view_14d" in record and "n_view_90d" not in record
        wrong = httpx.post(f"{url}/score", json={"followers": [{"follower_id": "a",
                                                                "n_view_90d": 3}]})  # fmt: skip
        assert wrong.status_code == 400 and "n_view_90d" in wrong.text
        right = httpx.post(f"{url}/score", json={"followers": [{"follower_id": "a",
                                                                "n_view_14d": 3}]})  # fmt: skip
        assert right.status_code == 200 and 0 < right.json()[0]["probability"] < 1
        served = httpx.post(f"{url}/score_events", json=body, timeout=30).json()
    served = pd.DataFrame(served).set_index("follower_id").loc[followers]
    expected = batch.loc[followers]
    assert served["probability"].to_numpy() == pytest.approx(expected["probability"], abs=1e-12)
    assert served["score"].tolist() == expected["score"].tolist()
