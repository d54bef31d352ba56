"""Refreshing feeds: one feed's refresh, and the machinery that runs many at a time (parse pool, writers, gate)."""
