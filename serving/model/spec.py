"""The model spec: common fields of every model, plus the part that says what it reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, ClassVar, TypeVar

import pandas as pd

from features.catalogue import explain
from features.schema import DEFAULT_FEATURE_CONFIG, ENTITY_KEY, FeatureConfig
from features.tabular.phrases import say_table_value
from features.tabular.spec import TabularSpec, prepare_tabular

# Version of the spec's JSON form. Specs written before it (no "format" key) hold every field
# of both kinds flat; `spec_from_dict` still reads them.
SPEC_FORMAT = 2

Part = TypeVar("Part", "EventsInput", "TableInput")


@dataclass(frozen=True)
class EventsInput:
    """An events model reads follower features, built from events before `as_of` with these
    windows, and predicts conversion within `horizon_days`."""

    kind: ClassVar[str] = "events"
    scores: ClassVar[str] = "followers from their events"

    horizon_days: int
    # Windows and half-life the features were built with (FeatureConfig.to_dict()).
    feature_config: dict[str, Any] = field(default_factory=dict)
    # The training plan that chose them: snapshot dates per period, gaps, what shrank.
    plan: dict[str, Any] = field(default_factory=dict)

    @property
    def entity_key(self) -> str:
        return ENTITY_KEY

    @cached_property
    def features(self) -> FeatureConfig:
        """The feature windows and half-life to build this model's input with."""
        if not self.feature_config:
            return DEFAULT_FEATURE_CONFIG
        return FeatureConfig.from_dict(self.feature_config)

    def prepare(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Feature rows are already what the model reads."""
        return rows

    def say(self, column: str, value: object) -> str:
        """One feature value in plain words, from the feature catalogue."""
        return explain(column, value, self.features)

    def mismatch(self, other: EventsInput) -> str | None:
        """Why a model of `other` cannot be compared on this one's test rows, or None."""
        if other.horizon_days != self.horizon_days:
            return f"predicts {other.horizon_days} days ahead (this one {self.horizon_days})"
        return None


@dataclass(frozen=True)
class TableInput:
    """A table model reads the columns of a lead table, prepared as in training."""

    kind: ClassVar[str] = "table"
    scores: ClassVar[str] = "rows of a lead table (--table)"
    # A lead table has no horizon: the target is the outcome itself.
    horizon_days: ClassVar[int] = 0

    # The TabularSpec (id, target, column kinds, excluded columns and why) as a dict,
    table: dict[str, Any]
    # the form values read as missing (e.g. "Select"),
    placeholders: list[str] = field(default_factory=list)
    # and how reasons say values (features.tabular.phrases.TablePhrases.to_dict()).
    phrases: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def columns(self) -> TabularSpec:
        """Which columns of a lead table are the id, the target and the features."""
        return TabularSpec.from_dict(self.table)

    @property
    def entity_key(self) -> str:
        return str(self.table["id_column"])

    def prepare(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Rows of a lead table as the model's feature frame, indexed by the id (extra columns,
        such as the target, are ignored)."""
        return prepare_tabular(rows, self.columns, self.placeholders)

    def say(self, column: str, value: object) -> str:
        """One lead's value in words: "Lead Origin is Lead Add Form", "TotalVisits is 12 (high)"."""
        return say_table_value(column, value, self.phrases)

    def mismatch(self, other: TableInput) -> str | None:
        """Why a model of `other` cannot be compared on this one's test rows, or None."""
        for key, label in (("id_column", "id column"), ("target", "target")):
            old, new = other.table.get(key), self.table.get(key)
            if old != new:
                return f"has another {label} ({old!r}; this one {new!r})"
        return None


ModelInput = EventsInput | TableInput
PARTS: dict[str, type[EventsInput] | type[TableInput]] = {
    part.kind: part for part in (EventsInput, TableInput)
}


@dataclass(frozen=True)
class ModelSpec:
    """Everything besides the trees that scoring needs, stored as JSON beside the booster."""

    feature_version: str
    feature_columns: list[str]
    categorical_levels: dict[str, list[str]]
    # 98 ascending probabilities that cut held-out scores (events: validation, table: test)
    # into 99 equal groups.
    score_cutoffs: list[float]
    trained_at: str
    inputs: ModelInput
    # Maps the raw probability to a calibrated one (serving.model.calibration); empty: none.
    calibration: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    # The held-out rows' distribution in bins, per model column and of the probability
    # (serving.model.drift.Reference); empty for models trained before drift reports.
    reference: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """ "events" or "table": what the model reads."""
        return self.inputs.kind

    @property
    def entity_key(self) -> str:
        """The id column of the rows it scores: follower_id, or a lead table's own id."""
        return self.inputs.entity_key

    def expect(self, part: type[Part]) -> Part:
        """The input part if this model reads `part`, else a clear error saying what it scores."""
        if not isinstance(self.inputs, part):
            raise ValueError(
                f"the model's mode is {self.kind!r}: it scores {self.inputs.scores}, "
                f"not {part.scores}"
            )
        return self.inputs

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the common fields, the kind, and the part under its kind's name."""
        common = {key: value for key, value in asdict(self).items() if key != "inputs"}
        return {"format": SPEC_FORMAT, **common, "kind": self.kind, self.kind: asdict(self.inputs)}


def spec_from_dict(data: dict[str, Any]) -> ModelSpec:
    """Rebuild a spec from its JSON form, or from the flat form of specs written before it."""
    if "format" not in data:
        return _from_flat(data)
    if data["format"] != SPEC_FORMAT or data.get("kind") not in PARTS:
        raise ValueError(
            f"model spec format {data['format']!r} of kind {data.get('kind')!r} is unknown to "
            f"this version (it reads format {SPEC_FORMAT}): retrain the model"
        )
    part = PARTS[data["kind"]](**data[data["kind"]])
    common = {key: value for key, value in data.items() if key not in ("format", "kind", *PARTS)}
    return ModelSpec(**common, inputs=part)


def _from_flat(data: dict[str, Any]) -> ModelSpec:
    """A spec of the first form: both kinds' fields side by side, the kind in "mode"."""
    if data.get("mode", "events") == "table":
        part: ModelInput = TableInput(
            data["table"], data.get("placeholders", []), data.get("phrases", {})
        )
    else:
        part = EventsInput(data["horizon_days"], data.get("feature_config") or {})
    common = ("feature_version", "feature_columns", "categorical_levels", "score_cutoffs")
    return ModelSpec(
        **{key: data[key] for key in common},
        trained_at=data["trained_at"],
        inputs=part,
        calibration=data.get("calibration") or {},
        metrics=data.get("metrics") or {},
    )
