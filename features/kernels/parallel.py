"""Independent NumPy tasks on threads: bincount, take, sort and compares release the GIL."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import numpy as np

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


Item = TypeVar("Item")
Result = TypeVar("Result")
_END = object()


def read_ahead(items: Iterator[Item]) -> Iterator[Item]:
    """The items of `items`, each next one made on a thread while the caller uses this one.

    For a reader whose decoding releases the GIL (Arrow's): decoding the next batch overlaps
    converting this one. One item is made at a time, in order; the reader's errors are raised
    here, where the item would have been.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(next, items, _END)
        while (item := pending.result()) is not _END:
            pending = pool.submit(next, items, _END)
            yield item


def ordered_map(
    function: Callable[[Item], Result], items: Iterable[Item], workers: int
) -> Iterator[Result]:
    """`function` of each item, in order, made on `workers` threads at once while the caller
    uses the result before them (so `workers` + 1 results are alive at most).

    For independent reads whose decoding releases the GIL: one Parquet row group each. An
    error of `function` is raised where its result would have been (`items` is read ahead, so
    an error of its own may come up to `workers` results early).
    """
    queue = iter(items)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[Result]] = deque()

        def fill() -> None:
            while len(pending) < workers and (item := next(queue, _END)) is not _END:
                pending.append(pool.submit(function, item))  # type: ignore[arg-type]

        fill()
        while pending:
            result = pending.popleft().result()
            fill()
            yield result


def map_chunks(
    function: Callable[[np.ndarray], np.ndarray], values: np.ndarray, chunk: int
) -> np.ndarray:
    """int64 `function(values[i : i + chunk])` for every chunk, concatenated.

    Chunks keep each step's temporary arrays in cache. Each thread fills its own run of
    chunks, so the result does not depend on threads.
    """
    out = np.empty(values.size, dtype=np.int64)
    starts = np.arange(0, values.size, chunk)

    def fill(run: np.ndarray) -> None:
        for start in run:
            out[start : start + chunk] = function(values[start : start + chunk])

    runs = np.array_split(starts, max(1, min(cores(), starts.size)))
    run_all([partial(fill, run) for run in runs], parallel=values.size >= PARALLEL_MIN_EVENTS)
    return out
