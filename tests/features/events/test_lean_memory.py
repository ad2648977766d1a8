"""Reading a Parquet log holds a batch of its text at a time, not the whole log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from tests.features.events.test_lean import TYPES, _write

_PEAK = """
import json, sys
import pyarrow as pa
from features.events.lean import read_lean_events
events = read_lean_events(sys.argv[1], batch_rows=int(sys.argv[2]))
print(json.dumps({"rows": len(events), "arrow_peak": pa.default_memory_pool().max_memory()}))
"""


def _peak(tmp_path: Path, n: int) -> tuple[dict, int]:
    """Arrow's peak allocation reading a log of `n` events 20,000 rows at a time, in a fresh
    process, and the size of the log's columns read whole."""
    rng = np.random.default_rng(3)
    number = np.char.zfill(rng.integers(0, 50_000, n).astype(str), 6)
    frame = pd.DataFrame(
        {
            "follower_id": np.char.add("follower-", number),
            "event_type": rng.choice(TYPES, n),
            "occurred_at": pd.Timestamp("2026-01-01", tz="UTC")
            + pd.to_timedelta(np.sort(rng.integers(0, 9e12, n)), "us"),
            "post_id": np.char.add("post-", number),
            "value": rng.random(n),
        }
    )
    path = _write(frame, tmp_path / f"events{n}.parquet", row_group_size=20_000)
    run = subprocess.run(
        [sys.executable, "-c", _PEAK, str(path), "20000"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    return json.loads(run.stdout), pq.read_table(path).nbytes


def test_reading_holds_a_batch_of_text_not_the_whole_log(tmp_path):
    """Four times the log, about the same peak: it follows the batch, not the file (two
    batches: the one converted and the next one, read meanwhile)."""
    small, _ = _peak(tmp_path, 200_000)
    large, whole = _peak(tmp_path, 800_000)
    assert (small["rows"], large["rows"]) == (200_000, 800_000)
    assert large["arrow_peak"] < 1.5 * small["arrow_peak"], (small, large)
    assert large["arrow_peak"] < whole / 4, (large, whole)
