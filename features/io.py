"""Tables at the edges: the one reader and the one atomic writer, CSV or Parquet by suffix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

SUFFIXES: tuple[str, ...] = (".parquet", ".csv")


def read_table(path: Path | str) -> pd.DataFrame:
    """Read one .parquet or .csv file.

    CSV: only the empty field is missing, so words such as "NA" (Namibia) or "None" stay
    values; a byte-order mark and CRLF line endings read like plain UTF-8 with LF.
    """
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    raise ValueError(f"{path}: unsupported file type (use .parquet or .csv)")


def write_table(frame: pd.DataFrame, out: Path | str) -> Path:
    """Write CSV or Parquet by suffix, atomically: a failed write leaves no partial file."""
    out = Path(out)
    if out.suffix not in SUFFIXES:
        raise ValueError(f"{out}: output must end in .csv or .parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=out.suffix)
    os.close(handle)
    try:
        if out.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out
