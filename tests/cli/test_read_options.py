"""Files as users bring them, end to end: a headerless, gzipped shop log with a cut last line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from leadscore.cli import app
from tests.conftest import fast_run

MODEL = "read-options-test"
NAMES = ["user", "item", "category", "behavior", "ts"]
READ = ["--columns", ",".join(NAMES), "--bad-rows", "skip"]
MAPPING = [
    "--map",
    "user=follower_id,item=post_id,behavior=event_type,ts=occurred_at",
    "--event-map",
    "pv=view,fav=save,cart=click",
    "--conversion-event",
    "buy",
]
HORIZON = ["--horizon", "1"]


@pytest.fixture(scope="module")
def shop_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """Ten days of 3,000 pv/fav/cart/buy events of 300 users, without a header line, gzipped,
    and a last line cut short as by a broken download; and the events as a frame."""
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2026-01-01", tz="UTC").timestamp()
    events = pd.DataFrame(
        {
            "user": rng.integers(1, 301, 3000),
            "item": rng.integers(1, 51, 3000),
            "category": rng.integers(1, 6, 3000),
            "behavior": rng.choice(["pv", "pv", "pv", "fav", "cart", "buy"], 3000),
            "ts": (start + rng.integers(0, 10 * 86400, 3000)).astype("int64"),
        }
    ).sort_values("ts", ignore_index=True)
    text = events.to_csv(index=False, header=False) + "7,3,2,pv"
    path = tmp_path_factory.mktemp("shop") / "log.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    return path, events


def test_inspect_reads_the_headerless_gzipped_log_and_counts_the_cut_line(shop_log):
    path, events = shop_log
    command = ["inspect", "--data", str(path), *READ, *MAPPING, *HORIZON, "--format", "json"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    read = found["sections"]["read"]
    assert read["interactions"].startswith("3,000 rows: user (number), item (number)")
    assert read["interactions files"] == "log.csv.gz"
    assert read["interactions format"] == (
        "delimiter ',', utf-8, no header line (names from --columns)"
    )
    assert read["interactions malformed rows"] == "1 skipped (line 3,001)"
    buyers = events.loc[events["behavior"] == "buy", "user"].nunique()
    assert found["sections"]["events"]["converted followers"] == f"{buyers:,}"
    assert found["ok"] is True


def test_without_skip_the_cut_line_is_one_error_naming_file_and_line(shop_log):
    path, _ = shop_log
    command = ["inspect", "--data", str(path), "--columns", ",".join(NAMES), *MAPPING, *HORIZON]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert (
        "training would not run: log.csv.gz: line 3,001: 4 fields, expected 5 (a cut last "
        "line?); --bad-rows skip drops such rows" in " ".join(result.output.split())
    )
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--bad-rows", "maybe"], "--bad-rows takes error or skip, not 'maybe'"),
        (["--encoding", "klingon"], "unknown encoding 'klingon'"),
        (["--delimiter", "ab"], "--delimiter takes one character or tab, not 'ab'"),
        (["--columns", "user,item"], "--columns names 2 columns, but the file has 5 fields"),
    ],
)
def test_a_bad_read_option_is_one_line(shop_log, tmp_path, option, message):
    path, _ = shop_log
    out = tmp_path / "features.csv"
    command = ["features", "--data", str(path), "--as-of", "2026-01-05", "--out", str(out)]
    result = CliRunner().invoke(app, [*command, *option])
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_inspect_table_reads_a_european_export_and_a_folder_of_parts(tmp_path):
    from tests.conftest import make_crm_table

    leads = make_crm_table(600)
    export = tmp_path / "leads.csv.gz"
    leads.to_csv(export, sep=";", decimal=",", index=False, encoding="latin-1")
    parts = tmp_path / "leads"
    parts.mkdir()
    leads.iloc[:300].to_parquet(parts / "part-0.parquet")
    leads.iloc[300:].to_parquet(parts / "part-1.parquet")
    target = ["--target", "Converted", "--id", "Lead ID", "--format", "json"]
    runner = CliRunner()
    read = {}
    for table, extra in ((export, ["--encoding", "latin-1"]), (parts, [])):
        result = runner.invoke(app, ["inspect", "--table", str(table), *target, *extra])
        assert result.exit_code == 0, result.output
        read[table.name] = json.loads(result.stdout)["sections"]["read"]
    assert read["leads.csv.gz"]["table format"] == (
        "delimiter ';', decimal comma, latin-1, header line"
    )
    assert read["leads.csv.gz"]["table malformed rows"] == "none"
    assert read["leads"]["table files"] == "2 files: leads/part-0.parquet ... leads/part-1.parquet"
    assert read["leads.csv.gz"]["table"] == read["leads"]["table"]
    assert read["leads"]["table"].startswith("600 rows: Lead ID (text)")


def test_delimiter_tab_is_spelled_out():
    from leadscore.options import delimiter_char

    assert [delimiter_char(text) for text in ("tab", "\\t", "TAB", ";", None)] == [
        "\t", "\t", "\t", ";", None,
    ]  # fmt: skip


@pytest.mark.slow
def test_train_and_score_the_log_to_parquet(shop_log, tracking_uri, tmp_path, monkeypatch):
    path, events = shop_log
    monkeypatch.chdir(tmp_path)  # a stray local store would land here, never in the repo
    fast_run(monkeypatch)
    runner = CliRunner()
    data = ["--data", str(path), *READ, *MAPPING]
    trained = runner.invoke(app, ["train", *data, *HORIZON, "--model-name", MODEL])
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "scores.parquet"
    # Random events make no champion; the challenger is the model just trained.
    model = ["--model", f"models:/{MODEL}@challenger"]
    scored = runner.invoke(app, ["score", *data, *model, "--out", str(out)])
    assert scored.exit_code == 0, scored.output
    scores = pd.read_parquet(out)
    assert list(scores.columns) == [
        "follower_id", "probability", "score", "tier", "reasons_up", "reasons_down",
        "model_version",
    ]  # fmt: skip
    # As of the day after the data, every user is eligible except those who bought.
    buyers = set(events.loc[events["behavior"] == "buy", "user"].astype("str"))
    assert set(scores["follower_id"]) == set(events["user"].astype("str")) - buyers
    assert scores["probability"].between(0, 1, inclusive="neither").all()
    assert scores["reasons_up"].map(len).between(0, 3).all()
