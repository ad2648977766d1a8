"""Tests of the simulated audience: contracts, reproducibility, hidden behaviour and the oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from features.schema import EVENT_TYPES, HIGH_INTENT_EVENTS, PLATFORMS, POST_FORMATS
from simulator import audience
from simulator import config as world
from simulator.audience import CHUNK, simulate_audience, simulate_to_folder, write_audience
from simulator.config import Audience, SimulationConfig
from simulator.dynamics import draw_chunk
from simulator.schedule import draw_schedule

SMALL = SimulationConfig(n_followers=500, days=60, seed=7)
MEDIUM = SimulationConfig(n_followers=6_000, days=120, seed=11)
STR = pd.StringDtype(na_value=np.nan)
UTC = "datetime64[us, UTC]"
DTYPES = {
    "followers": {
        "follower_id": STR,
        "platform": STR,
        "followed_at": UTC,
        "country": STR,
        "follower_count": "Int64",
        "following_count": "Int64",
        "is_business": "boolean",
    },
    "posts": {
        "post_id": STR,
        "platform": STR,
        "published_at": UTC,
        "format": STR,
        "campaign": STR,
    },
    "interactions": {
        "event_id": STR,
        "follower_id": STR,
        "event_type": STR,
        "occurred_at": UTC,
        "post_id": STR,
        "value": "float64",
    },
    "conversions": {"follower_id": STR, "converted_at": UTC, "lead_value": "float64"},
    "oracle": {
        "as_of": UTC,
        "follower_id": STR,
        "p_convert": "float64",
        "state": STR,
        "horizon_days": "Int64",
    },
}
TABLES = tuple(DTYPES)


@pytest.fixture(scope="module")
def small() -> Audience:
    return simulate_audience(SMALL)


@pytest.fixture(scope="module")
def medium() -> Audience:
    return simulate_audience(MEDIUM)


def _window(config: SimulationConfig) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(config.start, tz="UTC")
    return start, start + pd.Timedelta(days=config.days)


def _hidden_archetypes(config: SimulationConfig) -> pd.Series:
    """Re-draw the hidden archetype of each follower (one chunk), indexed by follower_id."""
    assert config.n_followers <= CHUNK
    rng = np.random.default_rng([config.seed, 2, 0])
    chunk = draw_chunk(rng, config, draw_schedule(config), 0, config.n_followers)
    ids = [f"f{number:07d}" for number in range(1, config.n_followers + 1)]
    return pd.Series(chunk.archetype, index=ids)


def _oracle_labels(audience: Audience, horizon_days: int) -> pd.Series:
    """Realised label of each oracle row: converted in [as_of, as_of + horizon)."""
    converted_at = audience.conversions.set_index("follower_id")["converted_at"]
    when = audience.oracle["follower_id"].map(converted_at)
    as_of = audience.oracle["as_of"]
    return ((when >= as_of) & (when < as_of + pd.Timedelta(days=horizon_days))).astype(int)


def test_same_seed_gives_identical_frames(small: Audience) -> None:
    again = simulate_audience(SMALL)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(again, name), getattr(small, name))


def test_other_seed_gives_other_frames(small: Audience) -> None:
    other = simulate_audience(SimulationConfig(n_followers=500, days=60, seed=8))
    assert not other.interactions.equals(small.interactions)
    assert not other.followers.equals(small.followers)


def test_chunking_keeps_ids_unique_and_results_deterministic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audience, "CHUNK", 120)
    first, second = simulate_audience(SMALL), simulate_audience(SMALL)
    expected = [f"f{number:07d}" for number in range(1, SMALL.n_followers + 1)]
    assert first.followers["follower_id"].tolist() == expected
    assert first.interactions["follower_id"].isin(expected).all()
    assert first.oracle["follower_id"].isin(expected).all()
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(second, name))


@pytest.mark.parametrize("name", TABLES)
def test_columns_and_dtypes(small: Audience, name: str) -> None:
    frame = getattr(small, name)
    assert list(frame.columns) == list(DTYPES[name])
    assert {column: frame[column].dtype for column in frame} == DTYPES[name]
    assert isinstance(frame.index, pd.RangeIndex)


def test_vocabularies_and_id_formats(small: Audience) -> None:
    assert set(small.interactions["event_type"]) <= set(EVENT_TYPES)
    assert set(small.followers["platform"]) == set(PLATFORMS)
    assert set(small.posts["format"]) <= set(POST_FORMATS)
    assert small.followers["follower_id"].str.fullmatch(r"f\d{7}").all()
    assert small.posts["post_id"].str.fullmatch(r"p\d{6}").all()
    assert small.interactions["event_id"].str.fullmatch(r"e\d{9}").all()
    assert small.followers["follower_id"].is_unique and small.posts["post_id"].is_unique


def test_timestamps_lie_inside_the_window(small: Audience) -> None:
    start, end = _window(SMALL)
    for frame, column in [
        (small.interactions, "occurred_at"),
        (small.posts, "published_at"),
        (small.conversions, "converted_at"),
        (small.oracle, "as_of"),
    ]:
        assert frame[column].between(start, end, inclusive="left").all(), column
    assert (small.followers["followed_at"] < end).all()
    assert (small.followers["followed_at"] < start).mean() == pytest.approx(0.5, abs=0.1)


def test_interactions_arrive_mostly_in_order_and_are_consistent(small: Audience) -> None:
    events = small.interactions
    # Arrival order: about 1 % of events arrive late and sit after later ones.
    earlier = events["occurred_at"] < events["occurred_at"].cummax().shift(fill_value=pd.NaT)
    assert 0.002 < earlier.mean() < 0.03
    followed_at = small.followers.set_index("follower_id")["followed_at"]
    assert (events["occurred_at"] >= events["follower_id"].map(followed_at)).all()
    follows = events[events["event_type"] == "follow"]
    assert follows["occurred_at"].equals(follows["follower_id"].map(followed_at))
    without_post = events["event_type"].isin(
        ["profile_visit", "dm", "mention", "follow", "unfollow"]
    )
    assert events.loc[without_post, "post_id"].isna().all()
    assert events.loc[~without_post, "post_id"].notna().all()
    published_at = small.posts.set_index("post_id")["published_at"]
    on_post = events.loc[~without_post]
    assert (on_post["occurred_at"] >= on_post["post_id"].map(published_at)).all()


def test_unfollow_is_the_last_event(small: Audience) -> None:
    events = small.interactions
    gone = events[events["event_type"] == "unfollow"].set_index("follower_id")["occurred_at"]
    assert gone.index.is_unique and len(gone) > 0
    later = events["occurred_at"] > events["follower_id"].map(gone)
    assert not later.any()


def test_watch_seconds_only_on_video_views(small: Audience) -> None:
    events = small.interactions
    formats = events["post_id"].map(small.posts.set_index("post_id")["format"])
    has_value = events["value"].notna()
    assert has_value.any()
    assert (events.loc[has_value, "event_type"] == "view").all()
    assert formats[has_value].isin(["video", "live"]).all()
    assert (events.loc[has_value, "value"] > 0).all()


def test_profiles_have_missing_fields(medium: Audience) -> None:
    followers = medium.followers
    assert followers["country"].isna().mean() == pytest.approx(0.20, abs=0.03)
    assert followers["follower_count"].isna().mean() == pytest.approx(0.10, abs=0.03)
    assert followers["is_business"].isna().mean() == pytest.approx(0.15, abs=0.03)
    linkedin = followers["platform"] == "linkedin"
    business = followers["is_business"].astype("float")
    assert business[linkedin].mean() > 2 * business[~linkedin].mean()


def test_a_few_exact_duplicate_events(medium: Audience) -> None:
    share = medium.interactions.duplicated().mean()
    assert 0.002 < share < 0.01
    assert medium.interactions["event_id"].nunique() == len(medium.interactions.drop_duplicates())


def test_conversions_are_unique_and_after_following(small: Audience) -> None:
    conversions = small.conversions
    assert len(conversions) > 0
    assert conversions["follower_id"].is_unique
    followed_at = small.followers.set_index("follower_id")["followed_at"]
    assert conversions["follower_id"].isin(followed_at.index).all()
    assert (conversions["converted_at"] > conversions["follower_id"].map(followed_at)).all()
    assert (conversions["lead_value"] > 0).all()


def test_bots_and_heavy_likers_never_convert_and_lurkers_do(medium: Audience) -> None:
    archetype = _hidden_archetypes(MEDIUM)
    converted = archetype.index.isin(medium.conversions["follower_id"])
    assert not converted[archetype.isin([world.BOT, world.LIKER])].any()
    lurkers = archetype.index[archetype == world.LURKER]
    assert converted[archetype == world.LURKER].any()
    lurker_events = medium.interactions[medium.interactions["follower_id"].isin(lurkers)]
    assert set(lurker_events["event_type"]) <= {"view", "profile_visit", "follow", "unfollow"}
    never = archetype.index[archetype.isin([world.BOT, world.LIKER])]
    assert (medium.oracle.loc[medium.oracle["follower_id"].isin(never), "p_convert"] == 0).all()


def test_bots_like_far_more_than_others(medium: Audience) -> None:
    archetype = _hidden_archetypes(MEDIUM)
    likes = medium.interactions[medium.interactions["event_type"] == "like"]
    per_follower = likes.groupby("follower_id").size().reindex(archetype.index, fill_value=0)
    assert per_follower[archetype == world.BOT].median() > 10 * max(
        per_follower[archetype == world.NORMAL].median(), 1
    )


def test_oracle_snapshots_and_population(small: Audience) -> None:
    start, end = _window(SMALL)
    every = pd.Timedelta(days=SMALL.oracle_every_days)
    horizon = pd.Timedelta(days=SMALL.horizon_days)
    as_of = pd.DatetimeIndex(small.oracle["as_of"].unique())
    assert list(as_of) == list(pd.date_range(start + every, end - horizon, freq=every))
    assert not small.oracle.duplicated(["as_of", "follower_id"]).any()
    followed_at = small.oracle["follower_id"].map(
        small.followers.set_index("follower_id")["followed_at"]
    )
    assert (followed_at < small.oracle["as_of"]).all()
    converted_at = small.oracle["follower_id"].map(
        small.conversions.set_index("follower_id")["converted_at"]
    )
    assert not (converted_at < small.oracle["as_of"]).any()
    unfollows = small.interactions[small.interactions["event_type"] == "unfollow"]
    gone = small.oracle["follower_id"].map(unfollows.set_index("follower_id")["occurred_at"])
    assert not (gone < small.oracle["as_of"]).any()


def test_oracle_probabilities_are_calibrated(medium: Audience) -> None:
    p = medium.oracle["p_convert"]
    assert p.between(0.0, 1.0).all()
    labels = _oracle_labels(medium, MEDIUM.horizon_days)
    assert 0.02 < labels.mean() < 0.08
    assert p.mean() == pytest.approx(labels.mean(), rel=0.15)
    high = p > p.quantile(0.9)
    assert labels[high].mean() == pytest.approx(p[high].mean(), rel=0.2)


def test_oracle_ranks_realised_conversions(medium: Audience) -> None:
    labels = _oracle_labels(medium, MEDIUM.horizon_days)
    assert roc_auc_score(labels, medium.oracle["p_convert"]) > 0.8


def test_high_intent_events_carry_signal_but_do_not_separate(medium: Audience) -> None:
    events = medium.interactions[medium.interactions["event_type"].isin(HIGH_INTENT_EVENTS)]
    counts = []
    for as_of, rows in medium.oracle.groupby("as_of"):
        recent = events["occurred_at"].between(as_of - pd.Timedelta(days=14), as_of, "left")
        per_follower = events[recent].groupby("follower_id").size()
        counts.append(rows["follower_id"].map(per_follower).fillna(0))
    labels = _oracle_labels(medium, MEDIUM.horizon_days)
    auc = roc_auc_score(labels, pd.concat(counts).reindex(labels.index))
    # A hot follower shows it, yet one count is no giveaway: the oracle stays clearly ahead.
    assert 0.55 < auc < 0.85
    assert roc_auc_score(labels, medium.oracle["p_convert"]) > auc + 0.05


def test_write_audience_round_trips(small: Audience, tmp_path: Path) -> None:
    paths = write_audience(small, tmp_path / "out")
    assert set(paths) == set(TABLES)
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == sorted(
        f"{name}.parquet" for name in TABLES
    )
    for name, path in paths.items():
        pd.testing.assert_frame_equal(pd.read_parquet(path), getattr(small, name))


def test_simulating_to_a_folder_writes_the_same_tables_slice_by_slice(
    small: Audience, tmp_path: Path
) -> None:
    # Slices far smaller than the log: the text is made and written a slice at a time.
    rows = simulate_to_folder(SMALL, tmp_path / "out", slice_rows=997)
    assert rows == {name: len(getattr(small, name)) for name in TABLES}
    assert len(small.interactions) > 5 * 997
    for name in TABLES:
        written = pd.read_parquet(tmp_path / "out" / f"{name}.parquet")
        pd.testing.assert_frame_equal(written, getattr(small, name), obj=name)
    events = pq.ParquetFile(tmp_path / "out" / "interactions.parquet")
    assert events.metadata.num_row_groups > 5


def test_invalid_sizes_are_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        simulate_audience(SimulationConfig(n_followers=0))
