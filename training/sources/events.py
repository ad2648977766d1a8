"""Follower event logs as training rows: weekly snapshots, split out of time, with the oracle."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.events.load import load_tables
from features.events.mapping import EventLogMapping
from features.events.span import EventSpan, without_strays
from features.io import ReadOptions
from features.memory import release_memory
from features.schema import (
    CATEGORICAL_COLUMNS,
    ENTITY_KEY,
    FEATURE_VERSION,
    LABEL_COLUMN,
    feature_columns,
    feature_groups,
)
from serving.model.bundle import ScoringBundle
from serving.model.spec import EventsInput
from training.config import Boosting, base_lgbm_params
from training.sources.base import Period, RunSummary, TuningRows, clip, flat_params
from training.sources.plan import PlanRequest, SnapshotPlan, make_plan
from training.sources.snapshots import (
    AS_OF_COLUMN,
    TimeSplit,
    build_split,
    describe_split,
)

if TYPE_CHECKING:
    from dask.distributed import Client

logger = logging.getLogger(__name__)

# The oracle's true probabilities, written by the simulator beside the tables it simulated.
ORACLE_FILE = "oracle.parquet"
# The logistic baseline is fit on at most this many fit rows.
LOGISTIC_ROWS = 500_000


def events_lgbm_params() -> dict[str, Any]:
    """LightGBM settings that suit tens to hundreds of thousands of rows of count features."""
    # Small, well-regularised trees: conversions are rare and followers drift over time.
    return base_lgbm_params() | {
        "learning_rate": 0.05,
        "num_leaves": 7,
        "min_data_in_leaf": 200,
        "lambda_l2": 10.0,
    }


@dataclass(frozen=True)
class EventLog:
    """An events data folder or a single events file, and what the user fixed of its plan."""

    data_dir: Path
    # How a foreign event log maps onto our tables (None: the data follows our contract).
    mapping: EventLogMapping | None = None
    horizon_days: int = 28
    # Windows, snapshot spacing, history, validation and test snapshots; None: from the span.
    plan: PlanRequest = PlanRequest()
    # How text files are read (headerless columns, delimiter, encoding, malformed rows).
    read: ReadOptions = ReadOptions()

    def boosting(self) -> Boosting:
        return Boosting(events_lgbm_params(), num_boost_round=500, early_stopping_rounds=50)

    def load(self, seed: int = 42, client: Client | None = None) -> EventsSource:
        """Read the events, plan the snapshots from their dense span, build and split them by
        time (`seed` is unused: the split follows the dates). With a Dask `client` each
        snapshot's features are made on its workers."""
        tables = load_tables(self.data_dir, self.mapping, self.read)
        release_memory()  # what reading freed, before the snapshots need it
        tables, span = without_strays(tables)
        plan = make_plan(span, self.horizon_days, self.plan)
        split = build_split(tables, plan, self.horizon_days, plan.features, client)
        return EventsSource(self, split, plan, span)


