"""Parquet events read batch by batch into codes equal the general read and validation exactly."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.events.batches import small_dictionaries
from features.events.lean import read_lean_events
from features.events.load import load_tables, validate_interactions

TYPES = ["view", " Like", "LIKE ", "dm", "click", "hologram", "Zap", "profile_visit"]


def _events(rng: np.random.Generator, n: int, width: int = 5) -> pd.DataFrame:
    """Messy events in time order: repeats (with NaN, -0.0), odd spellings, missing posts."""
    # Followers come and go, so later batches hold ids never seen before.
    followers = np.array([f"u{i:0{width - 1}d}" for i in range(400)], dtype=object)
    posts = np.array([f"p{i}" for i in range(60)] + [None], dtype=object)
    waves = rng.integers(0, 100, n) + np.linspace(0, 300, n).astype(int)
    times = pd.Timestamp("2026-03-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.integers(0, 9e11, n)), "us"
    )
    frame = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "follower_id": followers[waves],
            "event_type": rng.choice(TYPES, n),
            "occurred_at": times,
            "post_id": rng.choice(posts, n),
            "value": rng.choice(np.array([1.5, 0.0, -0.0, np.nan, 3.0]), n),
        }
    )
    repeats = frame.iloc[rng.integers(0, n, n // 20)].assign(event_id="fresh")
    repeats["value"] = repeats["value"].replace(0.0, -0.0)
    frame = pd.concat([frame, repeats]).sort_values("occurred_at", kind="stable")
    return frame.reset_index(drop=True)


def _write(frame: pd.DataFrame, path: Path, **options) -> Path:
    frame.to_parquet(path, index=frame.index.name is not None, **options)
    return path


def _general(path: Path) -> pd.DataFrame:
    return validate_interactions(pd.read_parquet(path))


@pytest.fixture(autouse=True, params=["ids as text", "ids as dictionaries"])
def ids_read(request, monkeypatch) -> str:
    """Every test both ways: ids packed from their text (a file whose dictionaries overflowed)
    and ids taken from the file's dictionaries (small ones)."""
    if request.param == "ids as text":
        monkeypatch.setattr("features.events.batches.SMALL_DICTIONARY", -1)
    else:
        monkeypatch.setattr("features.events.batches.SMALL_DICTIONARY", 1 << 40)
        monkeypatch.setattr("features.events.batches.SMALL_SHARE", 1)
    return request.param


@pytest.fixture(scope="module")
def messy() -> pd.DataFrame:
    return _events(np.random.default_rng(11), 6000)


@pytest.mark.parametrize("width", [5, 12, 40])  # one word, two words hashed, long text
# Row groups over a batch are streamed batch by batch; smaller ones are read two at a time.
@pytest.mark.parametrize("batch_rows", [337, 1000, 2500])
def test_equal_to_the_general_read_batch_by_batch(tmp_path, messy, width, batch_rows):
    frame = _events(np.random.default_rng(width), 6000, width)
    path = _write(frame, tmp_path / "events.parquet", row_group_size=1000)
    lean = read_lean_events(path, batch_rows=batch_rows)
    assert lean is not None
    pd.testing.assert_frame_equal(lean, _general(path))
    assert len(lean) < len(frame)  # the repeats were dropped


def test_equal_in_other_layouts(tmp_path, messy):
    """Categorical columns, times in seconds without a zone, no post or value columns, an
    all-missing post column, a folder of parts: the same frame as the general read."""
    cases = {
        "categories": messy.astype({"follower_id": "category", "event_type": "category"}),
        "naive seconds": messy.assign(
            occurred_at=messy["occurred_at"].dt.tz_localize(None).astype("datetime64[s]")
        ),
        "no post or value": messy.drop(columns=["post_id", "value"]),
        "posts all missing": messy.assign(post_id=None),
    }
    for name, frame in cases.items():
        path = _write(frame, tmp_path / f"{name}.parquet")
        lean = read_lean_events(path, batch_rows=500)
        assert lean is not None, name
        pd.testing.assert_frame_equal(lean, _general(path), obj=name)
    folder = tmp_path / "interactions"
    folder.mkdir()
    for part, rows in enumerate(np.array_split(np.arange(len(messy)), 3)):
        _write(messy.iloc[rows], folder / f"part-{part}.parquet")
    pd.testing.assert_frame_equal(read_lean_events(folder, 700), _general(folder))


