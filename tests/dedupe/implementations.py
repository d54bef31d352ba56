"""The MinHash implementations this install has, and a switch between them (tests and benchmarks/minhash_bench.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from monitor.dedupe import minhash

NATIVE = minhash.native
"""The C extension (monitor/dedupe/_minhash.c), or None where it is not built."""
IMPLEMENTATIONS: list[ModuleType | None] = [NATIVE, None] if NATIVE is not None else [None]
"""The extension, then None (numpy); numpy alone where the extension is not built."""


@contextmanager
def implementation(native: ModuleType | None) -> Iterator[None]:
    """minhash's functions on the C extension (a module) or on numpy (None)."""
    saved, minhash.native = minhash.native, native
    try:
        yield
    finally:
        minhash.native = saved
