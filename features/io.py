"""Writing tables at the edges: CSV or Parquet by suffix, never a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def write_table(frame: pd.DataFrame, out: Path) -> Path:
    """Write CSV or Parquet by suffix, atomically: a failed write leaves no partial file."""
    out = Path(out)
    if out.suffix not in (".csv", ".parquet"):
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