def test_other_tables_are_left_to_the_general_read(tmp_path, messy):
    cases = {
        "nanoseconds": messy.assign(occurred_at=messy["occurred_at"].astype("datetime64[ns, UTC]")),
        "text times": messy.assign(occurred_at=messy["occurred_at"].astype(str)),
        "number ids": messy.assign(follower_id=np.arange(len(messy))),
        "text values": messy.assign(value=messy["value"].astype(str)),
    }
    for name, frame in cases.items():
        assert read_lean_events(_write(frame, tmp_path / f"{name}.parquet")) is None, name
    messy.to_csv(tmp_path / "events.csv", index=False)
    assert read_lean_events(tmp_path / "events.csv") is None
    hive = tmp_path / "hive" / "day=1"
    hive.mkdir(parents=True)
    _write(messy, hive / "part.parquet")
    assert read_lean_events(tmp_path / "hive") is None


def test_a_missing_value_is_left_to_the_general_read_which_names_its_row(tmp_path, messy):
    frame = messy.copy()
    frame.loc[1234, "follower_id"] = None
    frame.loc[4321, "occurred_at"] = None
    data = tmp_path / "data"
    data.mkdir()
    _write(frame, data / "interactions.parquet")
    assert read_lean_events(data / "interactions.parquet", batch_rows=500) is None
    with pytest.raises(ValueError, match="interactions: row 1234: column follower_id is empty"):
        load_tables(data)


def _table(path: Path, batch: int, **columns: list) -> None:
    n = len(next(iter(columns.values())))
    times = pa.array(range(n), pa.timestamp("s", tz="UTC"))
    table = {"follower_id": ["u1"] * n, "event_type": ["view"] * n, "occurred_at": times}
    pq.write_table(pa.table(table | columns), path)
    pd.testing.assert_frame_equal(read_lean_events(path, batch_rows=batch), _general(path))


def test_ids_that_tripped_the_vocabulary(tmp_path):
    # A missing post after a post "" is still missing, not the post "".
    _table(tmp_path / "a.parquet", 2, post_id=["", "p1", None, "p1"])
    # A short id in batches with and without a long one keeps one code.
    _table(tmp_path / "b.parquet", 2, follower_id=["anna", "anna", "anna", "a.very.long.handle"])
    _table(tmp_path / "c.parquet", 3, follower_id=["a.very.long.handle", "anna", "b", "anna"])
    # A missing id beside one holding a NUL byte.
    _table(tmp_path / "d.parquet", 4, post_id=[None, "a\x00b", "a\x00b", "c"])


def test_parts_that_disagree_are_left_to_the_general_read(tmp_path, messy):
    folder = tmp_path / "interactions"
    folder.mkdir()
    _write(messy.iloc[:100], folder / "part-0.parquet")
    _write(messy.iloc[100:200].drop(columns=["post_id"]), folder / "part-1.parquet")
    assert read_lean_events(folder) is None
    indexed = messy.set_index("post_id")
    assert read_lean_events(_write(indexed, tmp_path / "indexed.parquet")) is None


def _said(records: list[logging.LogRecord]) -> list[str]:
    return sorted(r.getMessage() for r in records if r.name == "features.events.load")


def test_load_tables_reads_lean_and_says_what_it_dropped(tmp_path, messy, caplog):
    data = tmp_path / "data"
    data.mkdir()
    _write(messy, data / "interactions.parquet")
    with caplog.at_level(logging.INFO, logger="features.events.load"):
        tables = load_tables(data)
    lean_log = _said(caplog.records)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="features.events.load"):
        general = validate_interactions(pd.read_parquet(data / "interactions.parquet"))
    assert lean_log == _said(caplog.records)
    assert any("unknown type" in line for line in lean_log)
    assert any("duplicate events dropped" in line for line in lean_log)
    pd.testing.assert_frame_equal(tables.interactions, general)
    assert sorted(tables.followers["follower_id"]) == sorted(general["follower_id"].unique())


def test_unsigned_dictionary_ids_and_a_nested_column_first(tmp_path, ids_read):
    # Some exporters keep categories with unsigned indices (uint8, uint32), nulls or not.
    n = 6
    times = pa.array(np.arange(n) * 10**6, pa.timestamp("us", tz="UTC"))
    posts = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, None, 1, 0, None], pa.uint8()), pa.array(["x", "y"])
    )
    followers = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 0, 1, 2, 2], pa.uint32()), pa.array(["a", "b", "c"])
    )
    # A struct column ahead of ours: row groups number its leaves, not the table's fields,
    # and only the ids have dictionary pages.
    device = pa.array([{"os": "ios", "model": "x"}] * n)
    table = {"device": device, "follower_id": followers, "event_type": ["view"] * n,
             "occurred_at": times, "post_id": posts}  # fmt: skip
    path = tmp_path / "unsigned.parquet"
    pq.write_table(pa.table(table), path, use_dictionary=["follower_id", "post_id"])
    pd.testing.assert_frame_equal(read_lean_events(path, batch_rows=4), _general(path))
    chosen = small_dictionaries(pq.read_metadata(path), ["follower_id", "post_id"])
    assert chosen == ([] if ids_read == "ids as text" else ["follower_id", "post_id"])
