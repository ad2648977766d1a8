"""Reading ahead on threads: the same items in order, the reader's errors where they occur."""

from __future__ import annotations

import threading
import time

import pytest

from features.kernels.parallel import ordered_map, read_ahead


def test_items_come_in_order_each_made_off_the_callers_thread():
    makers = []

    def items():
        for item in range(50):
            makers.append(threading.get_ident())
            yield item

    assert list(read_ahead(items())) == list(range(50))
    assert threading.get_ident() not in makers


def test_the_readers_error_comes_after_the_items_before_it():
    def items():
        yield from range(3)
        raise OSError("part-7.parquet: truncated")

    seen = []
    with pytest.raises(OSError, match="part-7"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [0, 1, 2]


def test_stopping_early_reads_at_most_one_item_more():
    made = []

    def items():
        for item in range(100):
            made.append(item)
            yield item

    for item in read_ahead(items()):
        if item == 4:
            break
    assert made == [0, 1, 2, 3, 4, 5]


def test_ordered_map_keeps_order_with_results_made_at_once():
    running, most = 0, 0
    lock = threading.Lock()

    def slow_square(item):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.01 * (item % 3))  # later items often finish first
        with lock:
            running -= 1
        return item * item

    assert list(ordered_map(slow_square, range(30), workers=2)) == [i * i for i in range(30)]
    assert most == 2


def test_ordered_map_raises_the_first_error_in_its_place():
    def read(item):
        if item == 3:
            raise OSError(f"row group {item}: bad page")
        return item

    seen = []
    with pytest.raises(OSError, match="row group 3"):
        for item in ordered_map(read, range(10), workers=2):
            seen.append(item)
    assert seen == [0, 1, 2]


def test_ordered_map_stopping_early_makes_at_most_the_workers_more():
    made = []

    def read(item):
        made.append(item)
        return item

    for item in ordered_map(read, range(100), workers=2):
        if item == 4:
            break
    assert sorted(made) == [0, 1, 2, 3, 4, 5, 6]
