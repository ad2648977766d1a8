"""The training plan: today's plan where the data allows it, shrunk and said where it does not."""

from __future__ import annotations

import pandas as pd
import pytest

from features.events.span import EventSpan, dense_span
from simulator.config import SimulationConfig
from training.sources.plan import (
    PlanRequest,
    SnapshotPlan,
    assign_periods,
    candidates,
    ideal_plan,
    make_plan,
    needed_days,
    snapshot_dates,
)

DAY = pd.Timedelta(days=1)
START = pd.Timestamp("2026-01-01", tz="UTC")


def _span(days: int, before: int = 0, after: int = 0) -> EventSpan:
    return EventSpan(START, START + (days - 1) * DAY, 1000, before, after)


def _weekly(n_dates: int) -> list[pd.Timestamp]:
    return list(pd.date_range("2026-01-01", periods=n_dates, freq="7D", tz="UTC"))


def _check_gaps(plan: SnapshotPlan) -> None:
    """Every period starts after the labels before it close, by the plan's gaps."""
    periods, horizon = plan.periods, plan.horizon_days * DAY
    assert all(d + horizon <= periods["test"][0] for d in periods["valid"])
    assert all(d + plan.stop_gap_days * DAY <= periods["valid"][0] for d in periods["stop"])
    if plan.stop_share:  # early stopping on held-out followers of the same snapshots
        assert periods["fit"] == periods["stop"]
        parts = ("fit", "valid", "test")
    else:
        assert all(d + horizon <= periods["stop"][0] for d in periods["fit"])
        parts = ("fit", "stop", "valid", "test")
    dates = [d for part in parts for d in periods[part]]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)


def test_the_default_audience_keeps_todays_plan():
    simulation = SimulationConfig()
    plan = make_plan(_span(simulation.days), 28)
    assert plan.shrunk == ()
    assert plan.features.windows_days == (7, 30, 90) and plan.features.half_life_days == 14.0
    assert (plan.every_days, plan.min_history_days, plan.n_valid, plan.n_test) == (7, 90, 2, 2)
    assert (plan.fit_gap_days, plan.stop_gap_days, plan.stop_share) == (28, 28, 0.0)
    assert [len(plan.periods[p]) for p in ("fit", "stop", "valid", "test")] == [4, 1, 2, 2]
    # The first snapshot comes after 91 days (13 whole weeks) of history.
    assert plan.periods["fit"][0] == START + 91 * DAY
    _check_gaps(plan)


def test_weekly_dates_split_newest_first_with_a_horizon_between_periods():
    plan = ideal_plan(28, PlanRequest())
    periods = assign_periods(_weekly(16), plan)
    assert periods is not None
    assert periods["test"] == tuple(_weekly(16)[-2:])
    # Validation is the newest pair that may be used: one week later would overlap the test.
    assert periods["valid"][-1] == pd.Timestamp("2026-03-12", tz="UTC")
    assert periods["stop"] == (pd.Timestamp("2026-02-05", tz="UTC"),)
    assert len(periods["fit"]) == 2
    _check_gaps(SnapshotPlan(**{**plan.__dict__, "periods": periods}))


@pytest.mark.parametrize("n_dates", [3, 8, 9, 11, 14])
def test_too_few_dates_fit_no_plan(n_dates):
    assert assign_periods(_weekly(n_dates), ideal_plan(28, PlanRequest())) is None


def test_fifteen_weekly_dates_are_the_least_for_the_ideal_plan():
    # 2 test, a 4-week gap, 2 valid, a 4-week gap, 1 stop, a 4-week gap, 1 fit.
    periods = assign_periods(_weekly(15), ideal_plan(28, PlanRequest()))
    assert periods is not None and len(periods["fit"]) == 1


@pytest.mark.parametrize("horizon", [1, 2, 3, 7, 14, 28])
@pytest.mark.parametrize("days", [10, 21, 45, 60, 90, 150, 240, 400])
def test_every_plan_keeps_the_test_gap_and_full_windows(horizon, days):
    try:
        plan = make_plan(_span(days), horizon)
    except ValueError as error:
        assert days < needed_days(horizon, PlanRequest()), str(error)
        return
    _check_gaps(plan)
    assert max(plan.features.windows_days) <= plan.min_history_days
    assert plan.periods["fit"][0] >= START + plan.min_history_days * DAY
    assert plan.periods["test"][-1] + horizon * DAY <= START + days * DAY


