"""A lead table for training: settings, the table read, audited and split, and its baselines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.schema import LABEL_COLUMN
from features.tabular.spec import (
    DEFAULT_PLACEHOLDERS,
    TabularSpec,
    infer_tabular_spec,
    load_table,
    make_tabular_target,
    prepare_tabular,
    stratified_split,
)
from training.audit import apply_audit, audit_leakage
from training.config import DEFAULT_EXPERIMENT, DEFAULT_MODEL_NAME, check_tuning

# Each class needs this many rows, so that fit, early-stopping and test parts all hold some.
MIN_CLASS_ROWS = 20


def default_table_params() -> dict[str, Any]:
    """LightGBM settings for thousands to hundreds of thousands of CRM rows."""
    return {
        "objective": "binary",
        "learning_rate": 0.03,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        # Smooths the conversion rate of rare category levels towards the overall one.
        "cat_smooth": 10.0,
        "force_col_wise": True,
        "verbosity": -1,
        "num_threads": 2,
    }


@dataclass(frozen=True)
class TableConfig:
    """Settings of one training run on a lead table (one row per lead, an id and a 0/1 target)."""

    table_path: Path
    id_column: str
    target: str
    exclude: tuple[str, ...] = ()
    # Columns the leakage audit flags but a person decided to keep.
    keep: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    model_name: str = DEFAULT_MODEL_NAME
    experiment: str = DEFAULT_EXPERIMENT
    # Share of all rows held out for the test; share of the rest for early stopping/calibration.
    test_share: float = 0.2
    valid_share: float = 0.2
    num_boost_round: int = 3000
    early_stopping_rounds: int = 100
    seed: int = 42
    lgbm_params: dict[str, Any] = field(default_factory=default_table_params)
    # Fit logistic regression and default LightGBM beside the model.
    baselines: bool = True
    audit_auc_threshold: float = 0.95
    audit_level_min_rows: int = 50
    audit_level_purity: float = 0.98
    # Optuna trials over the LightGBM settings (0: train once with `lgbm_params` as they are),
    # the metric they optimise (a key of TUNE_METRICS), and the share of the fit rows that
    # judges them (training.table_tune).
    trials: int = 0
    tune_metric: str = "log_loss"
    tune_share: float = 0.2

    def __post_init__(self) -> None:
        check_tuning(self.trials, self.tune_metric)
        if not 0 < self.tune_share < 1:
            raise ValueError(f"tune_share must be in (0, 1), got {self.tune_share}")


@dataclass(frozen=True)
class TableData:
    """A lead table read, audited and split: what one run trains and tests on.

    `features` holds every row (prepared, indexed by the id) and only the audited spec's
    columns; `target` is 0/1 in the same order; `parts` are the row positions (fit, valid, test);
    `audit` is the leakage audit's flagged columns with the action taken.
    """

    table: pd.DataFrame
    spec: TabularSpec
    features: pd.DataFrame
    target: np.ndarray
    parts: tuple[np.ndarray, np.ndarray, np.ndarray]
    audit: pd.DataFrame


def prepare_table_data(config: TableConfig) -> TableData:
    """Read the table, infer its spec, split it, and audit the non-test rows for leakage."""
    table = load_table(config.table_path)
    spec = infer_tabular_spec(
        table, config.id_column, config.target, config.exclude, config.placeholders
    )
    unknown = sorted(set(config.keep) - set(spec.features))
    if unknown:
        raise ValueError(f"--keep names column(s) that are not features: {', '.join(unknown)}")
    target = make_tabular_target(table, spec).to_numpy()
    smallest = int(np.bincount(target, minlength=2).min())
    if smallest < MIN_CLASS_ROWS:
        raise ValueError(
            f"target {config.target!r} has only {smallest} rows of one class: "
            f"need at least {MIN_CLASS_ROWS} of each to train and test"
        )
    features = prepare_tabular(table, spec, config.placeholders)
    parts = stratified_split(target, config.test_share, config.valid_share, config.seed)
    # The test rows stay unseen by every decision, the audit's included.
    seen = np.sort(np.concatenate(parts[:2]))
    flagged = audit_leakage(
        features.iloc[seen],
        target[seen],
        spec.features,
        spec.categorical,
        auc_threshold=config.audit_auc_threshold,
        level_min_rows=config.audit_level_min_rows,
        level_purity=config.audit_level_purity,
    )
    audited = apply_audit(spec, flagged, config.keep)
    if not audited.features:
        raise ValueError("no feature column left after exclusions and the leakage audit")
    kept = flagged["column"].isin(list(config.keep))
    audit = flagged.assign(action=np.where(kept, "kept (--keep)", "excluded"))
    return TableData(table, audited, features[list(audited.features)], target, parts, audit)


def score_table_baselines(data: TableData, seed: int) -> dict[str, np.ndarray]:
    """Test probabilities of logistic regression and default LightGBM, fitted on all other rows.

    They need no early-stopping or calibration rows, so they learn from the fit and valid rows
    both: the model has to beat baselines that saw at least as much data.
    """
    from training.baselines import fit_default_lightgbm, fit_logistic

    fit_rows, valid_rows, test_rows = data.parts
    # Positional names, so no feature can clash with the label column the baselines read.
    names = {column: f"x{i}" for i, column in enumerate(data.spec.features)}
    frame = data.features.rename(columns=names)
    learn = np.sort(np.concatenate([fit_rows, valid_rows]))
    rows = frame.iloc[learn].assign(**{LABEL_COLUMN: data.target[learn]})
    columns = list(names.values())
    categorical = [names[column] for column in data.spec.categorical]
    scorers = {
        "logistic": fit_logistic(rows, columns, categorical, seed=seed),
        "LightGBM default": fit_default_lightgbm(rows, columns, categorical, seed=seed),
    }
    return {name: scorer.predict(frame.iloc[test_rows]) for name, scorer in scorers.items()}


def named_parts(data: TableData) -> list[tuple[str, np.ndarray]]:
    """(name, row positions) of the fit, valid and test parts."""
    return list(zip(("fit", "valid", "test"), data.parts, strict=True))


def kept_columns(audit: pd.DataFrame) -> tuple[tuple[str, str], ...]:
    """(column, evidence) of the columns the audit flagged and --keep kept."""
    kept = audit[audit["action"] != "excluded"]
    return tuple(zip(kept["column"], kept["evidence"], strict=True))
