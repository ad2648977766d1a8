"""Bringing a foreign event log: parsing, renaming, epoch times, derived conversions/followers."""

from __future__ import annotations

import pandas as pd
import pytest

from features.events.load import load_tables
from features.events.mapping import (
    EventLogMapping,
    epoch_to_utc,
    make_mapping,
    map_tables,
    parse_pairs,
)

TAOBAO = EventLogMapping(
    columns={
        "user_id": "follower_id",
        "item_id": "post_id",
        "behavior_type": "event_type",
        "timestamp": "occurred_at",
    },
    event_types={"pv": "view", "fav": "save", "cart": "click"},
    conversion_event="buy",
)
JAN_1 = 1_767_225_600  # 2026-01-01 00:00:00 UTC in epoch seconds


def _taobao() -> pd.DataFrame:
    """Three users: u1 buys twice, u2 never buys, u3 buys first and browses after."""
    rows = [
        (1, 10, "pv", JAN_1),
        (1, 11, "fav", JAN_1 + 3_600),
        (1, 11, "buy", JAN_1 + 86_400),
        (1, 12, "buy", JAN_1 + 2 * 86_400),
        (2, 10, "pv", JAN_1 + 600),
        (2, 13, "cart", JAN_1 + 7_200),
        (2, 14, "slurp", JAN_1 + 7_300),
        (3, 14, "buy", JAN_1 - 86_400),
        (3, 14, "pv", JAN_1 + 60),
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "behavior_type", "timestamp"])


@pytest.fixture
def taobao_csv(tmp_path):
    path = tmp_path / "taobao.csv"
    _taobao().to_csv(path, index=False)
    return path


def test_parse_pairs_strips_spaces():
    assert parse_pairs(" user_id = follower_id , behavior_type=event_type") == {
        "user_id": "follower_id",
        "behavior_type": "event_type",
    }
    assert parse_pairs("") == {}


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("user_id", "'user_id' is not of the form source=target"),
        ("user_id=follower_id,", "'' is not of the form source=target"),
        ("=follower_id", "'=follower_id' is not of the form"),
        ("a=b=c", "'a=b=c' is not of the form"),
        ("a=follower_id,a=event_type", "'a' is mapped twice"),
    ],
)
def test_malformed_pairs_are_quoted(text, fault):
    with pytest.raises(ValueError, match=fault):
        parse_pairs(text)


def test_mapping_rejects_unknown_targets_and_bad_units():
    with pytest.raises(ValueError, match="'folower_id' is not a contract column"):
        make_mapping("user_id=folower_id")
    with pytest.raises(ValueError, match="event map: 'veiw' is not an event type"):
        make_mapping(event_types="pv=veiw")
    with pytest.raises(ValueError, match="several source columns map to 'follower_id'"):
        make_mapping("a=follower_id,b=follower_id")
    with pytest.raises(ValueError, match="'buy' is the conversion event"):
        make_mapping(event_types="buy=click", conversion_event="buy")
    with pytest.raises(ValueError, match="time unit 'days'"):
        make_mapping(time_unit="days")
    assert make_mapping() is None


def test_absent_source_column_is_named(taobao_csv):
    mapping = EventLogMapping(columns={"userid": "follower_id"})
    with pytest.raises(ValueError, match="source column 'userid' not found.*user_id, item_id"):
        load_tables(taobao_csv, mapping)


def test_target_already_present_is_an_error():
    raw = _taobao().assign(follower_id="x")
    mapping = EventLogMapping(columns={"user_id": "follower_id"})
    with pytest.raises(ValueError, match="user_id maps to follower_id, but follower_id is already"):
        map_tables({"interactions": raw}, mapping)


def test_epoch_seconds_and_milliseconds_become_utc():
    expected = pd.Timestamp("2026-01-01 00:00:00", tz="UTC")
    seconds = epoch_to_utc(pd.Series([JAN_1]), "occurred_at", "interactions")
    millis = epoch_to_utc(pd.Series([JAN_1 * 1000 + 500]), "occurred_at", "interactions")
    assert seconds[0] == expected
    assert millis[0] == expected + pd.Timedelta(milliseconds=500)
    explicit = epoch_to_utc(pd.Series([5]), "occurred_at", "interactions", unit="s")
    assert explicit[0] == pd.Timestamp("1970-01-01 00:00:05", tz="UTC")


def test_ambiguous_epoch_numbers_are_errors():
    with pytest.raises(ValueError, match="column occurred_at: numbers like 2.02601e\\+07 are too"):
        epoch_to_utc(pd.Series([20260101, 20260102]), "occurred_at", "interactions")
    mixed = pd.Series([JAN_1, JAN_1 + 1, JAN_1 * 1000])
    with pytest.raises(ValueError, match="row 2: column occurred_at: .* not in the unit .*s\\)"):
        epoch_to_utc(mixed, "occurred_at", "interactions")


def test_taobao_log_loads_with_utc_times_and_mapped_types(taobao_csv):
    tables = load_tables(taobao_csv, TAOBAO)
    events = tables.interactions
    assert str(events["occurred_at"].dtype) == "datetime64[us, UTC]"
    assert events["occurred_at"].min() == pd.Timestamp("2026-01-01", tz="UTC")
    assert list(events["event_type"]) == ["view", "save", "view", "click", "other", "view"]
    assert list(events["follower_id"]) == ["1", "1", "2", "2", "2", "3"]
    assert tables.posts is None


