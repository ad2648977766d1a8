"""Lead tables with time: split out of time by a date column or the row order, said so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulator.leads import LeadTableConfig, simulate_lead_table
from tests.conftest import fast_table_config, load_source
from training.run import train
from training.sources.splits import newest, time_split


def test_time_split_puts_the_newest_rows_last_and_ties_together():
    keys = np.array([5, 1, 3, 3, 2, 4, 4, 4, 0, 6, np.nan], dtype=float)
    fit, stop, test = time_split(keys, test_share=0.2, stop_share=0.2)
    assert keys[test].min() > keys[stop].max() and keys[stop].min() > keys[fit].max()
    assert 10 not in np.concatenate([fit, stop, test])  # no time, no part
    assert sorted(keys[test]) == [5.0, 6.0] and sorted(keys[stop]) == [4.0, 4.0, 4.0]
    older, later = newest(fit, keys, 0.25)
    assert keys[later].min() > keys[older].max()


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dated") / "leads.csv"
    simulate_lead_table(LeadTableConfig(n_leads=3000, days=240, seed=3)).to_csv(path, index=False)
    return path


def _config(table: Path, **changes):
    return fast_table_config(table, id_column="lead_id", target="won", exclude=(), **changes)


def test_time_split_tests_on_the_newest_leads_and_tunes_on_the_newest_fit_rows(dated):
    source = load_source(_config(dated, time="created"))
    times = pd.to_datetime(pd.read_csv(dated)["created"])
    fit, stop, test = source.parts
    assert times[test].min() > times[stop].max() > times[fit].max()
    assert len(test) == pytest.approx(0.2 * len(times), abs=20)
    trial_fit, judged = source.split_for_tuning(seed=1)
    assert times[judged].min() > times[trial_fit].max()
    described = dict(source.describe())
    assert described["split"].startswith("out of time by 'created': test the newest 20%")
    assert "created (ISO8601)" in described["dates"]
    # Dates are read into numbers, never into categories of date strings.
    assert not {"created", "first_visit", "closed_at"} & set(source.spec.categorical)
    assert {"created month", "created weekday", "created hour"} <= set(source.spec.features)
    # A close date after the lead's creation is the outcome in disguise: left out, with all
    # that is made from it.
    flagged = source.audit.set_index("column")
    assert "date after time" in flagged.loc["closed_at", "reason"]
    assert not any("closed_at" in column for column in source.spec.features)
    assert list(flagged.index) == ["closed_at"]  # one decision for the date, not one per part
    assert dict(source.spec.excluded)["closed_at month"].startswith("made from 'closed_at'")
    assert "landing_page" in source.spec.features  # 500 levels of honest noise and signal


def test_ordered_splits_by_row_order_and_without_either_the_split_is_random(dated):
    ordered = load_source(_config(dated, ordered=True))
    fit, stop, test = ordered.parts
    assert test.min() > stop.max() > fit.max()
    assert "out of time by row order" in dict(ordered.describe())["split"]
    random = load_source(_config(dated))
    assert "stratified random" in dict(random.describe())["split"]
    assert random.parts[2].min() < fit.max()  # test rows are spread over the table


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time": "origin"}, "--time 'origin': its values are not dates"),
        ({"time": "nope"}, "--time 'nope' is not a column"),
        ({"time": "created", "ordered": True}, "give one of them"),
    ],
)
def test_bad_time_settings_are_clear_errors(dated, changes, message):
    with pytest.raises(ValueError, match=message):
        load_source(_config(dated, **changes))


@pytest.mark.slow
def test_a_dated_table_trains_out_of_time_and_says_so(dated, tracking_uri):
    result = train(_config(dated, time="created", model_name="dated-test"))
    assert "out of time by 'created'" in result.summary.test_title
    assert 0.55 < result.metrics["roc_auc"] < 0.95


def _coarse(tmp_path: Path, dates: list[str]) -> Path:
    rng = np.random.default_rng(0)
    n = 900
    table = pd.DataFrame(
        {
            "lead_id": [f"l{i}" for i in range(n)],
            "month": np.repeat(dates, n // len(dates)),
            "ts": pd.to_datetime(np.repeat(dates, n // len(dates))).astype("int64") // 10**6,
            "visits": rng.poisson(3, n),
            "won": (rng.random(n) < 0.3).astype(int),
        }
    )
    path = tmp_path / "coarse.csv"
    table.to_csv(path, index=False)
    return path


def test_too_few_distinct_times_is_a_clear_error(tmp_path):
    path = _coarse(tmp_path, ["2026-01-01", "2026-02-01"])
    with pytest.raises(ValueError, match="2 distinct time"):
        load_source(_config(path, time="month"))


def test_coarse_times_that_leave_tuning_one_sided_say_so_before_any_trial(tmp_path):
    source = load_source(_config(_coarse(tmp_path, ["2026-01-01", "2026-02-01", "2026-03-01"])))
    assert source.keys is None  # no --time: random split, tuning fine
    timed = load_source(_config(tmp_path / "coarse.csv", time="month"))
    with pytest.raises(ValueError, match="tuning: the fit rows trained on \\(0\\)"):
        timed.split_for_tuning(seed=1)


def test_time_takes_epoch_numbers_whatever_the_columns_name(tmp_path):
    path = _coarse(tmp_path, ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"])
    source = load_source(_config(path, time="ts"))
    times = pd.to_datetime(pd.read_csv(path)["month"])
    assert times[source.parts[2]].min() > times[source.parts[0]].max()


def test_a_leaky_date_left_out_is_not_needed_to_score_and_keep_keeps_it_whole(dated):
    from features.tabular.spec import prepare_tabular

    source = load_source(_config(dated))  # no --time: its features go for missingness
    assert "closed_at" not in [column for column, _ in source.spec.inputs]
    table = pd.read_csv(dated).drop(columns="closed_at")
    assert len(prepare_tabular(table, source.spec)) == len(table)
    kept = load_source(_config(dated, keep=("closed_at",)))
    assert "closed_at month" in kept.spec.features
    assert set(kept.audit.loc[kept.audit["column"].str.contains("closed_at"), "action"]) == {
        "kept (--keep)"
    }


def test_scoring_says_how_many_dates_it_could_not_read(dated, caplog):
    from features.tabular.spec import prepare_tabular

    source = load_source(_config(dated, time="created"))
    table = pd.read_csv(dated).head(3).assign(created=["02/12/2026 10:30", "", "2026-12-02"])
    features = prepare_tabular(table, source.spec)
    assert features["created month"].isna().tolist() == [True, True, False]
    assert "'created': 1 value(s) not written as ISO8601 read as missing" in caplog.text