class EventsSource:
    """Snapshots of followers' features and labels, in fit, stop, validation and test periods."""

    kind = EventsInput.kind
    feature_version = FEATURE_VERSION
    cutoff_period = "valid"  # held out like test, but test stays untouched by every choice
    categorical = CATEGORICAL_COLUMNS

    def __init__(
        self, settings: EventLog, split: TimeSplit, plan: SnapshotPlan, span: EventSpan
    ) -> None:
        self.settings = settings
        self.split = split
        self.plan = plan
        self.span = span
        self.features = plan.features
        self.columns = feature_columns(plan.features)
        self.data_path = Path(settings.data_dir)
        self.periods: Mapping[str, Period] = {
            name: Period(rows, rows[LABEL_COLUMN].to_numpy())
            for name, rows in (("fit", split.fit), ("stop", split.stop))
            + (("valid", split.valid), ("test", split.test))
        }

    def params(self) -> dict[str, Any]:
        settings = {"data_dir": self.settings.data_dir, "horizon_days": self.settings.horizon_days}
        mapping = self.settings.mapping.to_params() if self.settings.mapping else {}
        features = flat_params(self.features.to_dict(), "features_")
        read = flat_params(asdict(self.settings.read), "read_")
        span = {
            "span_first": str(self.span.first.date()),
            "span_last": str(self.span.last.date()),
            "span_days": self.span.days,
            "stray_events": self.span.strays,
        }
        return (
            flat_params(settings)
            | mapping
            | read
            | features
            | self.plan.to_params()
            | span
            | describe_split(self.split)
        )

    def tags(self) -> dict[str, str]:
        strays = f"{self.span.strays} outside {self.span.describe()}, left out"
        return {
            "plan_shrunk": clip("; ".join(self.plan.shrunk) or "nothing"),
            "stray_events": strays if self.span.strays else "none",
        }

    def describe(self) -> list[tuple[str, str]]:
        """The plan in lines, printed before training."""
        return [("events", self.span.describe()), *self.plan.describe()]

    def artifacts(self) -> dict[str, dict[str, Any]]:
        return {}

    def tuning_rows(self, seed: int) -> TuningRows:
        # Trials are made exactly as the final model and judged on the validation period.
        periods = self.periods
        return TuningRows(periods["fit"], periods["stop"], periods["valid"])

    def extra_metrics(self, labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
        return {}

    def references(self) -> dict[str, float]:
        return {} if self._oracle is None else {"oracle_roc_auc": self._oracle}

    @cached_property
    def _oracle(self) -> float | None:
        return oracle_auc(self.split.test, self.data_path, self.settings.horizon_days)

    def baseline_scores(self, seed: int) -> dict[str, np.ndarray]:
        """The points rule, logistic regression and default LightGBM, all on the fit rows."""
        from training.baselines import fit_default_lightgbm, fit_logistic, fit_points_baseline

        fit, columns = self.split.fit, self.columns
        categorical = [c for c in CATEGORICAL_COLUMNS if c in columns]
        # Scaled and one-hot copies of millions of rows would set the run's peak memory;
        # a logistic regression of 76 columns learns all it can from a seeded sample.
        sample = fit.sample(min(len(fit), LOGISTIC_ROWS), random_state=seed).sort_index()
        scorers = {
            "points rule": fit_points_baseline(fit, self.features, seed=seed),
            "logistic": fit_logistic(sample, columns, categorical, seed=seed),
            "LightGBM default": fit_default_lightgbm(fit, columns, categorical, seed=seed),
        }
        return {name: scorer.predict(self.split.test) for name, scorer in scorers.items()}

    def report_notes(self) -> tuple[str, dict[str, str]]:
        split = self.split
        notes = {
            "Test period": _period(split.test),
            "Validation period (tuning, score cut-offs)": _period(split.valid),
            "Training": f"{len(split.fit) + len(split.stop):,} rows up to "
            f"{split.stop[AS_OF_COLUMN].max().date()}",
        }
        if self._oracle is not None:
            notes["Oracle ROC AUC (true probabilities)"] = f"{self._oracle:.3f}"
        return "Lead scoring: the model against baselines (out-of-time test period)", notes

    def spec_part(self, levels: dict[str, list[str]]) -> EventsInput:
        return EventsInput(self.settings.horizon_days, self.features.to_dict(), self.plan.to_dict())

    def model_example(self, bundle: ScoringBundle) -> tuple[pd.DataFrame, Any]:
        from mlflow.models import infer_signature

        example = self.split.valid[list(self.columns)].head(5)
        # Counts as doubles and text as objects: what the signature should accept.
        example = example.astype({c: "float64" for c in feature_groups(self.features)["count"]})
        example = example.astype({c: "object" for c in CATEGORICAL_COLUMNS})
        prediction = pd.DataFrame({"probability": bundle.predict_proba(example)})
        return example, infer_signature(example, prediction)

    def version_tags(self) -> dict[str, str]:
        split = describe_split(self.split)
        return {
            "training_window": f"{split['fit_from']}..{split['stop_to']}",
            "validation_window": f"{split['valid_from']}..{split['valid_to']}",
            "test_window": f"{split['test_from']}..{split['test_to']}",
            "split": f"out of time: test {split['test_from']}..{split['test_to']}, "
            f"{self.settings.horizon_days}-day horizon",
        }

    def champion_rows(self) -> pd.DataFrame:
        return self.split.test

    def champion_note(self, champion_tags: dict[str, str], tags: dict[str, str]) -> str:
        # The champion chose its settings and cut-offs on outcomes up to the end of its
        # validation period plus a horizon; those must close before this test period starts.
        valid_to = champion_tags.get("validation_window", "").partition("..")[2]
        test_from = tags["test_window"].partition("..")[0]
        horizon = pd.Timedelta(days=self.settings.horizon_days)
        if valid_to and pd.Timestamp(valid_to) + horizon <= pd.Timestamp(test_from):
            return ""
        return " (the champion learnt from outcomes inside this test period, so it may know it)"

    def summary(self, metrics: dict[str, float]) -> RunSummary:
        oracle = metrics.get("oracle_roc_auc")
        title = (
            f"out-of-time test period: {int(metrics['rows']):,} rows, base rate "
            f"{metrics['base_rate']:.3f}" + (f", oracle ROC AUC {oracle:.3f}" if oracle else "")
        )
        rows = {name: len(period.labels) for name, period in self.periods.items()}
        return RunSummary(title, rows=rows)


def _period(rows: pd.DataFrame) -> str:
    dates = rows[AS_OF_COLUMN]
    span = f"{dates.min().date()}..{dates.max().date()}"
    return f"{len(rows):,} rows, {dates.nunique()} snapshots {span}"


def oracle_auc(rows: pd.DataFrame, data_dir: Path, horizon_days: int) -> float | None:
    """ROC AUC of the simulator's true probabilities on `rows`, if the data folder has them."""
    from sklearn.metrics import roc_auc_score

    path = Path(data_dir) / ORACLE_FILE
    if not path.exists():
        return None
    horizons = sorted(int(days) for days in pd.read_parquet(path, columns=["horizon_days"])
                      ["horizon_days"].unique())  # fmt: skip
    if horizon_days not in horizons:
        logger.info("no oracle AUC: the audience's oracle is for %s-day horizons", horizons)
        return None
    # Only the rows' snapshot dates and three columns: a large audience's oracle holds every
    # weekly snapshot of every follower.
    dates = [
        stamp.to_pydatetime() for stamp in pd.to_datetime(rows[AS_OF_COLUMN].unique(), utc=True)
    ]
    oracle = pd.read_parquet(
        path,
        columns=[ENTITY_KEY, AS_OF_COLUMN, "p_convert"],
        filters=[("horizon_days", "==", horizon_days), (AS_OF_COLUMN, "in", dates)],
    ).assign(as_of=lambda f: pd.to_datetime(f[AS_OF_COLUMN], utc=True))
    joined = rows[[ENTITY_KEY, AS_OF_COLUMN, LABEL_COLUMN]].merge(
        oracle, on=[ENTITY_KEY, AS_OF_COLUMN], how="left"
    )
    # The oracle leaves out followers who churned: their true probability is zero. A missing
    # row that converted would mean the oracle does not cover this data at all.
    missing = joined["p_convert"].isna()
    if missing.all() or joined.loc[missing, LABEL_COLUMN].any():
        logger.info("no oracle AUC: the oracle does not cover these snapshot dates")
        return None
    joined["p_convert"] = joined["p_convert"].fillna(0.0)
    return float(roc_auc_score(joined[LABEL_COLUMN], joined["p_convert"]))
