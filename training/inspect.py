"""Data before training: what is read and how it maps, its span and plan, or split and audit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from features.events.load import Tables, read_tables_report, tables_from_raw
from features.events.span import dense_span
from features.io import ReadReport, read_table_report
from features.labels import make_labels, select_snapshot_followers
from features.schema import ALL_EVENT_TYPES, ENTITY_KEY, OTHER_EVENT
from features.tabular.spec import TabularSpec
from training.sources.events import EventLog
from training.sources.plan import SnapshotPlan, make_plan
from training.sources.table import LeadTable

Lines = list[tuple[str, str]]
# Raw event types listed one by one; the rest are summed.
SHOWN_TYPES = 12


@dataclass
class Inspection:
    """Sections of (what, value) lines, and why training would not run (None: it would)."""

    sections: list[tuple[str, Lines]] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def add(self, title: str, lines: Lines) -> None:
        self.sections.append((title, lines))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"ok", "problem", "sections": {title: {what: value}}}."""
        sections = {title: dict(lines) for title, lines in self.sections}
        return {"ok": self.ok, "problem": self.problem, "sections": sections}


def inspect_events(settings: EventLog) -> Inspection:
    """Read, map and validate an event log, then find its span and plan, as `train` would."""
    found = Inspection()
    steps: list[Callable[[], None]] = []
    state: dict[str, Any] = {}

    def read() -> None:
        state["raw"], reports = read_tables_report(settings.data_dir, settings.read)
        found.add("read", _read_lines(state["raw"], reports))

    def validate() -> None:
        state["tables"] = tables_from_raw(state["raw"], settings.mapping)
        found.add("events", _event_lines(state["raw"], state["tables"], settings))

    def plan() -> None:
        tables: Tables = state["tables"]
        span = dense_span(tables.interactions["occurred_at"])
        found.add("span", [("dense days", span.describe())])
        if tables.conversions is None:
            raise ValueError("no conversions: give a conversions table or --conversion-event")
        made = make_plan(span, settings.horizon_days, settings.plan)
        found.add(f"training plan ({settings.horizon_days}-day horizon)", made.describe())
        found.add("conversion rate per snapshot", _rates(tables, made))

    steps += [read, validate, plan]
    for step in steps:
        try:
            step()
        except ValueError as error:
            found.problem = str(error)
            break
    return found


def _read_lines(raw: dict[str, pd.DataFrame | None], reports: dict[str, ReadReport]) -> Lines:
    lines = []
    for name, frame in raw.items():
        if frame is None:
            lines.append((name, "absent"))
            continue
        kinds = ", ".join(f"{column} ({_kind(frame[column])})" for column in frame.columns)
        lines.append((name, f"{len(frame):,} rows: {kinds}"))
        lines += [(f"{name} {what}", value) for what, value in reports[name].describe()]
    return lines


