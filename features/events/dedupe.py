"""Exact repeated rows, found fast: hash every row, then compare only rows whose hashes repeat."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from features.kernels.ids import pack_ids

_PRIME = np.uint64(0x100000001B3)  # FNV-1a's: combines column hashes into one row hash


def repeated_rows(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Boolean mask of rows equal on `columns` to an earlier row (NaN equals NaN), like
    `frame.duplicated(subset=columns)` but about ten times faster on millions of rows."""
    digest = np.zeros(len(frame), dtype=np.uint64)
    for column in columns:
        digest *= _PRIME
        digest ^= _column_hash(frame[column])
    # Equal rows have equal hashes, so only rows sharing a hash with another can repeat.
    ordered = np.sort(digest)
    shared = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    suspects = np.flatnonzero(pd.Index(shared).get_indexer(digest) >= 0)
    repeated = np.zeros(len(frame), dtype=bool)
    if suspects.size:
        rows = frame.iloc[suspects][list(columns)]
        repeated[suspects] = rows.duplicated().to_numpy()
    return repeated


def _column_hash(values: pd.Series) -> np.ndarray:
    """A uint64 per value; equal values (as `duplicated` sees them) always hash alike."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy().astype(np.uint64)
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return values.array.asi8.view(np.uint64)  # NaT is one fixed integer
    if pd.api.types.is_float_dtype(dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        # One bit pattern for every NaN, and -0.0 + 0.0 is +0.0: equal values, equal bits.
        return (np.where(np.isnan(numbers), 0.0, numbers) + 0.0).view(np.uint64)
    packed = pack_ids(values)
    if packed is not None:
        return packed.keys(one_word=False)
    return pd.util.hash_pandas_object(values, index=False).to_numpy()
