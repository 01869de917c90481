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


def _is_item(item: object) -> bool:
    return item is not _DONE and not isinstance(item, _Failed)


@contextmanager
def ahead(items: Generator[Item, None, None], depth: int = 1) -> Iterator[Iterator[Item]]:
    """`items`, produced from now on by a thread of its own: the next item while the caller works
    on the current one, and no further (two items in memory at most). The producer's exception
    is raised to the caller; when the block ends, early or not, the producer stops and `items`
    is closed (in its own thread). With `depth` > 1 the producer runs up to `depth` items ahead."""
    with _ahead(items, depth, together=False) as taken:
        yield taken


@contextmanager
def ahead_together(items: Generator[Item, None, None], depth: int) -> Iterator[Iterator[list[Item]]]:
    """Like `ahead`, up to `depth` items ahead, but the caller takes every item ready at once (a
    list, at least one): a caller that had to wait catches up in one step instead of several."""
    with _ahead(items, depth, together=True) as taken:
        yield taken


@contextmanager
def _ahead(items: Generator, depth: int, together: bool) -> Iterator[Iterator]:
    slot: list = []  # items handed over and not yet taken, oldest first
    changed = threading.Condition()
    stop = False

    def room() -> bool:
        """Wait until the caller has taken enough items; False if the block has ended."""
        with changed:
            changed.wait_for(lambda: len(slot) < depth or stop)
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
        except BaseException as exc:  # raised by next(): handed to the caller after the items before it
            hand(_Failed(exc))
        finally:
            items.close()

    def take() -> list:
        """The oldest item, or (together) every item up to the end or a failure: [the marker] alone."""
        with changed:
            changed.wait_for(lambda: slot)
            taken = [slot.pop(0)]
            while together and slot and _is_item(taken[-1]) and _is_item(slot[0]):
                taken.append(slot.pop(0))
            changed.notify_all()
        return taken

    def consume() -> Iterator:
        while True:
            taken = take()
            if taken[0] is _DONE:
                return
            if isinstance(taken[0], _Failed):
                raise taken[0].error
            if together:
                yield taken
            else:
                yield taken[0]

    producer = threading.Thread(target=produce, name="ahead", daemon=True)
    producer.start()
    try:
        yield consume()
    finally:
        with changed:
            stop = True
            changed.notify_all()
        producer.join()