def _kind(values: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(values):
        return "time"
    if pd.api.types.is_bool_dtype(values):
        return "flag"
    if pd.api.types.is_numeric_dtype(values):
        empty = values.isna().mean()
        return "number" + (f", {empty:.0%} empty" if empty >= 0.5 else "")
    empty = values.isna().mean()
    return "text" + (f", {empty:.0%} empty" if empty >= 0.5 else "")


def _event_lines(raw: dict[str, pd.DataFrame | None], tables: Tables, settings: EventLog) -> Lines:
    mapping = settings.mapping
    column = "event_type"
    if mapping is not None:
        column = {target: src for src, target in mapping.columns.items()}.get(column, column)
    events = raw["interactions"]
    assert events is not None  # read_tables always has interactions
    counts = events[column].astype("str").value_counts() if column in events else pd.Series()
    shown = [_type_line(str(value), n, settings) for value, n in counts.items()]
    if len(shown) > SHOWN_TYPES:
        rest = int(counts.iloc[SHOWN_TYPES:].sum())
        shown = [*shown[:SHOWN_TYPES], f"{len(counts) - SHOWN_TYPES} more types ({rest:,})"]
    conversion = mapping.conversion_event if mapping is not None else None
    taken = int(counts.get(conversion, 0)) if conversion else 0
    duplicates = len(events) - taken - len(tables.interactions)
    followers = tables.followers[ENTITY_KEY]
    silent = int((~followers.isin(tables.interactions[ENTITY_KEY].unique())).sum())
    converted = 0 if tables.conversions is None else tables.conversions[ENTITY_KEY].nunique()
    return [
        ("event types", "; ".join(shown) or "none"),
        ("exact duplicates dropped", f"{duplicates:,}"),
        ("events kept", f"{len(tables.interactions):,}"),
        ("followers", f"{len(followers):,} ({silent:,} without any event)"),
        ("converted followers", f"{converted:,}" if tables.conversions is not None else "none"),
    ]


def _type_line(value: str, count: int, settings: EventLog) -> str:
    """ "view (52,210)", or "pv -> view (52,210)" when the type is mapped or unknown."""
    target = _maps_to(value, settings)
    return f"{value} ({count:,})" if target == value else f"{value} -> {target} ({count:,})"


def _maps_to(value: str, settings: EventLog) -> str:
    mapping = settings.mapping
    if mapping is not None and value == mapping.conversion_event:
        return "conversion"
    mapped = (mapping.event_types.get(value, value) if mapping else value).strip().lower()
    return mapped if mapped in ALL_EVENT_TYPES else OTHER_EVENT


def _rates(tables: Tables, plan: SnapshotPlan) -> Lines:
    conversions = tables.conversions
    assert conversions is not None
    part_of: dict[pd.Timestamp, str] = {}
    for part, dates in plan.periods.items():
        for date in dates:
            part_of[date] = f"{part_of[date]} + {part}" if date in part_of else part
    lines = []
    for date in plan.dates:
        followers = select_snapshot_followers(tables.followers, conversions, date)
        ids = pd.Index(followers[ENTITY_KEY])
        labels = make_labels(conversions, ids, date, plan.horizon_days)
        rate = float(labels.mean()) if len(labels) else 0.0
        lines.append((str(date.date()), f"{part_of[date]}: {len(ids):,} followers, {rate:.2%}"))
    return lines


def inspect_table(settings: LeadTable, seed: int = 42) -> Inspection:
    """Read, type, split and audit a lead table, as `train --table` would."""
    found = Inspection()
    try:
        table, report = read_table_report(settings.table_path, settings.read)
        found.add("read", _read_lines({"table": table}, {"table": report}))
        source = settings.from_table(table, seed)
    except ValueError as error:
        found.problem = str(error)
        return found
    found.add("table", source.describe())
    found.add("columns", _table_columns(source.spec))
    # Columns the audit left out are listed with its evidence below, not twice.
    left_out = [(c, why) for c, why in source.spec.excluded if "leakage audit" not in why]
    if left_out:
        found.add("left out", left_out)
    audit = source.audit
    found.add(
        "leakage audit",
        [(row.column, f"{row.action}: {row.evidence}") for row in audit.itertuples()]
        or [("flagged", "nothing")],
    )
    return found


def _table_columns(spec: TabularSpec) -> Lines:
    """Each column the model reads and the type given to it; dates with what they become."""
    derived = spec.derived
    lines = [(column, kind) for column, kind in spec.inputs if kind != "date"]
    for date in spec.date_columns:
        made = [name.removeprefix(f"{date.column} ") for name, src in derived.items()
                if src == (date.column,)]  # fmt: skip
        lines.append((date.column, f"date ({date.form}) -> {', '.join(made) or 'nothing'}"))
    pairs = [name for name, sources in derived.items() if len(sources) == 2]
    if pairs:
        lines.append(("between dates", "; ".join(pairs)))
    return lines
