"""Reading ahead on a thread: the same items in order, the reader's errors where they occur."""

from __future__ import annotations

import threading

import pytest

from features.kernels.parallel import read_ahead


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
