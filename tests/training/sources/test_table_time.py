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
