"""orchestration.prefetch: order, errors, early stop and overlap of producer and consumer (no timing)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from orchestration.prefetch import prefetched


def test_items_arrive_in_order_and_complete() -> None:
    assert list(prefetched(range(1000))) == list(range(1000))
    assert list(prefetched([])) == []


def test_the_next_item_is_produced_while_the_current_one_is_consumed() -> None:
    produced: list[int] = []
    second_started = threading.Event()

    def source() -> Iterator[int]:
        for i in range(3):
            produced.append(i)
            if i == 1:
                second_started.set()
            yield i

    items = prefetched(source())
    assert next(items) == 0
    # While the consumer holds item 0, the producer makes item 1, and then waits: one item ahead only.
    assert second_started.wait(10)
    for _ in range(50):  # give a wrongly eager producer every chance to start item 2 (it must not)
        time.sleep(0.001)
    assert produced == [0, 1]
    assert next(items) == 1
    assert list(items) == [2]
    assert produced == [0, 1, 2]


def test_a_producer_error_reaches_the_consumer_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("page 3 is unreadable")

    items = prefetched(source())
    assert next(items) == 1
    assert next(items) == 2
    with pytest.raises(ValueError, match="page 3 is unreadable"):
        next(items)


def test_stopping_early_closes_the_source_on_the_producer_thread() -> None:
    closed_on: list[str] = []

    def source() -> Iterator[int]:
        try:
            yield from range(100)
        finally:
            closed_on.append(threading.current_thread().name)

    items = prefetched(source(), name="test-producer")
    assert next(items) == 0
    items.close()
    assert closed_on == ["test-producer"]
    assert not any(t.name == "test-producer" for t in threading.enumerate())
