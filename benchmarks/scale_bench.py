"""What a large audience costs end to end: `leadscore simulate`, `train` and `score` of N
followers, each run as a user runs it (a fresh process), with its wall time and peak memory.

Prints figures; asserts nothing. The issue's target: 1,000,000 followers over 240 days, each
command under a 12 GB peak on this machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUIET = {"DO_NOT_TRACK": "true", "MLFLOW_DISABLE_TELEMETRY": "true",
         "BENTOML_DO_NOT_TRACK": "true"}  # fmt: skip


def run(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, peak memory (GB, the process's own) and the last line it printed."""
    env = os.environ | QUIET | {"COLUMNS": "120"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "leadscore.cli", *command],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{output[-2000:]}")
    lines = [line for line in output.splitlines() if line.strip()]
    return seconds, usage.ru_maxrss / 1024**2, lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--followers", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=240)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--dask", action="store_true", help="Also train and score with --dask local."
    )
    parser.add_argument("--keep", type=Path, help="Work here and keep the files.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leadscore-scale-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        steps = {
            "simulate": ["simulate", "--followers", str(args.followers), "--days",
                         str(args.days), "--seed", str(args.seed), "--out", "audience"],
            "train": ["train", "--data", "audience", "--model-name", "scale"],
            "score": ["score", "--data", "audience", "--model-name", "scale", "--out",
                      "scores.parquet", "--top", "0", "--drift-report", "drift.json"],
        }  # fmt: skip
        if args.dask:
            # Its own model name: the local run's champion stays the one scored above.
            steps["train --dask local"] = ["train", "--data", "audience", "--model-name",
                                           "scale-dask", "--dask", "local"]  # fmt: skip
            steps["score --dask local"] = [*steps["score"], "--dask", "local"]
        print(f"{args.followers:,} followers over {args.days} days, in {work}")
        print(f"{'step':<20} {'seconds':>8} {'peak GB':>8}  last line")
        for name, command in steps.items():
            # The peak is the command's own process; Dask workers are processes of their own.
            seconds, peak, last = run(command, work)
            print(f"{name:<20} {seconds:8.1f} {peak:8.2f}  {last[:70]}")


if __name__ == "__main__":
    main()
