"""Reasons of a table model in words: levels in their usual spelling, numbers against quartiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.tabular.phrases import TablePhrases, say_table_value
from features.tabular.spec import infer_tabular_spec, prepare_tabular


@pytest.fixture
def phrases(small_leads: pd.DataFrame) -> dict:
    table = small_leads
    spec = infer_tabular_spec(table.assign(Seconds=np.arange(8.0)), "id", "won")
    features = prepare_tabular(table, spec)
    # Levels the model learnt: "x" is left out, as a level beyond max_levels would be.
    levels = {"Lead Source": ["google", "olark chat"]}
    return TablePhrases(spec, levels).fit(table, features).to_dict()


def test_levels_are_said_in_their_most_frequent_spelling(phrases: dict) -> None:
    assert phrases["labels"] == {"Lead Source": {"google": "Google", "olark chat": "Olark Chat"}}
    assert say_table_value("Lead Source", "google", phrases) == "Lead Source is Google"
    assert say_table_value("Lead Source", None, phrases) == "Lead Source is missing"
    assert say_table_value("Lead Source", "x", phrases) == (
        "Lead Source is 'x', a value new to the model"
    )


def test_numbers_are_low_typical_or_high_against_training_quartiles(phrases: dict) -> None:
    assert phrases["quartiles"]["Visits"] == [1.5, 4.5]
    assert phrases["quartiles"]["Seconds"] is None
    assert say_table_value("Visits", 1532.0, phrases) == "Visits is 1,532 (high)"
    assert say_table_value("Visits", 3.0, phrases) == "Visits is 3 (typical)"
    assert say_table_value("Visits", 0.25, phrases) == "Visits is 0.2 (low)"
    assert say_table_value("Visits", np.nan, phrases) == "Visits is missing"
    assert say_table_value("Seconds", 12.0, phrases) == "Seconds is 12"


def test_without_phrases_the_bare_value_is_said() -> None:
    assert say_table_value("Lead Source", "google", {}) == "Lead Source is google"
    assert say_table_value("Visits", 3.0, {}) == "Visits is 3"
    assert say_table_value("Visits", None, {}) == "Visits is missing"
