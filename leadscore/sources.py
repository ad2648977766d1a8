"""The data source of a command from its options: an event log or a lead table, how to read
it, map it and plan it; a bad option stops with one line naming it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from leadscore.options import EVENTS_ONLY, TABLE_ONLY, columns, days_list, delimiter_char, given
from leadscore.show import fail

if TYPE_CHECKING:
    from features.events.mapping import EventLogMapping
    from features.io import ReadOptions
    from features.schema import FeatureConfig
    from training.sources.base import SourceSettings
    from training.sources.events import EventLog
    from training.sources.plan import PlanRequest
    from training.sources.table import LeadTable


def source_settings(ctx: typer.Context) -> SourceSettings:
    """`train` and `inspect`: the event log (--data) or the lead table (--table) their options
    name, read as the read options say."""
    given_ = ctx.params
    read = read_options(ctx)
    if given_["table"] is not None or given(ctx, TABLE_ONLY):
        table = lead_table(ctx, given_["table"], given_["target"], given_["id_column"],
                           given_["exclude"], given_["keep"], given_["time_column"],
                           given_["ordered"])  # fmt: skip
        return replace(table, read=read)
    plan = _plan(given_["windows"], given_["snapshot_every"], given_["min_history"],
                 given_["valid_snapshots"], given_["test_snapshots"])  # fmt: skip
    return _event_log(given_["data"], event_mapping(ctx), given_["horizon"], plan, read)


def event_mapping(ctx: typer.Context) -> EventLogMapping | None:
    """How a foreign event log maps onto ours (--map, --event-map, --conversion-event)."""
    given_ = ctx.params
    return _mapping(given_["column_map"], given_["event_map"], given_["conversion_event"],
                    given_["time_unit"])  # fmt: skip


def feature_config(windows: str | None) -> FeatureConfig:
    """--windows as a feature config, with the half-life a training plan gives those windows."""
    from features.schema import DEFAULT_FEATURE_CONFIG, FeatureConfig
    from training.sources.plan import half_life_for

    days = _days(windows, "--windows")
    if days is None:
        return DEFAULT_FEATURE_CONFIG
    try:
        return FeatureConfig(days, half_life_for(days))
    except ValueError as error:
        fail(f"--windows: {error}")


def _days(text: str | None, flag: str) -> tuple[int, ...] | None:
    try:
        return days_list(text, flag)
    except ValueError as error:
        fail(str(error))


def read_options(ctx: typer.Context) -> ReadOptions:
    """How to read text files (--columns, --delimiter, --encoding, --bad-rows)."""
    given_ = ctx.params
    return _read(given_["names"], given_["delimiter"], given_["encoding"], given_["bad_rows"])


def _mapping(
    columns: str | None, event_types: str | None, conversion: str | None, unit: str | None
) -> EventLogMapping | None:
    from features.events.mapping import make_mapping

    try:
        return make_mapping(columns, event_types, conversion, unit)
    except ValueError as error:
        fail(str(error))


def _plan(
    windows: str | None,
    every: int | None,
    history: int | None,
    valid: int | None,
    test: int | None,
) -> PlanRequest:
    """The plan options as a request; a bad one stops with its flag named."""
    from training.sources.plan import PlanRequest

    try:
        return PlanRequest(days_list(windows, "--windows"), every, history, valid, test)
    except ValueError as error:
        fail(str(error))


def _read(names: str | None, delimiter: str | None, encoding: str, bad_rows: str) -> ReadOptions:
    """How to read text files, from the shared options; a bad one stops with its flag named."""
    from features.io import ReadOptions

    try:
        return ReadOptions(
            columns(names) or None,
            delimiter_char(delimiter),
            encoding,
            bad_rows,  # type: ignore[arg-type]
        )
    except ValueError as error:
        fail(str(error))


def _event_log(
    data: Path, mapping: EventLogMapping | None, horizon: int, plan: PlanRequest, read: ReadOptions
) -> EventLog:
    from training.sources.events import EventLog

    return EventLog(data_dir=data, mapping=mapping, horizon_days=horizon, plan=plan, read=read)


def lead_table(
    ctx: typer.Context,
    table: Path | None,
    target: str | None,
    id_column: str | None,
    exclude: str | None,
    keep: str | None,
    time_column: str | None = None,
    ordered: bool = False,
) -> LeadTable:
    """`train --table`: a lead table instead of an events folder."""
    if table is None:
        fail(f"{', '.join(given(ctx, TABLE_ONLY))}: only with --table FILE")
    refuse_events_options(ctx)
    if target is None or id_column is None:
        fail("--table needs --target COL (the 0/1 outcome) and --id COL (the lead id)")
    from training.sources.table import LeadTable

    try:
        return LeadTable(
            table, id_column, target, columns(exclude), columns(keep), time_column, ordered
        )
    except ValueError as error:
        fail(str(error))


def refuse_events_options(ctx: typer.Context) -> None:
    options = given(ctx, EVENTS_ONLY)
    if options:
        fail(f"--data and --table are mutually exclusive: {', '.join(options)} apply to --data")
