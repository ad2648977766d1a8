"""Validation of input tables: clear errors naming the column or row, inputs untouched."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from features.events.load import (
    find_table,
    load_tables,
    read_tables_report,
    validate_conversions,
    validate_followers,
    validate_interactions,
    validate_posts,
)
from features.io import ReadOptions


def _events(**columns) -> pd.DataFrame:
    base = {
        "follower_id": ["a", "b"],
        "event_type": ["like", "dm"],
        "occurred_at": ["2026-01-01", "2026-01-02"],
    }
    return pd.DataFrame(base | columns)


def test_missing_column_is_named():
    with pytest.raises(ValueError, match="interactions: no column 'occurred_at' \\(required\\)"):
        validate_interactions(_events().drop(columns="occurred_at"))


def test_bad_timestamp_names_row_and_column():
    with pytest.raises(ValueError, match="row 1: column occurred_at: bad timestamp 'soon'"):
        validate_interactions(_events(occurred_at=["2026-01-01", "soon"]))


def test_empty_required_value_names_row():
    with pytest.raises(ValueError, match="row 0: column follower_id is empty"):
        validate_interactions(_events(follower_id=[None, "b"]))


def test_unknown_event_type_becomes_other_and_case_is_folded():
    events = validate_interactions(_events(event_type=["Like", "teleport"]))
    assert list(events["event_type"]) == ["like", "other"]


def test_times_are_utc_and_offsets_are_converted():
    events = validate_interactions(_events(occurred_at=["2026-01-01T02:00:00+02:00", "2026-01-02"]))
    assert str(events["occurred_at"].dtype) == "datetime64[us, UTC]"
    assert events["occurred_at"][0] == pd.Timestamp("2026-01-01T00:00:00", tz="UTC")


def test_numeric_ids_are_text():
    events = validate_interactions(_events(follower_id=[17, 18]))
    assert list(events["follower_id"]) == ["17", "18"]


def test_input_frame_is_not_mutated():
    raw = _events(event_type=["LIKE", "zap"])
    copy = raw.copy()
    validate_interactions(raw)
    pd.testing.assert_frame_equal(raw, copy)


def test_duplicate_follower_is_named():
    followers = pd.DataFrame(
        {"follower_id": ["a", "a"], "platform": ["x", "x"], "followed_at": ["2026-01-01"] * 2}
    )
    with pytest.raises(ValueError, match="followers: row 1: duplicate follower_id 'a'"):
        validate_followers(followers)


def test_non_numeric_follower_count_is_named():
    followers = pd.DataFrame(
        {
            "follower_id": ["a"],
            "platform": ["x"],
            "followed_at": ["2026-01-01"],
            "follower_count": ["many"],
        }
    )
    with pytest.raises(ValueError, match="column follower_count: not a number 'many'"):
        validate_followers(followers)


def test_conversions_need_a_time():
    with pytest.raises(ValueError, match="conversions: no column 'converted_at'"):
        validate_conversions(pd.DataFrame({"follower_id": ["a"]}))


def test_load_tables_reads_csv_and_reports_missing_tables(tmp_path):
    with pytest.raises(ValueError, match="no followers.parquet or followers.csv"):
        load_tables(tmp_path)
    pd.DataFrame({"follower_id": ["a"], "platform": ["x"], "followed_at": ["2026-01-01"]}).to_csv(
        tmp_path / "followers.csv", index=False
    )
    _events().to_csv(tmp_path / "interactions.csv", index=False)
    tables = load_tables(tmp_path)
    assert tables.conversions is None and len(tables.interactions) == 2


def test_a_table_is_any_file_read_table_reads_or_a_folder_of_parts(tmp_path):
    assert find_table(tmp_path, "interactions") is None
    (tmp_path / "interactions").mkdir()
    assert find_table(tmp_path, "interactions") == tmp_path / "interactions"
    (tmp_path / "interactions.csv.gz").write_bytes(gzip.compress(b"x\n1\n"))
    assert find_table(tmp_path, "interactions") == tmp_path / "interactions.csv.gz"
    (tmp_path / "followers.tsv").write_text("x\n1\n")
    assert find_table(tmp_path, "followers") == tmp_path / "followers.tsv"


def test_a_folder_reads_compressed_tables_and_parts(tmp_path):
    followers = "follower_id;platform;followed_at\na;x;2026-01-01\nb;y;2026-01-02\n"
    (tmp_path / "followers.csv.gz").write_bytes(gzip.compress(followers.encode()))
    (tmp_path / "interactions").mkdir()
    _events().iloc[:1].to_parquet(tmp_path / "interactions" / "part-0.parquet")
    _events().iloc[1:].to_parquet(tmp_path / "interactions" / "part-1.parquet")
    raw, reports = read_tables_report(tmp_path)
    assert raw["posts"] is None and sorted(reports) == ["followers", "interactions"]
    assert reports["followers"].delimiter == ";" and reports["interactions"].rows == 2
    tables = load_tables(tmp_path)
    assert tables.followers["follower_id"].tolist() == ["a", "b"]
    assert tables.interactions["event_type"].tolist() == ["like", "dm"]


def test_headerless_events_file_is_named_by_columns(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("a,like,2026-01-01\nb,dm,2026-01-02\nb,d")
    names = ("follower_id", "event_type", "occurred_at")
    with pytest.raises(ValueError, match="log.csv: line 3: 2 fields, expected 3"):
        load_tables(path, options=ReadOptions(columns=names))
    tables = load_tables(path, options=ReadOptions(columns=names, bad_rows="skip"))
    assert tables.interactions["follower_id"].tolist() == ["a", "b"]
    (tmp_path / "interactions.csv").write_text("a,like,2026-01-01\n")
    (tmp_path / "followers.csv").write_text("a,x,2026-01-01\n")
    with pytest.raises(ValueError, match="--columns names the columns of one table"):
        load_tables(tmp_path, options=ReadOptions(columns=names))


def test_exact_duplicate_events_are_dropped_after_normalising(caplog):
    events = _events(
        follower_id=["a", "a", "a", 7, "7", "a"],
        event_type=["like", "Like ", "like", "view", "view", "like"],
        occurred_at=["2026-01-01", "2026-01-01T00:00:00Z", "2026-01-01"]
        + ["2026-01-02", "2026-01-02", "2026-01-01"],
        post_id=["p1", "p1", "p2", None, None, "p1"],
        value=[None, None, None, 3.0, 3.0, 1.0],
    )
    with caplog.at_level("INFO", logger="features.events.load"):
        validated = validate_interactions(events)
    # Rows 1 and 4 repeat rows 0 and 3 once normalised; another post or value is another event.
    assert list(validated.index) == [0, 1, 2, 3]
    assert validated["post_id"].astype("str").fillna("-").tolist() == ["p1", "p2", "-", "p1"]
    # Ids are held as codes with each text once (the lean form the kernels read).
    assert validated["follower_id"].cat.categories.tolist() == ["a", "7"]
    assert validated["value"].fillna(0).tolist() == [0.0, 0.0, 3.0, 1.0]
    assert "2 exact duplicate events dropped" in caplog.text


def test_post_ids_are_text_and_whole_floats_lose_their_decimals():
    events = validate_interactions(_events(post_id=[7.0, None]))
    assert events["post_id"][0] == "7" and pd.isna(events["post_id"][1])


def _posts(**columns) -> pd.DataFrame:
    base = {"post_id": [1, 2], "published_at": ["2026-01-01", "2026-01-02T10:00:00+02:00"]}
    return pd.DataFrame(base | columns)


def test_posts_are_normalised():
    posts = validate_posts(_posts(format=[" Video", None], campaign=["launch", "  "]))
    assert posts["post_id"].tolist() == ["1", "2"]
    assert posts["published_at"][1] == pd.Timestamp("2026-01-02T08:00:00", tz="UTC")
    assert posts["format"][0] == "video" and pd.isna(posts["format"][1])
    assert posts["campaign"][0] == "launch" and pd.isna(posts["campaign"][1])
    optional = validate_posts(_posts())
    assert optional["format"].isna().all() and optional["campaign"].isna().all()


def test_posts_errors_name_the_column_or_row():
    with pytest.raises(ValueError, match="posts: no column 'published_at'"):
        validate_posts(_posts().drop(columns="published_at"))
    with pytest.raises(ValueError, match="posts: row 1: duplicate post_id '1'"):
        validate_posts(_posts(post_id=[1, "1"]))
    with pytest.raises(ValueError, match="posts: row 0: column published_at: bad timestamp"):
        validate_posts(_posts(published_at=["later", "2026-01-01"]))


def test_parquet_tables_in_our_columns_are_read_without_the_others(tmp_path):
    from features.events.load import read_tables

    events = pd.DataFrame({"event_id": ["e1"], "follower_id": ["a"], "event_type": ["view"],
                           "occurred_at": ["2026-01-01"], "device": ["ios"]})  # fmt: skip
    events.to_parquet(tmp_path / "interactions.parquet")
    raw = read_tables(tmp_path, only={"follower_id", "event_type", "occurred_at"})
    assert list(raw["interactions"].columns) == ["follower_id", "event_type", "occurred_at"]
    assert list(read_tables(tmp_path)["interactions"].columns) == list(events.columns)
    assert len(load_tables(tmp_path).interactions) == 1
