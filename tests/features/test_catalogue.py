"""The feature catalogue describes every column, and says values the way a person would."""

from __future__ import annotations

import numpy as np
import pytest

from features.catalogue import catalogue, describe, explain
from features.schema import FeatureConfig, feature_columns

CONFIGS = [FeatureConfig(), FeatureConfig((14, 60), 7.0), FeatureConfig((30,), 3.5)]


@pytest.mark.parametrize("config", CONFIGS)
def test_every_column_has_a_description_and_phrases(config):
    assert list(catalogue(config)) == list(feature_columns(config))
    for column in feature_columns(config):
        assert describe(column, config).strip()
        assert catalogue(config)[column].without_events
        for value in (0, 1, 2.5, np.nan, None):
            assert explain(column, value, config).strip()


def test_descriptions_in_plain_words():
    assert describe("n_click_7d") == "link clicks in the last 7 days"
    assert describe("n_dm_14d", CONFIGS[1]) == "DMs in the last 14 days"
    assert "halving every 7 days" in describe("engagement_score", CONFIGS[1])


def test_values_in_plain_words():
    assert explain("n_click_7d", 4) == "4 link clicks in the last 7 days"
    assert explain("n_click_7d", 1) == "1 link click in the last 7 days"
    assert explain("n_dm_30d", 0) == "no DMs in the last 30 days"
    assert explain("days_since_last_dm", 2.4) == "last DM 2 days ago"
    assert explain("days_since_last_event", np.nan) == "no events yet"
    assert explain("days_since_last_event", 0.3) == "last event today"
    assert explain("days_since_follow", 90.0) == "following for 90 days"
    share = "33% of the events in the last 30 days were link clicks"
    assert explain("click_share_30d", 1 / 3) == share
    pace = "activity in the last 7 days at 2.9x its 30-day pace"
    assert explain("velocity_7d_30d", 20 / 7) == pace
    assert explain("is_business", 1.0) == "business account"
    assert explain("country", None) == "country unknown"


def test_unknown_column_is_named():
    with pytest.raises(KeyError, match="n_clicks_7d"):
        describe("n_clicks_7d")


def test_one_event_on_the_busiest_day_is_said_in_the_singular():
    from features.schema import DEFAULT_FEATURE_CONFIG

    phrase = catalogue(DEFAULT_FEATURE_CONFIG)["max_events_per_day_90d"].phrase
    assert phrase(1.0) == "at most 1 event in one day in the last 90 days"
    assert phrase(3.0) == "at most 3 events in one day in the last 90 days"
