"""The garbage collector: paused while a large configuration is built, and set for a service process."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off (reference counting still frees memory).

    Loading a big configuration allocates millions of long-lived objects and no reference cycles: the
    collector would walk the growing heap again and again, for nothing (an 8 MB watchlist: loading and
    validating took 4-5 s with it, 2-2.7 s without). It runs as usual after the block.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


YOUNG_COLLECTION_THRESHOLD = 10_000
"""Allocations between two young-generation collections in a service process (Python's default: 700)."""


def collect_less_often() -> None:
    """Set this process's collector to run its young generation every YOUNG_COLLECTION_THRESHOLD allocations.

    A refresh allocates and frees hundreds of thousands of short-lived objects a second (parsed
    articles, rows, driver results), nearly none in cycles; at the default threshold each young
    collection, and every tenth of those a walk of the whole older heap, found almost nothing:
    ~0.5 ms of CPU a changed feed on PostgreSQL and ~0.15 ms on SQLite (benchmarks/README.md).
    Reference counting frees memory as before; cycles are collected as before, only later.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)
