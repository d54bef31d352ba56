"""Configuration: typed models and the loader of a configuration directory (DESIGN §3)."""

from monitor.config.loader import load_config, load_config_report
from monitor.config.problems import ConfigProblem
from monitor.config.report import ConfigReport, LoadedConfig, locate_query_problem

__all__ = ["ConfigProblem", "ConfigReport", "LoadedConfig", "load_config", "load_config_report", "locate_query_problem"]
