"""Compiled trees (lleaves) against LightGBM on the champion, at 1, 100 and 10,000 distinct rows:
speed-up and agreement. lleaves is not a dependency; run this with it added for the run:

    uv run --with lleaves --with 'llvmlite<0.45' python benchmarks/compiled_trees.py

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = (1, 100, 10_000)


def compare(work: Path, model_name: str, data: Path) -> None:
    """Print lleaves' speed-up over LightGBM per request size, or how to get lleaves."""
    try:
        import lleaves
    except ImportError:
        print("\ncompiled trees: lleaves is not installed; see benchmarks/compiled_trees.py")
        return
    from serving.model.bundle import BOOSTER_FILE, bundle_dir
    from serving.model_store import load_registered
    from training.tracking import configure_tracking

    configure_tracking(work / "mlruns")
    uri = f"models:/{model_name}@champion"
    bundle, version = load_registered(uri)
    matrix = _rows(bundle, data, max(SIZES))
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        compiled = lleaves.Model(model_file=str(bundle_dir(uri) / BOOSTER_FILE))
        compiled.compile(cache=str(Path(cache) / "model.so"))
        print(f"\ncompiled trees (lleaves), {model_name} version {version}: compiling took "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        off = np.abs(compiled.predict(matrix, n_jobs=1) - bundle.booster.predict(matrix)).max()
        print(f"  largest difference from LightGBM on {len(matrix):,} rows: {off:.1e}")
        print(f"  {'rows':>7} {'LightGBM ms':>12} {'lleaves ms':>11} {'speed-up':>9}")
        for size in SIZES:
            rows = np.ascontiguousarray(matrix[:size])
            # One thread below 256 rows for both, as serving predicts (bundle.SMALL_BATCH_ROWS).
            threads = 1 if size < 256 else 2
            plain = _best_ms(lambda r=rows, t=threads: bundle.booster.predict(r, num_threads=t))
            fast = _best_ms(lambda r=rows, t=threads: compiled.predict(r, n_jobs=t))
            print(f"  {size:>7,} {plain:12.3f} {fast:11.3f} {plain / fast:8.1f}x")


def _rows(bundle, data: Path, count: int) -> np.ndarray:  # noqa: ANN001
    """Model input of `count` distinct followers of the audience (repeating one row flatters)."""
    from features.build import build_follower_features
    from features.events.load import load_tables

    tables = load_tables(data)
    as_of = tables.interactions["occurred_at"].max().normalize()
    features = build_follower_features(tables.interactions, tables.followers.head(count), as_of)
    return bundle.model_input(features)


def _best_ms(step, calls: int = 30) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(calls):
        started = time.perf_counter()
        step()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-name", default="lead-scorer")
    parser.add_argument("--data", type=Path, default=Path("data/audience"))
    args = parser.parse_args()
    compare(Path.cwd(), args.model_name, args.data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
