"""Command-line options shared by several commands, and how they are checked together."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from training.config import DEFAULT_MODEL_NAME

DataDir = Annotated[
    Path,
    typer.Option(
        "--data",
        help="Folder with followers, interactions, ... or one .csv/.parquet events file. "
        "Without a followers table, followers are derived from the events "
        "(followed_at = first event, platform 'unknown').",
    ),
]
ColumnMap = Annotated[
    str | None,
    typer.Option(
        "--map",
        help="Rename source columns: SRC=DST,... e.g. "
        "user_id=follower_id,behavior_type=event_type,timestamp=occurred_at.",
    ),
]
EventMap = Annotated[
    str | None,
    typer.Option(
        "--event-map",
        help="Rename source event types: SRC=OURS,... e.g. pv=view,fav=save,cart=click "
        "(unmapped unknown types count as 'other').",
    ),
]
ConversionEvent = Annotated[
    str | None,
    typer.Option(
        "--conversion-event",
        help="Source event type that means 'converted', e.g. buy: a follower's first one is "
        "the conversion, and these events are dropped from the features.",
    ),
]
TimeUnit = Annotated[
    str | None,
    typer.Option(
        "--time-unit", help="Unit of numeric times: s, ms, us or ns (default: by magnitude)."
    ),
]
ModelName = Annotated[str, typer.Option("--model-name", help="Registered model name.")]
DEFAULT_MODEL = DEFAULT_MODEL_NAME
ModelUri = Annotated[
    str | None, typer.Option("--model", help="MLflow model URI; default: models:/NAME@champion.")
]
TableFile = Annotated[
    Path | None,
    typer.Option(
        "--table",
        exists=True,
        dir_okay=False,
        help="A lead table (.csv or .parquet), one row per lead, instead of --data.",
    ),
]
# Options of the events path (--data) that mean nothing for a lead table, and the reverse.
EVENTS_ONLY = (
    "data", "as_of", "horizon", "column_map", "event_map", "conversion_event", "time_unit",
)  # fmt: skip
TABLE_ONLY = ("target", "id_column", "exclude", "keep")


def given(ctx: typer.Context, names: Sequence[str]) -> list[str]:
    """The options among `names` set by the user (not left at their defaults), as flags."""
    params = {param.name: param for param in ctx.command.params}
    # By name: typer ships its own copy of click, whose ParameterSource is another enum.
    sources = {name: getattr(ctx.get_parameter_source(name), "name", None) for name in params}
    return [
        params[name].opts[0]
        for name in names
        if sources.get(name) in ("COMMANDLINE", "ENVIRONMENT", "PROMPT")
    ]


def columns(text: str | None) -> tuple[str, ...]:
    """`"a, b,c"` as `("a", "b", "c")`."""
    return tuple(column.strip() for column in (text or "").split(",") if column.strip())