def test_a_short_log_shrinks_history_and_gaps_and_says_so():
    plan = make_plan(_span(60), 7)
    assert plan.min_history_days == 30 and plan.features.windows_days == (7, 14, 30)
    assert plan.every_days == 3  # a week's horizon: snapshots every half horizon
    assert plan.shrunk[0] == "history 30 of 90 days"
    assert "early stopping on 20% held-out followers" in plan.shrunk
    assert dict(plan.describe())["shrunk to fit the data"] == "; ".join(plan.shrunk)
    assert plan.to_params()["plan_test_gap_days"] == 7


def test_a_few_days_horizon_gives_daily_snapshots():
    plan = make_plan(_span(14), 2)
    assert plan.every_days == 1
    assert len(plan.periods["fit"]) >= 3
    _check_gaps(plan)


def test_the_smallest_log_is_about_four_horizons():
    assert needed_days(1, PlanRequest()) <= 9
    assert 3 * 28 <= needed_days(28, PlanRequest()) <= 5 * 31
    make_plan(_span(needed_days(28, PlanRequest())), 28)
    with pytest.raises(ValueError):
        make_plan(_span(needed_days(28, PlanRequest()) - 1), 28)


def test_too_short_says_how_much_is_there_and_needed_and_which_flag_fits():
    with pytest.raises(ValueError) as error:
        make_plan(_span(9, before=12), 28)
    message = str(error.value)
    assert "(9 days; 12 stray events outside: 12 before)" in message
    assert f"needs at least {needed_days(28, PlanRequest())} days" in message
    longest = max(h for h in range(1, 28) if needed_days(h, PlanRequest()) <= 9)
    assert longest == 2 and "use --horizon 2 (the longest that fits)" in message


def test_what_the_user_fixed_is_never_shrunk():
    request = PlanRequest(windows_days=(7, 30, 90), n_test_snapshots=2)
    assert all(p.features.windows_days == (7, 30, 90) for p in candidates(28, request))
    assert all(p.n_test == 2 and p.min_history_days >= 90 for p in candidates(28, request))
    with pytest.raises(ValueError, match="drop --windows, --test-snapshots"):
        make_plan(_span(150), 28, request)
    plan = make_plan(_span(150), 28, PlanRequest(snapshot_every_days=1, windows_days=(1, 3, 7)))
    assert plan.every_days == 1 and plan.features.windows_days == (1, 3, 7)
    _check_gaps(plan)


def test_bad_requests_name_the_setting():
    with pytest.raises(ValueError, match="min_history_days"):
        PlanRequest(min_history_days=0)
    with pytest.raises(ValueError, match="n_valid_snapshots"):
        PlanRequest(n_valid_snapshots=0)
    with pytest.raises(ValueError, match="windows"):
        PlanRequest(windows_days=(30, 7))
    with pytest.raises(ValueError, match="shorter than the longest window"):
        PlanRequest(windows_days=(7, 30), min_history_days=14)


def test_snapshot_dates_stay_on_the_grid_of_the_first_day():
    plan = ideal_plan(28, PlanRequest())
    short, grown = snapshot_dates(_span(200), plan), snapshot_dates(_span(260), plan)
    assert grown[: len(short)] == short


def test_stray_timestamps_do_not_decide_the_span():
    days = pd.Series(pd.date_range("2017-11-25", "2017-12-03 23:00", freq="h", tz="UTC"))
    strays = pd.Series(pd.to_datetime(["2017-09-01", "2017-09-20", "2018-04-01"], utc=True))
    span = dense_span(pd.concat([strays, days], ignore_index=True))
    assert (span.first, span.last) == (pd.Timestamp("2017-11-25", tz="UTC"), days.max().floor("D"))
    assert (span.days, span.before, span.after) == (9, 2, 1)
    assert span.inside(strays).tolist() == [False, False, False]
    assert (
        span.describe()
        == "2017-11-25..2017-12-03 (9 days; 3 stray events outside: 2 before, 1 after)"
    )


def test_thin_first_days_of_a_growing_audience_stay_in_the_span():
    # One event on day 0, ten a day later on: nothing is stray.
    days = [START] + [START + d * DAY for d in range(1, 100) for _ in range(10)]
    span = dense_span(pd.Series(days))
    assert span.first == START and span.strays == 0 and span.days == 100
