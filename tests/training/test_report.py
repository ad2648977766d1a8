"""The evaluation report on seeded synthetic scores, and SHAP importance of a small booster."""

from __future__ import annotations

import re

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from training.report import REPORT_FILE, ReportInputs, shap_importance, write_report

PNG_FILES = ("gains.png", "calibration.png", "score_distribution.png", "importance.png")


@pytest.fixture(scope="module")
def results() -> ReportInputs:
    rng = np.random.default_rng(0)
    true_p = rng.beta(1, 12, size=3000)
    labels = (rng.random(3000) < true_p).astype(np.int8)
    noisy = np.clip(true_p * rng.lognormal(0, 0.8, 3000), 1e-4, 0.99)
    return ReportInputs(
        model="tuned LightGBM",
        scored={
            "points rule": (labels, np.clip(noisy * 1.5, 0, 0.99)),
            "tuned LightGBM": (labels, true_p),
            "logistic <regression>": (labels, noisy),
        },
        importance=pd.Series({"n_dm_30d": 0.4, "n_click_7d": 0.25, "platform": 0.05}),
        notes={"Oracle ROC AUC": "0.790", "Class balance": f"{labels.mean():.2%} converted"},
    )


@pytest.fixture(scope="module")
def report(results, tmp_path_factory):
    return write_report(tmp_path_factory.mktemp("report"), results)


def test_report_files_exist(report):
    assert report.name == REPORT_FILE
    for name in (REPORT_FILE, *PNG_FILES):
        assert (report.parent / name).stat().st_size > 1000


def test_html_has_a_row_per_scorer_with_the_model_first(report):
    page = report.read_text(encoding="utf-8")
    rows = re.findall(r"<tr(?: class=\"model\")?><td>([^<]+)</td>", page)
    assert rows[:3] == ["tuned LightGBM", "points rule", "logistic &lt;regression&gt;"]
    assert '<tr class="model"><td>tuned LightGBM</td>' in page
    for header in ("ROC AUC", "Lift top 10%", "ECE", "Brier (base rate)", "Base rate"):
        assert f"<th>{header}</th>" in page
    assert "Oracle ROC AUC: 0.790" in page


def test_html_is_self_contained(report):
    page = report.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == len(PNG_FILES)
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert not re.search(r"url\(|@import|<script|<link", page)


def test_report_without_importance_leaves_that_chart_out(results, tmp_path):
    bare = ReportInputs(model=results.model, scored=results.scored)
    page = write_report(tmp_path, bare).read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    assert not (tmp_path / "importance.png").exists()


def test_unknown_model_name_is_rejected(results, tmp_path):
    with pytest.raises(ValueError, match="no scores"):
        write_report(tmp_path, ReportInputs(model="nope", scored=results.scored))


@pytest.fixture(scope="module")
def booster_and_matrix() -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(2000, 4))
    logit = 2.0 * matrix[:, 2] + 0.5 * matrix[:, 0]
    labels = (rng.random(2000) < 1 / (1 + np.exp(-logit))).astype(int)
    params = {"objective": "binary", "num_threads": 1, "seed": 1, "verbosity": -1}
    return lgb.train(params, lgb.Dataset(matrix, label=labels), num_boost_round=20), matrix


def test_shap_importance_ranks_the_strongest_feature_first(booster_and_matrix):
    booster, matrix = booster_and_matrix
    names = ["weak", "noise_a", "strong", "noise_b"]
    importance = shap_importance(booster, matrix, names)
    assert sorted(importance.index) == sorted(names)
    assert importance.index[0] == "strong" and importance.index[1] == "weak"
    assert importance.is_monotonic_decreasing and (importance >= 0).all()


def test_shap_importance_samples_rows_with_a_seed(booster_and_matrix):
    booster, matrix = booster_and_matrix
    names = ["weak", "noise_a", "strong", "noise_b"]
    first = shap_importance(booster, pd.DataFrame(matrix), names, max_rows=500, seed=4)
    again = shap_importance(booster, matrix, names, max_rows=500, seed=4)
    pd.testing.assert_series_equal(first, again)
    assert first.index[0] == "strong"
