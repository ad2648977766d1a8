"""Command-line options shared by several commands, and how they are checked together."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import typer

from training.config import DEFAULT_MODEL_NAME

DataDir = Annotated[
    Path,
    typer.Option(
        "--data",
        help="Folder with followers, interactions, ... (each a file or a folder of parts) or "
        "one events file (.parquet, .csv, .tsv, .txt; plain or .gz/.bz2/.zst). "
        "Without a followers table, followers are derived from the events "
        "(followed_at = first event, platform 'unknown').",
    ),
]
HeaderColumns = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="Names for the columns of a CSV without a header line, COL,COL,... (its first line "
        "is then data); applied before --map.",
    ),
]
Delimiter = Annotated[
    str | None,
    typer.Option(
        "--delimiter", help="CSV field separator: , ; | or tab (default: sniffed from the file)."
    ),
]
Encoding = Annotated[
    str, typer.Option("--encoding", help="Text encoding of CSV files, e.g. latin-1 or cp1252.")
]
BadRows = Annotated[
    str,
    typer.Option(
        "--bad-rows",
        help="CSV rows with a wrong number of fields (a cut last line, an open quote): error "
        "stops naming the line, skip leaves them out and counts them.",
    ),
]
# Delimiters by name, for the ones a shell makes awkward.
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
ColumnMap = Annotated[
    str | None,
    typer.Option(
        "--map",
        help="Rename source columns: SRC=DST,... e.g. "
        "'user_id=follower_id, behavior_type=event_type, timestamp=occurred_at'.",
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
OutputFormat = Annotated[
    Literal["text", "json"],
    typer.Option("--format", help="text for people, json (one object on stdout) for programs."),
]
OUT_SUFFIXES = (".csv", ".parquet")


def _check_out(path: Path | None) -> Path | None:
    if path is not None and path.suffix not in OUT_SUFFIXES:
        raise typer.BadParameter(f"{path}: must end in .csv or .parquet")
    if path is not None and path.is_dir():
        raise typer.BadParameter(f"{path} is a folder: give a .csv or .parquet file")
    return path


OutFile = Annotated[
    Path,
    typer.Option("--out", help="Output .csv or .parquet file.", callback=_check_out),
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
        help="A lead table, one row per lead, instead of --data: .parquet, .csv, .tsv, .txt "
        "(plain or .gz/.bz2/.zst) or a folder of parts.",
    ),
]
Windows = Annotated[
    str | None,
    typer.Option(
        "--windows",
        help="Feature windows in days, e.g. 1,3,7 (default: from the history the events hold; "
        "7,30,90 with 90 days or more).",
    ),
]
SnapshotEvery = Annotated[
    int | None,
    typer.Option(
        "--snapshot-every",
        min=1,
        help="Days between training snapshots (default: 7; half the horizon below 14 days).",
    ),
]
MinHistory = Annotated[
    int | None,
    typer.Option(
        "--min-history",
        min=1,
        help="Days of events before the first snapshot (default: the longest window, 90 "
        "days, shrunk when the events are short).",
    ),
]
ValidSnapshots = Annotated[
    int | None,
    typer.Option(
        "--valid-snapshots", min=1, help="Validation snapshots (default: 2, 1 when short)."
    ),
]
TestSnapshots = Annotated[
    int | None,
    typer.Option("--test-snapshots", min=1, help="Test snapshots (default: 2, 1 when short)."),
]
# The plan options of `train`, in the order the plan takes them.
PLAN_OPTIONS = ("windows", "snapshot_every", "min_history", "valid_snapshots", "test_snapshots")
# Options of the events path (--data) that mean nothing for a lead table, and the reverse.
EVENTS_ONLY = (
    "data", "as_of", "horizon", "column_map", "event_map", "conversion_event", "time_unit",
    *PLAN_OPTIONS,
)  # fmt: skip
TABLE_ONLY = ("target", "id_column", "exclude", "keep", "time_column", "ordered")
Horizon = Annotated[int, typer.Option(min=1, help="Label horizon in days.")]
Target = Annotated[
    str | None, typer.Option(help="--table: the 0/1 target column (e.g. Converted).")
]
IdColumn = Annotated[
    str | None, typer.Option("--id", help="--table: the lead id column (unique per row).")
]
Exclude = Annotated[
    str | None,
    typer.Option(help="--table: columns to leave out, COL,COL (e.g. post-contact fields)."),
]
Keep = Annotated[
    str | None,
    typer.Option(help="--table: columns to keep although the leakage audit flags them."),
]
TimeColumn = Annotated[
    str | None,
    typer.Option(
        "--time",
        help="--table: a date column to split by out of time: the newest 20% of rows are the "
        "test, early stopping and calibration the rows just before (default: a random split).",
    ),
]
Ordered = Annotated[
    bool,
    typer.Option(
        "--ordered",
        help="--table: the rows are in time order (no date column): split as --time does.",
    ),
]


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


def days_list(text: str | None, flag: str) -> tuple[int, ...] | None:
    """`"1, 3,7"` as `(1, 3, 7)`; an error naming `flag` for anything but whole days."""
    if text is None:
        return None
    parts = columns(text)
    if not parts or not all(part.isdigit() for part in parts):
        raise ValueError(f"{flag} takes whole days separated by commas, e.g. 1,3,7; got {text!r}")
    return tuple(int(part) for part in parts)


def delimiter_char(text: str | None) -> str | None:
    """One delimiter character from `--delimiter` (tab spelled out or as \\t); None: sniff."""
    if text is None:
        return None
    return DELIMITER_NAMES.get(text.strip().lower(), text)


def columns(text: str | None) -> tuple[str, ...]:
    """`"a, b,c"` as `("a", "b", "c")`."""
    return tuple(column.strip() for column in (text or "").split(",") if column.strip())


DaskAddress = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help='Spread the work over Dask: "local" (a cluster of this machine\'s cores on '
        "127.0.0.1) or a scheduler's address (tcp://host:8786). Data is read here.",
    ),
]
