"""Tabular mode: one row per lead (id column, 0/1 target) to a typed feature frame indexed by id."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from features.schema import require_columns
from features.tabular.dates import DateColumn, derive, derived_columns, parse_dates, recognise_date

logger = logging.getLogger(__name__)

# Form values that mean "the lead never chose an option" (Leads.csv uses "Select"); compared
# after stripping and case-folding, so "select" and " Select " match too.
DEFAULT_PLACEHOLDERS: tuple[str, ...] = ("Select",)

# Version of the table-mode model input: a registered table model carries it as feature_version.
# v2: date columns become month, weekday, hour and days between dates, not categories.
TABLE_VERSION = "table-v2"

# Accepted target spellings, compared after stripping and case-folding.
_TARGET_WORDS: dict[str, int] = {"1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0}


@dataclass(frozen=True)
class TabularSpec:
    """Which columns of a lead table are the id, the target and the model's features.

    `features` keeps the table's column order and is split into `categorical` and `numeric`;
    `excluded` holds `(column, reason)` pairs; `target_mapping` says how the target became 0/1.
    `dates` are the table's date columns as `(column, form, timed)` (see
    features.tabular.dates): they are read, not fed to the model, and the numeric features
    derived from them (month, weekday, hour, days between) come last in `features`.
    """

    id_column: str
    target: str
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    excluded: tuple[tuple[str, str], ...] = ()
    target_mapping: str = "'1' -> 1, '0' -> 0"
    dates: tuple[tuple[str, str, bool], ...] = ()

    def __post_init__(self) -> None:
        if set(self.features) != set(self.categorical) | set(self.numeric):
            raise ValueError("features must be exactly the categorical plus the numeric columns")
        if set(self.categorical) & set(self.numeric):
            raise ValueError("a column cannot be both categorical and numeric")
        if {self.id_column, self.target} & set(self.features):
            raise ValueError("the id and target columns cannot be features")
        for name in ("features", "categorical", "numeric", "excluded"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "dates", tuple(tuple(date) for date in self.dates))

    def kind(self, column: str) -> str:
        """The kind of a feature column: "categorical" or "numeric"."""
        if column in self.categorical:
            return "categorical"
        if column in self.numeric:
            return "numeric"
        raise ValueError(f"{column!r} is not a feature column")

    @property
    def date_columns(self) -> tuple[DateColumn, ...]:
        return tuple(DateColumn(str(c), str(form), bool(timed)) for c, form, timed in self.dates)

    @property
    def derived(self) -> dict[str, tuple[str, ...]]:
        """Features made from date columns, and the date columns each is made from."""
        made = derived_columns(self.date_columns)
        return {name: made[name] for name in self.features if name in made}

    @property
    def inputs(self) -> tuple[tuple[str, str], ...]:
        """`(column, kind)` of the columns a lead row must carry: the features read as they are,
        then the date columns features are made from (kind "date")."""
        derived = self.derived
        plain = [(c, self.kind(c)) for c in self.features if c not in derived]
        return (*plain, *((date.column, "date") for date in self.input_dates))

    @property
    def input_dates(self) -> tuple[DateColumn, ...]:
        """The date columns a feature is made from (one whose features were all left out, as
        leaks or constants, is not needed to score)."""
        used = {source for sources in self.derived.values() for source in sources}
        return tuple(date for date in self.date_columns if date.column in used)

    @property
    def exclusion_reasons(self) -> dict[str, str]:
        """Excluded column -> why it is not a feature."""
        return dict(self.excluded)

    def without(self, reasons: dict[str, str]) -> TabularSpec:
        """A copy with the given feature columns moved to `excluded` with their reasons; a date
        column named goes too, with the features made from it."""
        made = derived_columns(self.date_columns)
        dates = {date.column for date in self.date_columns}
        drop = set(reasons) | {
            name for name, sources in made.items() if set(sources) & set(reasons)
        }
        gone = [c for c in self.features if c in drop] + [c for c in dates if c in reasons]
        why = {c: reasons.get(c) or _from_dates(made[c], reasons) for c in gone}
        return replace(
            self,
            features=tuple(c for c in self.features if c not in drop),
            categorical=tuple(c for c in self.categorical if c not in drop),
            numeric=tuple(c for c in self.numeric if c not in drop),
            excluded=(*self.excluded, *why.items()),
            dates=tuple(d for d in self.dates if d[0] not in reasons),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form, to log beside a model."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TabularSpec:
        """Inverse of `to_dict` (also after a JSON round trip turned tuples into lists)."""
        return cls(**data | {"excluded": tuple(tuple(pair) for pair in data["excluded"])})


def _from_dates(sources: tuple[str, ...], reasons: dict[str, str]) -> str:
    column = next(c for c in sources if c in reasons)
    return f"made from {column!r}, left out"


def infer_tabular_spec(
    table: pd.DataFrame,
    id_column: str,
    target: str,
    exclude: Iterable[str] = (),
    placeholders: Sequence[str] = DEFAULT_PLACEHOLDERS,
) -> TabularSpec:
    """Check the table and split its other columns into categorical, numeric, date and excluded.

    Dates (ISO, day- or month-first, epoch numbers under a time-like name; see
    features.tabular.dates) are recognised first and give derived numeric features; other text
    and bool columns are categorical, numbers numeric. A column with at most one distinct
    value (missing counts as a value, placeholders count as missing) is excluded as "constant".
    """
    exclude = list(dict.fromkeys(exclude))
    require_columns(table, [id_column, target, *exclude], "lead table")
    _check_ids(table[id_column], id_column)
    _, mapping = _target_codes(table[target], target)
    logger.info("target %r mapped to 0/1 as %s", target, mapping)
    excluded = [(column, "excluded by request") for column in exclude]
    categorical, numeric, dates = [], [], []
    for column in table.columns:
        if column in (id_column, target, *exclude):
            continue
        kind = _column_kind(table[column])
        date = None if kind is None else recognise_date(table[column])
        if date is not None:
            dates.append(date)
        elif kind is None:
            excluded.append((column, f"unsupported dtype {table[column].dtype}"))
        elif _distinct(_clean(table[column], kind, placeholders, column)) <= 1:
            excluded.append((column, "constant"))
        else:
            (categorical if kind == "categorical" else numeric).append(column)
    made = _derived_values(table, dates)
    for name, values in made.items():
        if _distinct(values) <= 1:
            excluded.append((name, "constant"))
        else:
            numeric.append(name)
    for date in dates:
        logger.info("%r read as dates (%s%s)", date.column, date.form, ", with times" * date.timed)
    features = (*(c for c in table.columns if c in set(categorical) | set(numeric)),
                *(c for c in made if c in numeric))  # fmt: skip
    return TabularSpec(
        id_column,
        target,
        features,
        tuple(categorical),
        tuple(numeric),
        tuple(excluded),
        mapping,
        tuple((date.column, date.form, date.timed) for date in dates),
    )


def _derived_values(table: pd.DataFrame, dates: Sequence[DateColumn]) -> dict[str, np.ndarray]:
    """The values of every feature made from `dates`, by name (values that are not dates are
    counted once, when `prepare_tabular` reads them)."""
    parsed = {date.column: parse_dates(table[date.column], date.form) for date in dates}
    return {name: derive(name, parsed) for name in derived_columns(dates)}


def _present(values: pd.Series) -> pd.Series:
    return values.notna() & (values.astype("str").str.strip() != "")


def prepare_tabular(
    table: pd.DataFrame, spec: TabularSpec, placeholders: Sequence[str] = DEFAULT_PLACEHOLDERS
) -> pd.DataFrame:
    """The feature frame: indexed by the id, `spec.features` in order, placeholders as missing.

    Categorical columns are text (dtype "str"), stripped and case-folded so `Google` and
    `google` are one level; numeric columns are float64; features made from date columns are
    computed from the dates as read in training. Missing stays missing (NaN) in all: it is
    information, and the model input carries it to LightGBM as NaN. The target is not needed,
    so the same call prepares a table to score.
    """
    derived = spec.derived
    require_columns(table, [spec.id_column, *(c for c, _ in spec.inputs)], "lead table")
    _check_ids(table[spec.id_column], spec.id_column)
    ids = table[spec.id_column].to_numpy()
    sources = {source for made in derived.values() for source in made}
    parsed = {
        date.column: _read_dates(table[date.column], date, ids)
        for date in spec.date_columns
        if date.column in sources
    }
    columns: dict[str, Any] = {}
    for column in spec.features:
        if column in derived:
            columns[column] = derive(column, parsed)
            continue
        values = _clean(table[column], spec.kind(column), placeholders, column, ids)
        # Built as "str" arrays once: casting a finished frame costs more than the cleaning.
        columns[column] = pd.array(values, dtype="str") if values.dtype == object else values
    return pd.DataFrame(columns, index=pd.Index(ids, name=spec.id_column))


def _read_dates(values: pd.Series, date: DateColumn, ids: np.ndarray) -> pd.Series:
    """Dates as the training table wrote them; others are missing, and said (a stray value
    is no reason to stop a nightly batch, but it must not pass unnoticed)."""
    parsed = parse_dates(values, date.form)
    unread = (parsed.isna() & _present(values)).to_numpy()
    if unread.any():
        first = int(unread.nonzero()[0][0])
        logger.warning(
            "%r: %d value(s) not written as %s read as missing, e.g. %r (id %r)",
            date.column,
            int(unread.sum()),
            date.form,
            values.iloc[first],
            ids[first],
        )
    return parsed


def make_tabular_target(table: pd.DataFrame, spec: TabularSpec) -> pd.Series:
    """The target as int8 0/1, indexed by the id and named like the target column."""
    require_columns(table, [spec.id_column, spec.target], "lead table")
    codes, _ = _target_codes(table[spec.target], spec.target)
    index = pd.Index(table[spec.id_column].to_numpy(), name=spec.id_column)
    return pd.Series(codes.to_numpy(dtype=np.int8), index=index, name=spec.target)


def _check_ids(ids: pd.Series, column: str) -> None:
    empty = ids.isna() | (ids.astype("str").str.strip() == "")
    if empty.any():
        raise ValueError(f"id column {column!r} has {int(empty.sum())} empty value(s)")
    duplicated = ids[ids.duplicated()]
    if len(duplicated):
        examples = ", ".join(map(repr, duplicated.unique()[:3].tolist()))
        raise ValueError(f"id column {column!r} has duplicated ids, e.g. {examples}")


def _target_codes(values: pd.Series, column: str) -> tuple[pd.Series, str]:
    if values.isna().any():
        raise ValueError(f"target {column!r} has {int(values.isna().sum())} missing value(s)")
    words = values.astype("str").str.strip().str.casefold()
    words = words.where(~words.isin(["1.0", "0.0"]), words.str[0])
    unknown = sorted(set(words) - set(_TARGET_WORDS))
    if unknown:
        raise ValueError(
            f"target {column!r} must be 0/1, True/False or Yes/No; found {unknown[:5]}"
        )
    codes = words.map(_TARGET_WORDS)
    if codes.nunique() < 2:
        raise ValueError(f"target {column!r} has a single class: nothing to learn")
    pairs = values.astype("str").str.strip().groupby(codes.to_numpy()).unique()
    mapping = ", ".join(f"{'/'.join(map(repr, pairs[code]))} -> {code}" for code in (1, 0))
    return codes, mapping


def _column_kind(values: pd.Series) -> str | None:
    if pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    if pd.api.types.is_bool_dtype(values) or isinstance(values.dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    if pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values):
        return "categorical"
    return None


def _clean(
    values: pd.Series,
    kind: str,
    placeholders: Sequence[str],
    column: str,
    ids: np.ndarray | None = None,
) -> np.ndarray:
    """float64 numbers, or categories as folded text (None if missing); `ids` name bad rows."""
    is_number = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if kind == "numeric" and is_number:
        return values.to_numpy(dtype="float64", na_value=np.nan)
    # One pass over plain Python values: pandas string methods cost about 0.1 ms a call, which
    # made preparing one lead for the service take tens of milliseconds.
    skip = {placeholder.strip().casefold() for placeholder in placeholders}
    texts = [_text(value, skip) for value in values.to_numpy(dtype=object)]
    if kind == "categorical":
        return np.array([text if text is None else text.casefold() for text in texts], dtype=object)
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    bad = [row for row, text in enumerate(texts) if text is not None and np.isnan(numbers[row])]
    if bad:
        where = ids[bad[0]] if ids is not None else values.index[bad[0]]
        raise ValueError(
            f"numeric column {column!r} has {len(bad)} non-numeric value(s), "
            f"e.g. {texts[bad[0]]!r} (row with id {where!r})"
        )
    return numbers


def _distinct(values: np.ndarray) -> int:
    """Distinct values, missing counted as one value."""
    return int(pd.Series(values).nunique(dropna=False))


def _text(value: object, skip: set[str]) -> str | None:
    """A value as stripped text; None when missing, blank or a placeholder."""
    if not isinstance(value, str):
        if value is None or pd.isna(value):
            return None
        if isinstance(value, float | np.floating) and float(value).is_integer():
            # A code column read as numbers (3, or 3.0 once a value is missing) is level "3".
            value = int(value)
    text = str(value).strip()
    return None if not text or text.casefold() in skip else text
