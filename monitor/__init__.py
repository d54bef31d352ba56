"""monitor: a self-hosted media-monitoring alert service."""

__version__ = "0.1.0"
