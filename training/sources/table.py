"""A lead table as training rows: read, audited for leakage on non-test rows, split at random."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.io import read_table
from features.schema import LABEL_COLUMN
from features.tabular.phrases import TablePhrases
from features.tabular.spec import (
    DEFAULT_PLACEHOLDERS,
    TABLE_VERSION,
    TabularSpec,
    infer_tabular_spec,
    make_tabular_target,
    prepare_tabular,
)
from serving.model.bundle import ScoringBundle
from serving.model.spec import TableInput
from training.audit import AuditThresholds, audit_record, audit_table, kept_columns
from training.config import Boosting, base_lgbm_params
from training.sources.base import Period, RunSummary, TuningRows, clip, flat_params

PARTS: tuple[str, ...] = ("fit", "stop", "test")
# Each class needs this many rows, so that fit, early-stopping and test parts all hold some.
MIN_CLASS_ROWS = 20


def table_lgbm_params() -> dict[str, Any]:
    """LightGBM settings for thousands to hundreds of thousands of CRM rows."""
    return base_lgbm_params() | {
        "learning_rate": 0.03,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "lambda_l2": 1.0,
        # Smooths the conversion rate of rare category levels towards the overall one.
        "cat_smooth": 10.0,
        "force_col_wise": True,
    }


@dataclass(frozen=True)
class LeadTable:
    """A lead table (one row per lead, an id and a 0/1 target) and how to split it."""

    table_path: Path
    id_column: str
    target: str
    exclude: tuple[str, ...] = ()
    # Columns the leakage audit flags but a person decided to keep.
    keep: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    # Share of all rows held out for the test; share of the rest for early stopping/calibration;
    # share of the fit rows that judges tuning trials.
    test_share: float = 0.2
    stop_share: float = 0.2
    tune_share: float = 0.2
    audit: AuditThresholds = AuditThresholds()

    def __post_init__(self) -> None:
        if not 0 < self.tune_share < 1:
            raise ValueError(f"tune_share must be in (0, 1), got {self.tune_share}")

    def boosting(self) -> Boosting:
        return Boosting(table_lgbm_params(), num_boost_round=3000, early_stopping_rounds=100)

    def load(self, seed: int = 42) -> TableSource:
        """Read the table, infer its spec, split it, and audit the non-test rows for leakage."""
        table = read_table(self.table_path)
        spec = infer_tabular_spec(
            table, self.id_column, self.target, self.exclude, self.placeholders
        )
        unknown = sorted(set(self.keep) - set(spec.features))
        if unknown:
            raise ValueError(f"--keep names column(s) that are not features: {', '.join(unknown)}")
        target = make_tabular_target(table, spec).to_numpy()
        smallest = int(np.bincount(target, minlength=2).min())
        if smallest < MIN_CLASS_ROWS:
            raise ValueError(
                f"target {self.target!r} has only {smallest} rows of one class: "
                f"need at least {MIN_CLASS_ROWS} of each to train and test"
            )
        features = prepare_tabular(table, spec, self.placeholders)
        parts = stratified_split(target, self.test_share, self.stop_share, seed)
        # The test rows stay unseen by every decision, the audit's included.
        seen = np.sort(np.concatenate(parts[:2]))
        audited, audit = audit_table(features.iloc[seen], target[seen], spec, self.keep, self.audit)
        kept = features[list(audited.features)]
        return TableSource(self, seed, table, audited, kept, target, parts, audit)


@dataclass(frozen=True)
class TableSource:
    """A lead table read, audited and split: what one run trains and tests on.

    `features` holds every row (prepared, indexed by the id) and only the audited spec's
    columns; `target` is 0/1 in the same order; `parts` are the row positions (fit, stop,
    test); `audit` is the leakage audit's flagged columns with the action taken.
    """

    settings: LeadTable
    seed: int
    table: pd.DataFrame
    spec: TabularSpec
    features: pd.DataFrame
    target: np.ndarray
    parts: tuple[np.ndarray, np.ndarray, np.ndarray]
    audit: pd.DataFrame

    kind = TableInput.kind
    feature_version = TABLE_VERSION
    cutoff_period = "test"  # scores are percentiles among the held-out test leads

    @property
    def columns(self) -> tuple[str, ...]:
        return self.spec.features

    @property
    def categorical(self) -> tuple[str, ...]:
        return self.spec.categorical

    @property
    def data_path(self) -> Path:
        return Path(self.settings.table_path)

    @cached_property
    def periods(self) -> dict[str, Period]:
        return {name: self.period(rows) for name, rows in zip(PARTS, self.parts, strict=True)}

    def period(self, rows: np.ndarray) -> Period:
        """The prepared features and labels of the rows at positions `rows`."""
        return Period(self.features.iloc[rows], self.target[rows])

    def params(self) -> dict[str, Any]:
        settings = {k: v for k, v in asdict(self.settings).items() if k != "audit"}
        rows = {f"{name}_rows": len(part) for name, part in zip(PARTS, self.parts, strict=True)}
        columns = {"n_features": len(self.spec.features)}
        return (
            flat_params(settings)
            | flat_params(asdict(self.settings.audit), "audit_")
            | rows
            | columns
        )

    def tags(self) -> dict[str, str]:
        return {
            "table_file": self.data_path.name,
            "leakage_excluded": clip(", ".join(self._leakage_excluded()) or "none"),
            "leakage_kept": clip(", ".join(c for c, _ in kept_columns(self.audit)) or "none"),
        }

    def artifacts(self) -> dict[str, dict[str, Any]]:
        record = audit_record(
            self.settings.audit, len(self.parts[0]) + len(self.parts[1]), self.audit, self.spec
        )
        return {"table_spec.json": self.spec.to_dict(), "audit/leakage_audit.json": record}

    def tuning_rows(self, seed: int) -> TuningRows:
        """A seeded stratified `tune_share` of the fit rows judges the trials, the rest trains
        them; the early-stopping rows stop and calibrate each trial as for the final model.

        Neither the early-stopping rows (they choose each trial's trees and calibration) nor
        the test rows (only scored, after every choice) can judge a trial. Category levels
        come from the trial-fit rows only, so the judged rows score as new leads do.
        """
        trial_fit, trial_valid = self.split_for_tuning(seed)
        params = {"tune_fit_rows": len(trial_fit), "tune_valid_rows": len(trial_valid)}
        stop = self.parts[1]
        return TuningRows(
            self.period(trial_fit), self.period(stop), self.period(trial_valid), params
        )

    def split_for_tuning(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Row positions (trial fit, trial valid) of the fit rows."""
        fit_rows = self.parts[0]
        kept, _, held = stratified_split(self.target[fit_rows], self.settings.tune_share, 0, seed)
        return fit_rows[kept], fit_rows[held]

    def extra_metrics(self, labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
        # Only to compare with published results on lead tables, which quote it.
        return {"accuracy": float(np.mean((np.asarray(probabilities) >= 0.5) == labels))}

    def references(self) -> dict[str, float]:
        return {}

    def baseline_scores(self, seed: int) -> dict[str, np.ndarray]:
        """Logistic regression and default LightGBM, fitted on all non-test rows.

        They need no early-stopping or calibration rows, so they learn from the fit and stop
        rows both: the model has to beat baselines that saw at least as much data.
        """
        from training.baselines import fit_default_lightgbm, fit_logistic

        fit_rows, stop_rows, test_rows = self.parts
        # Positional names, so no feature can clash with the label column the baselines read.
        names = {column: f"x{i}" for i, column in enumerate(self.spec.features)}
        frame = self.features.rename(columns=names)
        learn = np.sort(np.concatenate([fit_rows, stop_rows]))
        rows = frame.iloc[learn].assign(**{LABEL_COLUMN: self.target[learn]})
        columns = list(names.values())
        categorical = [names[column] for column in self.spec.categorical]
        scorers = {
            "logistic": fit_logistic(rows, columns, categorical, seed=seed),
            "LightGBM default": fit_default_lightgbm(rows, columns, categorical, seed=seed),
        }
        return {name: scorer.predict(frame.iloc[test_rows]) for name, scorer in scorers.items()}

    def report_notes(self) -> tuple[str, dict[str, str]]:
        test_rows = self.parts[2]
        notes = {
            "Test": f"{len(test_rows):,} rows, a stratified random {self.settings.test_share:.0%} "
            f"held out (seed {self.seed}); the table has no time column",
            "Baselines": "fitted on all non-test rows",
            "Left out by the leakage audit": ", ".join(self._leakage_excluded()) or "nothing",
        }
        return "Lead scoring: the model against baselines (test rows)", notes

    def spec_part(self, levels: dict[str, list[str]]) -> TableInput:
        fit_rows = self.parts[0]
        phrases = TablePhrases(self.spec, levels).fit(
            self.table.iloc[fit_rows], self.features.iloc[fit_rows]
        )
        return TableInput(self.spec.to_dict(), list(self.settings.placeholders), phrases.to_dict())

    def model_example(self, bundle: ScoringBundle) -> tuple[pd.DataFrame, Any]:
        """A few test rows as the pyfunc reads them, and a signature naming every column."""
        from mlflow.models import ModelSignature
        from mlflow.types import ColSpec, Schema

        example = bundle.prepare(self.table.iloc[self.parts[2][:5]]).reset_index()
        text = example[list(self.spec.categorical)].astype("object")
        example = example.assign(**text.where(text.notna(), None))
        signature = ModelSignature(
            inputs=table_input_schema(self.spec, example),
            outputs=Schema([ColSpec("double", "probability")]),
        )
        return example, signature

    def version_tags(self) -> dict[str, str]:
        settings = self.settings
        return {
            "table_file": self.data_path.name,
            "id_column": settings.id_column,
            "target": settings.target,
            "split": f"stratified test {settings.test_share}, stop {settings.stop_share}, "
            f"seed {self.seed}",
            "leakage_excluded": ", ".join(self._leakage_excluded())[:4000] or "none",
        }

    def champion_rows(self) -> pd.DataFrame:
        return self.table.iloc[self.parts[2]]

    def champion_note(self, champion_tags: dict[str, str], tags: dict[str, str]) -> str:
        if all(champion_tags.get(key) == tags[key] for key in ("data_fingerprint", "split")):
            return ""
        return " (the champion was trained on another file or split, so it may have seen test rows)"

    def summary(self, metrics: dict[str, float]) -> RunSummary:
        fit, stop, test = (len(part) for part in self.parts)
        title = (
            f"held-out test: {test:,} leads (stratified random split), base rate "
            f"{metrics['base_rate']:.3f}; trained on {fit:,}, early stopping and "
            f"calibration on {stop:,}"
        )
        rows = {"fit": fit, "stop": stop, "test": test}
        return RunSummary(title, self.spec.excluded, kept_columns(self.audit), rows)

    def describe(self) -> list[tuple[str, str]]:
        """The table read and its split, printed before training."""
        fit, stop, test = (len(part) for part in self.parts)
        settings = self.settings
        return [
            ("table", f"{self.data_path.name}: {len(self.table):,} rows, {self.spec.id_column!r} "
             f"the id, {self.spec.target!r} the target ({self.target.mean():.1%} positive)"),
            ("features", f"{len(self.spec.features)} columns ({len(self.spec.categorical)} "
             f"categorical), {len(self.spec.excluded)} left out"),
            ("split", f"stratified random (seed {self.seed}): test {settings.test_share:.0%}, "
             f"early stopping {settings.stop_share:.0%} of the rest"),
            ("rows", f"fit {fit:,}, early stopping and calibration {stop:,}, test {test:,}"),
        ]  # fmt: skip

    def _leakage_excluded(self) -> list[str]:
        return self.audit.loc[self.audit["action"] == "excluded", "column"].tolist()


def table_input_schema(spec: TabularSpec, example: pd.DataFrame) -> Any:
    """The pyfunc input: the id column, numbers as doubles and categories as text, all required.

    Missing values are allowed inside a column (NaN or None); a missing column is an error.
    """
    from mlflow.types import ColSpec, Schema

    is_integer = pd.api.types.is_integer_dtype(example[spec.id_column])
    columns = [ColSpec("long" if is_integer else "string", spec.id_column)]
    for column in spec.features:
        columns.append(ColSpec("double" if spec.kind(column) == "numeric" else "string", column))
    return Schema(columns)


def stratified_split(
    labels: np.ndarray,
    test_share: float = 0.2,
    stop_share: float = 0.2,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted row positions `(fit, stop, test)`, each with the labels' class balance.

    `test_share` is a share of all rows; `stop_share` is carved from the rows left after the
    test split (defaults: 20 % test, 16 % stop, 64 % fit). `stop_share=0` gives an empty stop.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    if not 0 < test_share < 1 or not 0 <= stop_share < 1:
        raise ValueError(f"shares must be in (0, 1), got test {test_share}, stop {stop_share}")
    positions = np.arange(len(labels))
    rest, test = train_test_split(
        positions, test_size=test_share, stratify=labels, random_state=seed
    )
    if stop_share == 0:
        return np.sort(rest), np.array([], dtype=int), np.sort(test)
    fit, stop = train_test_split(
        rest, test_size=stop_share, stratify=labels[rest], random_state=seed
    )
    return np.sort(fit), np.sort(stop), np.sort(test)