def test_conversions_are_first_buys_and_leave_the_interactions(taobao_csv):
    tables = load_tables(taobao_csv, TAOBAO)
    conversions = tables.conversions.set_index("follower_id")["converted_at"]
    assert conversions.to_dict() == {
        "3": pd.Timestamp("2025-12-31", tz="UTC"),
        "1": pd.Timestamp("2026-01-02", tz="UTC"),
    }
    assert len(tables.interactions) == 6  # nine rows, three of them buys


def test_followers_are_derived_first_seen_with_unknown_platform(taobao_csv):
    followers = load_tables(taobao_csv, TAOBAO).followers.set_index("follower_id")
    assert list(followers.index) == ["1", "2", "3"]
    assert followers["followed_at"].to_dict() == {
        "1": pd.Timestamp("2026-01-01 00:00", tz="UTC"),
        "2": pd.Timestamp("2026-01-01 00:10", tz="UTC"),
        "3": pd.Timestamp("2025-12-31 00:00", tz="UTC"),  # first seen at the buy
    }
    assert (followers["platform"] == "unknown").all()
    assert followers["follower_count"].isna().all()


def test_absent_conversion_event_is_an_error(taobao_csv):
    mapping = EventLogMapping(columns=TAOBAO.columns, conversion_event="purchase")
    with pytest.raises(ValueError, match="'purchase' never occurs in column behavior_type"):
        load_tables(taobao_csv, mapping)


def test_numeric_event_codes_can_be_mapped(tmp_path):
    codes = _taobao().assign(
        behavior_type=lambda f: f["behavior_type"].map(
            {"pv": 1, "fav": 2, "cart": 3, "buy": 4, "slurp": 5}
        )
    )
    path = tmp_path / "codes.parquet"
    codes.to_parquet(path)
    mapping = EventLogMapping(
        columns=TAOBAO.columns, event_types={"1": "view", "2": "save"}, conversion_event="4"
    )
    tables = load_tables(path, mapping)
    assert list(tables.interactions["event_type"]) == [
        "view",
        "save",
        "view",
        "other",
        "other",
        "view",
    ]
    assert len(tables.conversions) == 2


def test_folder_with_foreign_interactions_and_no_followers(tmp_path):
    _taobao().to_csv(tmp_path / "interactions.csv", index=False)
    tables = load_tables(tmp_path, TAOBAO)
    assert len(tables.followers) == 3 and len(tables.conversions) == 2


def test_conversions_table_and_conversion_event_conflict(tmp_path):
    _taobao().to_csv(tmp_path / "interactions.csv", index=False)
    pd.DataFrame({"user_id": [1], "converted_at": ["2026-01-05"]}).to_csv(
        tmp_path / "conversions.csv", index=False
    )
    with pytest.raises(ValueError, match="give only one"):
        load_tables(tmp_path, TAOBAO)


def test_derived_followers_enter_snapshots_after_first_seen(taobao_csv):
    from features.labels import select_snapshot_followers

    tables = load_tables(taobao_csv, TAOBAO)
    at = pd.Timestamp("2026-01-01 00:05", tz="UTC")
    eligible = select_snapshot_followers(tables.followers, tables.conversions, at)
    assert list(eligible["follower_id"]) == ["1"]  # 2 not seen yet, 3 already converted


def test_input_frames_are_not_mutated():
    raw = _taobao()
    copy = raw.copy()
    map_tables({"interactions": raw, "conversions": None}, TAOBAO)
    pd.testing.assert_frame_equal(raw, copy)


def test_params_are_plain_strings():
    assert TAOBAO.to_params() == {
        "map_columns": "user_id=follower_id,item_id=post_id,behavior_type=event_type,"
        "timestamp=occurred_at",
        "map_event_types": "pv=view,fav=save,cart=click",
        "map_conversion_event": "buy",
    }


def test_standard_folder_without_mapping_reads_epoch_times_and_derives_followers(tmp_path):
    pd.DataFrame(
        {
            "follower_id": ["a", "b", "a"],
            "event_type": ["like", "dm", "view"],
            "occurred_at": [JAN_1 * 1000, (JAN_1 + 60) * 1000, (JAN_1 + 120) * 1000],
        }
    ).to_parquet(tmp_path / "interactions.parquet")
    tables = load_tables(tmp_path)
    assert tables.interactions["occurred_at"][1] == pd.Timestamp("2026-01-01 00:01", tz="UTC")
    assert tables.followers["followed_at"].tolist() == [
        pd.Timestamp("2026-01-01 00:00", tz="UTC"),
        pd.Timestamp("2026-01-01 00:01", tz="UTC"),
    ]
    assert tables.conversions is None


def test_derived_followers_are_in_id_order_with_or_without_conversions():
    from features.events.load import validate_interactions
    from features.events.mapping import derive_followers

    events = validate_interactions(
        pd.DataFrame(
            {
                "follower_id": ["z", "a", "m"],
                "event_type": "view",
                "occurred_at": ["2026-01-03", "2026-01-01", "2026-01-02"],
            }
        )  # fmt: skip
    )
    assert derive_followers(events)["follower_id"].tolist() == ["a", "m", "z"]
