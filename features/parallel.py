"""Independent NumPy tasks on threads: bincount, take, sort and compares release the GIL."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# Below this many events, threads cost more than they save (and small inputs stay serial).
PARALLEL_MIN_EVENTS = 1_000_000


def cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_all(tasks: Sequence[Callable[[], Any]], parallel: bool) -> list[Any]:
    """Each task's result, in order; on threads when `parallel` and a core is free for them.

    Tasks must only read shared data. Each runs whole on one thread, so results (float sums
    included) are the same bit for bit as a serial run.
    """
    if not parallel or len(tasks) < 2 or cores() < 2:
        return [task() for task in tasks]
    with ThreadPoolExecutor(max_workers=min(len(tasks), cores())) as pool:
        return list(pool.map(lambda task: task(), tasks))
