"""Run a generator in a thread of its own, one item ahead of its consumer (double buffering)."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

Item = TypeVar("Item")
_DONE = object()


@dataclass
class _Failed:
    error: BaseException


@contextmanager
def ahead(items: Generator[Item, None, None]) -> Iterator[Iterator[Item]]:
    """`items`, produced from now on by a thread of its own: the next item while the caller works
    on the current one, and no further (two items in memory at most). The producer's exception
    is raised to the caller; when the block ends, early or not, the producer stops and `items`
    is closed (in its own thread)."""
    slot: list = []  # the item handed over and not yet taken, if any
    changed = threading.Condition()
    stop = False

    def room() -> bool:
        """Wait until the caller has taken the last item; False if the block has ended."""
        with changed:
            changed.wait_for(lambda: not slot or stop)
            return not stop

    def hand(item: object) -> None:
        with changed:
            slot.append(item)
            changed.notify_all()

    def produce() -> None:
        try:
            while room():
                item = next(items, _DONE)
                hand(item)
                if item is _DONE:
                    return
        except BaseException as exc:  # raised by next(): the slot is empty; handed to the caller
            hand(_Failed(exc))
        finally:
            items.close()

    def consume() -> Iterator[Item]:
        while True:
            with changed:
                changed.wait_for(lambda: slot)
                item = slot.pop()
                changed.notify_all()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    producer = threading.Thread(target=produce, name="ahead", daemon=True)
    producer.start()
    try:
        yield consume()
    finally:
        with changed:
            stop = True
            changed.notify_all()
        producer.join()
