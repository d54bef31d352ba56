"""Configuration: typed models and the loader of a configuration directory (DESIGN §3)."""

from monitor.config.loader import LoadedConfig, load_config, locate_query_problem
from monitor.config.problems import ConfigProblem

__all__ = ["ConfigProblem", "LoadedConfig", "load_config", "locate_query_problem"]
