"""A lead table as training rows: read, split out of time or at random, audited on non-test rows."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.io import ReadOptions, read_table
from features.schema import LABEL_COLUMN
from features.tabular.dates import parse_dates, recognise_date
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
from training.sources.splits import newest, stratified_split, time_split

__all__ = ["LeadTable", "TableSource", "stratified_split", "table_input_schema"]

logger = logging.getLogger(__name__)

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
    # Split out of time: by this date column, or (`ordered`) by the row order; else at random.
    time: str | None = None
    ordered: bool = False
    placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    # Share of all rows held out for the test; share of the rest for early stopping/calibration;
    # share of the fit rows that judges tuning trials.
    test_share: float = 0.2
    stop_share: float = 0.2
    tune_share: float = 0.2
    audit: AuditThresholds = AuditThresholds()
    read: ReadOptions = ReadOptions()

    def __post_init__(self) -> None:
        if not 0 < self.tune_share < 1:
            raise ValueError(f"tune_share must be in (0, 1), got {self.tune_share}")
        if self.time is not None and self.ordered:
            raise ValueError("--time and --ordered both order the rows: give one of them")

    def boosting(self) -> Boosting:
        return Boosting(table_lgbm_params(), num_boost_round=3000, early_stopping_rounds=100)

    def load(self, seed: int = 42, client: object = None) -> TableSource:
        """Read the table, infer its spec, split it, and audit the non-test rows for leakage
        (a lead table is read and split on one machine; `client` may still grow the trees)."""
        return self.from_table(read_table(self.table_path, self.read), seed)

    def from_table(self, table: pd.DataFrame, seed: int = 42) -> TableSource:
        """`load` on a table already read (`inspect` reads it once, with its read report)."""
        spec = infer_tabular_spec(
            table, self.id_column, self.target, self.exclude, self.placeholders
        )
        unknown = sorted(set(self.keep) - set(spec.features) - {d[0] for d in spec.dates})
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
        keys = self.time_keys(table)
        if keys is None:
            parts = stratified_split(target, self.test_share, self.stop_share, seed)
        else:
            parts = time_split(keys, self.test_share, self.stop_share)
            _check_time_parts(parts, target, keys, self)
        # The test rows stay unseen by every decision, the audit's included.
        seen = np.sort(np.concatenate(parts[:2]))
        time, dates = self._audit_times(table, spec, features.index)
        audited, audit = audit_table(
            features.iloc[seen], target[seen], spec, self.keep, self.audit, time=time, dates=dates
        )
        kept = features[list(audited.features)]
        return TableSource(self, seed, table, audited, kept, target, parts, audit, keys)

    def _audit_times(
        self, table: pd.DataFrame, spec: TabularSpec, index: pd.Index
    ) -> tuple[pd.Series | None, dict[str, pd.Series]]:
        """The --time column and the other dates, read and indexed by lead, for the audit's
        "date after time" test (nothing without --time)."""
        if self.time is None:
            return None, {}
        read = {
            date.column: parse_dates(table[date.column], date.form).set_axis(index)
            for date in spec.date_columns
        }
        time = read.pop(self.time, None)
        if time is None:  # the time column was left out by --exclude: read it all the same
            date = recognise_date(table[self.time])
            time = parse_dates(table[self.time], date.form if date else "ISO8601").set_axis(index)
        return time.rename(self.time), read

    @property
    def split_name(self) -> str:
        """How the rows are split, in a few words (also the version tag that compares runs)."""
        if self.time is not None:
            return f"out of time by {self.time!r}"
        return "out of time by row order" if self.ordered else "stratified random"

    def time_keys(self, table: pd.DataFrame) -> np.ndarray | None:
        """Each row's place in time (float; NaN where unknown), or None for a random split."""
        if self.ordered:
            return np.arange(len(table), dtype="float64")
        if self.time is None:
            return None
        if self.time not in table.columns:
            raise ValueError(f"--time {self.time!r} is not a column of the table")
        values = table[self.time]
        if not (values.notna() & (values.astype("str").str.strip() != "")).any():
            raise ValueError(f"--time {self.time!r}: the column is empty")
        # Named by the user, a column of epoch numbers is time whatever its name says.
        date = recognise_date(values, named_time=True)
        if date is None:
            example = values.dropna().astype("str").head(1).tolist()
            raise ValueError(
                f"--time {self.time!r}: its values are not dates (e.g. {example}); give a date "
                "column, or --ordered for a table whose rows are in time order"
            )
        times = parse_dates(values, date.form)  # microseconds, as float64 is exact
        keys = times.astype("int64").to_numpy(dtype="float64")
        return np.where(times.isna().to_numpy(), np.nan, keys)


