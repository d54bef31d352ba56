"""Fixtures of the refresh tests: the local feed server, and the parse pool for batches of any size."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitor.refresh import poller
from tests.support.feedserver import FeedServer, running_feed_server


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A feed server on 127.0.0.1 (tests/support/feedserver.py), for one test."""
    with running_feed_server() as running:
        yield running


@pytest.fixture
def pool_for_any_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parse in the processes however few feeds a poll claims (tests use a handful)."""
    monkeypatch.setattr(poller, "POOL_MIN_FEEDS", 1)
