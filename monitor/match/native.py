"""The matcher's optional native extension (monitor/match/_native.c), or None where it is not built.

Imported by name: an extension imports no module, so it is in no import cycle, but the architecture test's
graph (which knows only .py files) would take `from monitor.match import _native` for the package. Every
user reads `extension` when it builds its tables, so a test can set it to None to take the pure-Python
paths, which give the same results (tests/match/test_native.py).
"""

from __future__ import annotations

import importlib
from types import ModuleType

try:
    extension: ModuleType | None = importlib.import_module("monitor.match._native")
except ImportError:  # not built (no C compiler at install): the pure-Python paths
    extension = None