def _both_classes(labels: np.ndarray, rows: str, times: int) -> None:
    counts = np.bincount(labels, minlength=2)
    if counts.min() == 0:
        raise ValueError(
            f"{rows} ({len(labels):,}) hold "
            f"{'no converted' if counts[1] == 0 else 'only converted'} leads; too few rows or "
            f"distinct times ({times:,}) to split out of time"
        )


def _check_time_parts(
    parts: tuple[np.ndarray, ...], target: np.ndarray, keys: np.ndarray, settings: LeadTable
) -> None:
    """Each part (and each side of the tuning split) holds both classes, or the split says what
    to change; a part far from its share (many rows at one time) is said."""
    split = settings.split_name
    times = len(np.unique(keys[~np.isnan(keys)]))
    if times < 3:
        raise ValueError(
            f"split {split}: the rows hold {times} distinct time(s); out of time needs at least "
            "3 (fit, early stopping, test): give a finer time column, or leave --time out"
        )
    for name, rows in zip(PARTS, parts, strict=True):
        _both_classes(target[rows], f"split {split}: the {name} rows", times)
    share = len(parts[2]) / max(1, sum(len(part) for part in parts))
    if abs(share - settings.test_share) > 0.1:
        logger.warning(
            "the test holds %.0f%% of the rows, not %.0f%%: rows sharing a time stay together",
            100 * share,
            100 * settings.test_share,
        )


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
    # Each row's place in time when split out of time (NaN: unknown, in no part), else None.
    keys: np.ndarray | None = None

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
        settings = {k: v for k, v in asdict(self.settings).items() if k not in ("audit", "read")}
        rows = {f"{name}_rows": len(part) for name, part in zip(PARTS, self.parts, strict=True)}
        columns = {"n_features": len(self.spec.features)}
        return (
            flat_params(settings)
            | flat_params(asdict(self.settings.audit), "audit_")
            | flat_params(asdict(self.settings.read), "read_")
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
        """Row positions (trial fit, trial valid) of the fit rows: the newest `tune_share`
        judge when the table is split out of time, a stratified share otherwise."""
        fit_rows = self.parts[0]
        if self.keys is not None:
            tuned = newest(fit_rows, self.keys, self.settings.tune_share)
            times = len(np.unique(self.keys[fit_rows]))
            for name, rows in zip(("trained", "judged"), tuned, strict=True):
                _both_classes(self.target[rows], f"tuning: the fit rows {name} on", times)
            return tuned
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
            "Test": f"{len(test_rows):,} rows, {self.test_words()}",
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

        rows = self.table.iloc[self.parts[2][:5]]
        plain = [column for column, kind in self.spec.inputs if kind != "date"]
        example = bundle.prepare(rows).reset_index()[[self.spec.id_column, *plain]]
        text = example[list(self.spec.categorical)].astype("object")
        example = example.assign(**text.where(text.notna(), None))
        for date in self.spec.input_dates:  # dates as the table writes them, in text
            values = rows[date.column].reset_index(drop=True).astype("object")
            example[date.column] = values.where(values.notna(), None).map(_as_text)
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
            "split": f"{settings.split_name}: test {settings.test_share}, stop "
            f"{settings.stop_share}" + ("" if self.keys is not None else f", seed {self.seed}"),
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
        kind = "random split" if self.keys is None else self.settings.split_name
        title = (
            f"held-out test: {test:,} leads ({kind}), base rate "
            f"{metrics['base_rate']:.3f}; trained on {fit:,}, early stopping and "
            f"calibration on {stop:,}"
        )
        rows = {"fit": fit, "stop": stop, "test": test}
        return RunSummary(title, self.spec.excluded, kept_columns(self.audit), rows)

    def describe(self) -> list[tuple[str, str]]:
        """The table read and its split, printed before training."""
        fit, stop, test = (len(part) for part in self.parts)
        rates = [f"{self.target[rows].mean():.1%} positive" for rows in self.parts]
        return [
            ("table", f"{self.data_path.name}: {len(self.table):,} rows, {self.spec.id_column!r} "
             f"the id, {self.spec.target!r} the target ({self.target.mean():.1%} positive)"),
            ("features", f"{len(self.spec.features)} columns ({len(self.spec.categorical)} "
             f"categorical), {len(self.spec.excluded)} left out"),
            ("dates", ", ".join(f"{d.column} ({d.form})" for d in self.spec.date_columns)
             or "none"),
            ("split", self._split_words()),
            ("rows", f"fit {fit:,} ({rates[0]}), early stopping and calibration {stop:,} "
             f"({rates[1]}), test {test:,} ({rates[2]})" + self._unplaced()),
        ]  # fmt: skip

    def test_words(self) -> str:
        """Which rows the test holds, e.g. "the newest 20% by 'created' (2026-10-01..)"."""
        share = f"{self.settings.test_share:.0%}"
        if self.keys is None:
            return f"a stratified random {share} held out (seed {self.seed}); no time column given"
        if self.settings.ordered:
            return f"the last {share} of the rows (the table's order is its time)"
        return f"the newest {share} by {self.settings.time!r}{self._test_dates()}"

    def _split_words(self) -> str:
        settings = self.settings
        test, stop = f"{settings.test_share:.0%}", f"{settings.stop_share:.0%}"
        if self.keys is None:
            return (
                f"stratified random (seed {self.seed}): test {test}, early stopping and "
                f"calibration {stop} of the rest; no time column given (--time COL or "
                "--ordered split out of time)"
            )
        newest = f"the last {test} of the rows" if settings.ordered else f"the newest {test}"
        return (
            f"{settings.split_name}: test {newest}{self._test_dates()}, early stopping and "
            f"calibration the {stop} of the rest just before it"
        )

    def _test_dates(self) -> str:
        """ " (first..last day)" of the test rows when split by a date column, else ""."""
        if self.keys is None or self.settings.ordered:
            return ""
        times = pd.to_datetime(self.keys[self.parts[2]], unit="us", utc=True)
        return f" ({times.min().date()}..{times.max().date()})"

    def _unplaced(self) -> str:
        unplaced = len(self.table) - sum(len(part) for part in self.parts)
        return f"; {unplaced:,} row(s) left out: no time to place them by" if unplaced else ""

    def _leakage_excluded(self) -> list[str]:
        return self.audit.loc[self.audit["action"] == "excluded", "column"].tolist()


def table_input_schema(spec: TabularSpec, example: pd.DataFrame) -> Any:
    """The pyfunc input: the id column, numbers as doubles, categories and dates as text.

    Missing values are allowed inside a column (NaN or None); a missing column is an error.
    """
    from mlflow.types import ColSpec, Schema

    is_integer = pd.api.types.is_integer_dtype(example[spec.id_column])
    columns = [ColSpec("long" if is_integer else "string", spec.id_column)]
    for column, kind in spec.inputs:
        columns.append(ColSpec("double" if kind == "numeric" else "string", column))
    return Schema(columns)


def _as_text(value: object) -> object:
    return value if value is None else str(value)
