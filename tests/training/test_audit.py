"""Leakage audit: leaky columns flagged with evidence, honest ones not, `keep` honoured."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.tabular.spec import TabularSpec
from training.audit import AUDIT_COLUMNS, apply_audit, audit_leakage

# 200 leads, the first 80 converted.
LABELS = pd.Series([1] * 80 + [0] * 120, index=pd.Index([f"p{i}" for i in range(200)], name="id"))


@pytest.fixture
def features() -> pd.DataFrame:
    """A leaky number, a tag with one pure level, an honest noisy category and number."""
    rng = np.random.default_rng(0)
    converted = LABELS.to_numpy() == 1
    # Days until the deal closed: filled in only for converters (missing as lowest separates).
    days_to_close = np.where(converted, rng.integers(1, 30, 200), np.nan)
    # 60 converters tagged "Closed", the rest spread over noise tags at the base rate.
    tag = np.array(["Ringing", "Later"] * 100, dtype=object)
    tag[:60] = "Closed"
    source = rng.choice(["Google", "Direct", "Olark"], size=200)
    visits = rng.poisson(3, 200).astype(float)
    return pd.DataFrame(
        {"days_to_close": days_to_close, "tag": tag, "source": source, "visits": visits},
        index=LABELS.index,
    )


@pytest.fixture
def spec() -> TabularSpec:
    return TabularSpec(
        id_column="id",
        target="converted",
        features=("days_to_close", "tag", "source", "visits"),
        categorical=("tag", "source"),
        numeric=("days_to_close", "visits"),
    )


def test_audit_flags_leaky_number_and_pure_level_only(features: pd.DataFrame) -> None:
    flagged = audit_leakage(features, LABELS, list(features.columns), ["tag", "source"])
    assert list(flagged.columns) == list(AUDIT_COLUMNS)
    assert flagged["column"].tolist() == ["days_to_close", "tag"]
    leaky = flagged.iloc[0]
    assert leaky["reason"] == "single-column AUC; pure level"
    assert leaky["auc"] == 1.0
    assert leaky["evidence"].startswith("single-column ROC AUC 1.000; value '<missing>' (n=120)")
    tag = flagged.iloc[1]
    assert tag["reason"] == "pure level"
    assert tag["evidence"] == "value 'Closed' (n=60) converts at 100 %"
    assert tag["auc"] < 0.95


def test_audit_single_column_auc_either_direction() -> None:
    labels = np.array([0, 1] * 30)
    frame = pd.DataFrame({"score": np.where(labels == 1, -1.0, 1.0) + np.arange(60) / 1000})
    flagged = audit_leakage(frame, labels, ["score"], [], level_min_rows=1000)
    assert flagged["reason"].tolist() == ["single-column AUC"]
    assert flagged["auc"].tolist() == [1.0]


def test_audit_many_level_category_does_not_fit_itself() -> None:
    labels = np.array([0, 1] * 100)
    # A unique id per row separates perfectly in-sample, never out of fold.
    frame = pd.DataFrame({"email": [f"lead{i}@x.com" for i in range(200)]})
    assert audit_leakage(frame, labels, ["email"], ["email"]).empty


def test_audit_category_auc_flags_levels_that_jointly_separate() -> None:
    # Four levels of 100 leads converting at 97, 97, 3 and 3 %: no level is pure enough to be
    # flagged alone, but the column ranks leads with AUC about 0.97.
    status = np.repeat(["won", "closed", "lost", "dead"], 100)
    labels = np.zeros(400, dtype=int)
    for start in (0, 100):
        labels[start : start + 97] = 1
    for start in (200, 300):
        labels[start : start + 3] = 1
    flagged = audit_leakage(pd.DataFrame({"status": status}), labels, ["status"], ["status"])
    assert flagged["reason"].tolist() == ["single-column AUC"]
    assert flagged["evidence"].iloc[0].startswith("single-column ROC AUC 0.9")
    assert 0.95 <= flagged["auc"].iloc[0] <= 0.98


def test_audit_leaves_inputs_untouched(features: pd.DataFrame) -> None:
    before = features.copy()
    audit_leakage(features, LABELS, list(features.columns), ["tag", "source"])
    pd.testing.assert_frame_equal(features, before)


def test_audit_aligns_labels_on_index_and_checks_them(features: pd.DataFrame) -> None:
    shuffled = LABELS.sample(frac=1.0, random_state=1)
    flagged = audit_leakage(features, shuffled, ["days_to_close"], [])
    assert flagged["column"].tolist() == ["days_to_close"]
    with pytest.raises(ValueError, match="0/1"):
        audit_leakage(features, np.full(200, 2), ["visits"], [])


def test_apply_audit_excludes_flagged_with_reason(
    features: pd.DataFrame, spec: TabularSpec
) -> None:
    flagged = audit_leakage(features, LABELS, spec.features, spec.categorical)
    audited = apply_audit(spec, flagged)
    assert audited.features == ("source", "visits")
    assert audited.categorical == ("source",)
    assert audited.numeric == ("visits",)
    assert audited.exclusion_reasons["tag"] == (
        "leakage audit: value 'Closed' (n=60) converts at 100 %"
    )
    assert spec.features == ("days_to_close", "tag", "source", "visits")


def test_apply_audit_honours_keep(features: pd.DataFrame, spec: TabularSpec) -> None:
    flagged = audit_leakage(features, LABELS, spec.features, spec.categorical)
    audited = apply_audit(spec, flagged, keep=["tag"])
    assert audited.features == ("tag", "source", "visits")
    assert list(audited.exclusion_reasons) == ["days_to_close"]
    with pytest.raises(ValueError, match="not features: typo"):
        apply_audit(spec, flagged, keep=["typo"])
