"""Configuration: typed models and the loader of a configuration directory (DESIGN §3)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.config.loader import load_config, load_config_report
    from monitor.config.problems import ConfigProblem
    from monitor.config.report import ConfigReport, LoadedConfig, locate_query_problem

__all__ = ["ConfigProblem", "ConfigReport", "LoadedConfig", "load_config", "load_config_report", "locate_query_problem"]

# Imported on first use, not with the package: the parse processes import `monitor.config.models` and
# `monitor.config.gc_pause` only, and the loader would bring YAML, the source maps and SQLAlchemy's URL
# parsing into each of them (PEP 562).
_LAZY = {
    "load_config": "monitor.config.loader",
    "load_config_report": "monitor.config.loader",
    "ConfigProblem": "monitor.config.problems",
    "ConfigReport": "monitor.config.report",
    "LoadedConfig": "monitor.config.report",
    "locate_query_problem": "monitor.config.report",
}


def __getattr__(name: str) -> Any:
    """The package's public names, imported from their modules when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
