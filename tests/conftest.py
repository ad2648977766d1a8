"""Shared fixtures: a hand-written audience small enough to check on paper."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.events.load import validate_conversions, validate_followers, validate_interactions
from serving.telemetry import disable_telemetry

disable_telemetry()
# Tests never touch the user's stores: BentoML and MLflow get throw-away homes before use.
os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="leadscore-bentoml-")

AS_OF = pd.Timestamp("2026-03-01", tz="UTC")
# The shared lead table beside the repository, read in place (never copied into it).
LEADS = Path(__file__).resolve().parents[2] / "shared" / "data" / "Leads.csv"
# Filled in by sales after contact, or scored by a third party at an undocumented time (the
# data's README).
POST_CONTACT = (
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
)


@pytest.fixture
def followers() -> pd.DataFrame:
    """Four followers: a, b and c followed in 2025, d follows after the cutoff."""
    return validate_followers(
        pd.DataFrame(
            {
                "follower_id": ["a", "b", "c", "d"],
                "platform": ["Instagram", "linkedin", "tiktok", "x"],
                "followed_at": ["2025-12-01", "2025-12-15", "2026-01-01", "2026-03-05"],
                "country": ["FR", None, "US", "FR"],
                "follower_count": [120, None, 5000, 10],
                "following_count": [300, 80, None, 5],
                "is_business": [False, True, None, False],
            }
        )
    )


@pytest.fixture
def interactions() -> pd.DataFrame:
    """Twelve events around the 2026-03-01 cutoff (three of them at or after it)."""
    rows = [
        ("a", "view", "2026-02-27 10:00"),  # 1.58 days before the cutoff
        ("a", "like", "2026-02-27 10:05"),
        ("a", "click", "2026-02-20 09:00"),  # 8.6 days: in 30d and 90d, not 7d
        ("a", "dm", "2026-01-10 00:00"),  # 50 days: only in 90d
        ("a", "click", "2026-03-01 00:00"),  # exactly at the cutoff: the future
        ("b", "profile_visit", "2026-02-22 00:00"),  # 7 days exactly: inside the 7d window
        ("b", "like", "2025-11-01 00:00"),  # 120 days: outside every window
        ("b", "SHARE", "2026-02-28 12:00"),
        ("b", "teleport", "2026-02-28 13:00"),  # unknown type: counted as other
        ("c", "dm", "2026-03-02 00:00"),  # after the cutoff
        ("c", "view", "2026-03-10 00:00"),  # after the cutoff
        ("zz", "like", "2026-02-01 00:00"),  # not a follower in the table
    ]
    return validate_interactions(
        pd.DataFrame(rows, columns=["follower_id", "event_type", "occurred_at"])
    )


@pytest.fixture
def posts() -> pd.DataFrame:
    """Four posts; p4 is published after the cutoff, so it is unknown as of 2026-03-01."""
    return pd.DataFrame(
        {
            "post_id": ["p1", "p2", "p3", "p4"],
            "published_at": ["2026-02-20", "2026-02-25", "2026-02-26", "2026-03-02"],
            "format": ["Video", "image", "live", "video"],
            "campaign": ["launch", None, " ", "promo"],  # a blank campaign is no campaign
        }
    )


@pytest.fixture
def post_interactions() -> pd.DataFrame:
    """Events on posts around the 2026-03-01 cutoff, with watch seconds and one repeated row."""
    rows = [
        ("a", "view", "2026-02-21 10:00", "p1", 30.0),  # campaign video, watched 30 s
        ("a", "view", "2026-02-21 10:00", "p1", 30.0),  # exact repeat: dropped
        ("a", "like", "2026-02-21 10:01", "p1", None),
        ("a", "view", "2026-02-27 12:00", "p3", 12.5),  # live, not a campaign
        ("a", "view", "2026-02-26 08:00", "p2", 3.0),  # image: no watch time
        ("a", "click", "2026-02-26 09:00", "p2", None),
        ("a", "view", "2026-02-28 09:00", "p4", 5.0),  # p4 is published after the cutoff
        ("a", "view", "2026-02-27 09:00", "p9", 8.0),  # p9 is not in the posts table
        ("a", "view", "2025-12-01 00:00", "p1", 2.0),  # 90 days exactly: only in 90d
        ("b", "view", "2026-02-28 10:00", "p1", None),  # a video view without watch time
        ("b", "share", "2026-02-28 13:00", "p2", None),
        ("b", "dm", "2026-02-28 14:00", None, None),
        ("b", "view", "2026-03-01 00:00", "p3", 50.0),  # at the cutoff: the future
        ("c", "view", "2026-03-03 00:00", "p4", 40.0),  # after the cutoff
    ]
    return validate_interactions(
        pd.DataFrame(rows, columns=["follower_id", "event_type", "occurred_at", "post_id", "value"])
    )


@pytest.fixture
def conversions() -> pd.DataFrame:
    """a converts inside a 28-day horizon, c before the cutoff, b long after."""
    return validate_conversions(
        pd.DataFrame(
            {
                "follower_id": ["a", "c", "b"],
                "converted_at": ["2026-03-10", "2026-02-01", "2026-05-01"],
            }
        )
    )


@pytest.fixture
def small_leads() -> pd.DataFrame:
    """Eight leads: a source in two spellings, a placeholder, a missing value, an empty column."""
    return pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(8)],
            "Lead Source": ["Google", "google", "Google", "Olark Chat", None, "Select", "x", "x"],
            "Visits": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan],
            "Seconds": [np.nan] * 8,
            "won": [1, 0, 1, 0, 1, 0, 1, 0],
        }
    )


@pytest.fixture(scope="session")
def audience_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated audience written as Parquet (shared by the slow tests)."""
    from simulator.audience import simulate_audience, write_audience
    from simulator.config import SimulationConfig

    out = tmp_path_factory.mktemp("audience")
    write_audience(simulate_audience(SimulationConfig(n_followers=4000, days=240, seed=7)), out)
    return out


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh SQLite MLflow store for this test session."""
    from training.tracking import configure_tracking

    store = tmp_path_factory.mktemp("mlruns")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    uri = configure_tracking(store)
    import mlflow

    mlflow.set_tracking_uri(uri)
    return uri


@pytest.fixture(scope="session")
def trained(audience_dir: Path, tracking_uri: str):
    """One training run on the small audience, registered and promoted in the test store."""
    from training.config import RunConfig
    from training.run import train
    from training.sources.events import EventLog

    return train(RunConfig(EventLog(audience_dir), num_boost_round=300))


CRM_MODEL = "crm-test"


def make_crm_table(rows: int = 2000, seed: int = 0) -> pd.DataFrame:
    """A CRM export like Leads.csv: honest signal, placeholders, casing, missing values, leaks.

    "Status Tag" is filled in by sales after contact (one value is the outcome) and "Deal Score"
    nearly is the outcome: the leakage audit must flag both. "Newsletter" is constant.
    """

    rng = np.random.default_rng(seed)
    origins = ["Landing Page", "API", "Lead Add Form", "Import"]
    origin = rng.choice(origins, rows, p=[0.5, 0.3, 0.1, 0.1])
    source = rng.choice(["Google", "google", "Direct Traffic", "Olark Chat", None], rows)
    city = rng.choice(["Mumbai", "Thane", "Select", None], rows)
    seconds = rng.exponential(500, rows).round()
    visits = np.where(rng.random(rows) < 0.05, np.nan, rng.poisson(3, rows).astype(float))
    opt_out = rng.choice(["Yes", "No"], rows, p=[0.1, 0.9])
    logit = (
        -1.8 + 0.002 * seconds + 0.15 * np.nan_to_num(visits)
        + np.select([origin == "Lead Add Form", origin == "API"], [2.5, -0.5], 0.0)
        - 1.5 * (opt_out == "Yes") + 0.6 * np.isin(source, ["Google", "google"])
    )  # fmt: skip
    converted = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    tag = np.where(converted == 1, rng.choice(["Closed Won", "Later"], rows), "Later")
    tag = np.where(converted == 0, rng.choice(["Ringing", "Later"], rows), tag)
    return pd.DataFrame(
        {
            "Lead ID": [f"L{i:05d}" for i in range(rows)],
            "Lead Origin": origin,
            "Lead Source": source,
            "City": city,
            "Time on Site": seconds,
            "Visits": visits,
            "Opt Out": opt_out,
            "Status Tag": tag,
            "Deal Score": converted * 50 + rng.normal(0, 5, rows).round(1),
            "Newsletter": "No",
            "Lead Number": np.arange(rows) + 100_000,
            "Converted": converted,
        }
    )


@pytest.fixture(scope="session")
def crm_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic CRM export as a CSV file."""
    path = tmp_path_factory.mktemp("crm") / "crm_leads.csv"
    make_crm_table().to_csv(path, index=False)
    return path


