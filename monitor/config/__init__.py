"""Configuration: typed models and the loader of a configuration directory (DESIGN §3)."""

from monitor.config.loader import (
    ConfigReport,
    LoadedConfig,
    load_config,
    load_config_report,
    locate_query_problem,
)
from monitor.config.problems import ConfigProblem

__all__ = ["ConfigProblem", "ConfigReport", "LoadedConfig", "load_config", "load_config_report", "locate_query_problem"]
