"""Produce the next item of an iterator in a background thread while the caller works on the current one.

A Bulk Read backfill alternates two waits that can overlap: decoding a chunk (Arrow's CSV reader, which releases
the GIL) and loading the previous one (COPY, waiting on the database server). One item ahead keeps memory at
two chunks; the producer runs the iterator alone, so a generator is advanced, and closed, on one thread only.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_END = object()


def prefetched(items: Iterable[T], *, name: str = "prefetch") -> Iterator[T]:
    """The items of `items` in order, each produced while the previous one is being consumed. An exception of
    the producer is raised to the consumer at the item where it happened; when the consumer stops early (or
    fails), the producer stops after the item it is producing and `items` is closed on its own thread."""
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=1)
    # One credit per item the consumer has taken: the producer starts an item only when the consumer holds the
    # previous one, so at most two are alive (the one consumed, the one made), never one waiting in the queue too.
    credit = threading.Semaphore(1)
    stop = threading.Event()

    def wait_for_credit() -> bool:
        while not stop.is_set():
            if credit.acquire(timeout=0.05):
                return True
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            while wait_for_credit():
                item = next(iterator, _END)
                handoff.put((True, item))  # never blocks: the consumer took the previous item before the credit
                if item is _END:
                    return
        except BaseException as error:  # handed to the consumer, which re-raises it
            handoff.put((False, error))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    producer = threading.Thread(target=produce, name=name, daemon=True)
    producer.start()
    try:
        while True:
            ok, item = handoff.get()
            credit.release()
            if not ok:
                assert isinstance(item, BaseException)
                raise item
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        producer.join()
