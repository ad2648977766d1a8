"""Date columns of lead tables: recognised by their values, never categories of date strings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.tabular.dates import DateColumn, derived_columns, parse_dates, recognise_date
from features.tabular.spec import TabularSpec, infer_tabular_spec, prepare_tabular

TIMES = pd.to_datetime(
    ["2026-01-13 09:30", "2026-02-28 17:05", "2026-03-01 00:00", "2026-12-25 23:59"]
)


def _text(form: str, name: str = "d") -> pd.Series:
    return pd.Series(TIMES.strftime(form), name=name)


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ("%Y-%m-%d", "ISO8601"),
        ("%Y-%m-%dT%H:%M:%SZ", "ISO8601"),
        ("%d/%m/%Y", "%d/%m/%Y"),
        ("%m/%d/%Y", "%m/%d/%Y"),
        ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M"),
        ("%m/%d/%y", "%m/%d/%y"),
    ],
)
def test_written_dates_are_recognised_with_their_form(form, expected):
    date = recognise_date(_text(form))
    assert date is not None and date.form == expected
    parsed = parse_dates(_text(form), date.form)
    assert (parsed.dt.date == pd.Series(TIMES.date)).all()


def test_times_of_day_are_noticed_and_midnights_are_not():
    assert recognise_date(_text("%Y-%m-%d %H:%M")).timed
    assert not recognise_date(_text("%Y-%m-%d")).timed


def test_epoch_numbers_are_dates_only_under_a_time_like_name():
    seconds = pd.Series((TIMES - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1))
    assert recognise_date(seconds.rename("created_at")).form == "epoch:s"
    assert recognise_date((seconds * 1000).rename("signup_time")).form == "epoch:ms"
    assert recognise_date(seconds.rename("phone")) is None
    parsed = parse_dates(seconds.rename("created_at"), "epoch:s")
    assert parsed.iloc[0] == pd.Timestamp("2026-01-13 09:30", tz="UTC")


@pytest.mark.parametrize(
    "values",
    [
        ["2015", "2016", "2017", "2018"],  # years are numbers, not dates
        ["lp-001", "lp-002", "lp-003", "lp-004"],
        ["1.5", "2.25", "3.0", "4.75"],
        ["12-3", "4-5", "6-7", "8-9"],
    ],
)
def test_other_text_is_not_a_date(values):
    assert recognise_date(pd.Series(values, name="d")) is None


def test_a_few_stray_values_read_as_missing():
    values = pd.Series([*TIMES.strftime("%d/%m/%Y")] * 10 + ["n/a"], name="d")
    date = recognise_date(values)
    assert date is not None and date.form == "%d/%m/%Y"
    assert parse_dates(values, date.form).isna().sum() == 1


def test_each_date_gives_month_weekday_hour_and_each_pair_the_days_between():
    dates = [DateColumn("a", "ISO8601", True), DateColumn("b", "ISO8601", False)]
    assert list(derived_columns(dates)) == [
        "a month", "a weekday", "a hour", "b month", "b weekday", "days from a to b",
    ]  # fmt: skip


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["l1", "l2", "l3", "l4"],
            "won": [1, 0, 0, 1],
            "created": TIMES.strftime("%d/%m/%Y %H:%M"),
            "first_visit": (TIMES - pd.Timedelta(days=2)).strftime("%Y-%m-%d"),
            "source": ["ads", "seo", "ads", "seo"],
        }
    )


def test_a_table_with_dates_gets_derived_numbers_not_date_categories():
    spec = infer_tabular_spec(_table(), "id", "won")
    assert spec.categorical == ("source",)
    assert "created" not in spec.features and "first_visit" not in spec.features
    assert spec.dates == (("created", "%d/%m/%Y %H:%M", True), ("first_visit", "ISO8601", False))
    assert [c for c, kind in spec.inputs if kind == "date"] == ["created", "first_visit"]
    features = prepare_tabular(_table(), spec)
    assert features["created month"].tolist() == [1.0, 2.0, 3.0, 12.0]
    assert features["created weekday"].tolist() == [1.0, 5.0, 6.0, 4.0]  # Tue, Sat, Sun, Fri
    assert features["created hour"].tolist() == [9.0, 17.0, 0.0, 23.0]
    days = features["days from created to first_visit"].to_numpy()
    assert np.allclose(days, [-2 - 9.5 / 24, -2 - (17 + 5 / 60) / 24, -2.0, -2 - 23.983333 / 24])
    assert TabularSpec.from_dict(spec.to_dict()) == spec


def test_leaving_out_a_date_leaves_out_what_is_made_from_it():
    spec = infer_tabular_spec(_table(), "id", "won").without({"first_visit": "leak"})
    assert not any("first_visit" in column for column in spec.features)
    assert spec.dates == (("created", "%d/%m/%Y %H:%M", True),)
    reasons = dict(spec.excluded)
    assert reasons["first_visit"] == "leak"
    assert reasons["days from created to first_visit"] == "made from 'first_visit', left out"
    assert "first_visit" not in prepare_tabular(_table().drop(columns="first_visit"), spec)


def test_reasons_say_what_a_date_feature_means():
    from features.tabular.phrases import TablePhrases, say_table_value

    table = _table()
    spec = infer_tabular_spec(table, "id", "won")
    phrases = (
        TablePhrases(spec, {"source": ["ads", "seo"]})
        .fit(table, prepare_tabular(table, spec))
        .to_dict()
    )
    said = {
        column: say_table_value(column, value, phrases)
        for column, value in prepare_tabular(table, spec).iloc[0].items()
    }
    assert said["created month"] == "created in January"
    assert said["created weekday"] == "created on a Tuesday"
    assert said["created hour"] == "created at 9 h"
    assert said["days from created to first_visit"] == "first_visit 2.4 days before created"
    assert said["source"] == "source is ads"