def fast_table_config(table: Path, **changes):
    """A quick table run: a few hundred trees at most, one thread (the CI box is shared).

    `changes` set fields of the run (RunConfig) or of its lead table (LeadTable) by name.
    """
    from dataclasses import fields

    from training.config import RunConfig
    from training.sources.table import LeadTable, table_lgbm_params

    params = table_lgbm_params() | {"learning_rate": 0.1, "num_threads": 1}
    source = {"table_path": table, "id_column": "Lead ID", "target": "Converted"}
    source |= {"exclude": ("Lead Number",)}
    run = {"model_name": CRM_MODEL, "num_boost_round": 300, "early_stopping_rounds": 20}
    run |= {"lgbm_params": params}
    names = {field.name for field in fields(LeadTable)}
    source |= {key: value for key, value in changes.items() if key in names}
    run |= {key: value for key, value in changes.items() if key not in names}
    return RunConfig(LeadTable(**source), **run)


def load_source(config):
    """A run config's source, read and split as the run reads it."""
    return config.source.load(config.seed)


@pytest.fixture(scope="session")
def table_trained(crm_table: Path, tracking_uri: str):
    """One table run on the synthetic CRM export, registered and promoted as `crm-test`."""
    from training.run import train

    return train(fast_table_config(crm_table))


def fast_run(monkeypatch: pytest.MonkeyPatch, **settings) -> None:
    """Make the command line's training runs quick: few trees on one thread (this tests the
    wiring), on top of the settings the command itself gives."""
    import training.config

    real = training.config.RunConfig

    def make(source, **given):
        params = source.boosting().lgbm_params | {"num_threads": 1}
        fast = {"lgbm_params": params, "num_boost_round": 100, "early_stopping_rounds": 20}
        return real(source, **(fast | settings | given))

    monkeypatch.setattr(training.config, "RunConfig", make)


@pytest.fixture(scope="session")
def dask_cluster():
    """A real two-worker Dask LocalCluster on 127.0.0.1 (`--dask local`), stopped after."""
    from features.cluster import LOCAL, dask_client

    with dask_client(LOCAL) as client:
        yield client
