"""Parsing in a process pool: same stored result as in a thread, parse errors, a broken pool, clean close."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor import pipeline
from monitor.parse_pool import Prepared, prepare_feed
from monitor.pipeline import FeedPoller
from monitor.store.clusters import cluster_text, fingerprint
from monitor.store.models import Article, Feed
from tests.ingest.stories import OTHER, OTHER_TITLE, WIRE, WIRE_TITLE
from tests.ingest.test_pipeline_ingest import Setup, rss, serve
from tests.support.feedserver import FeedServer, Route, running_feed_server


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        yield running


@pytest.fixture(autouse=True)
def pool_for_any_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "POOL_MIN_FEEDS", 1)


def pooled(setup: Setup, workers: int) -> FeedPoller:
    poller = FeedPoller(setup.db, lambda: setup.runtime, owner="test", clock=setup.poller.clock,
                        parse_workers=workers)
    setup.poller = poller
    return poller


def test_prepare_feed_parses_and_fingerprints_or_returns_the_error_fields() -> None:
    body = rss([("a1", WIRE_TITLE, " ".join(WIRE))]).replace(b"LINK", b"https://x.example")
    prepared = prepare_feed(body, "https://x.example/feed", "application/rss+xml", None)
    assert isinstance(prepared, Prepared)
    [article] = prepared.feed.articles
    text = cluster_text(article.title, article.summary_text, article.content_text)
    assert prepared.fingerprints == {article.id: fingerprint(text)}
    kind, message = prepare_feed(b"<html><body>no feed</body></html>", "https://x.example/", "text/html", None)  # type: ignore[misc]
    assert kind and message


@pytest.mark.parametrize("workers", [0, 2])
def test_pool_and_thread_store_the_same(tmp_path: Path, database_url: str, server: FeedServer, workers: int) -> None:
    wire_text = " ".join(WIRE)
    serve(server, "wire", [("w1", WIRE_TITLE, wire_text), ("w2", OTHER_TITLE, " ".join(OTHER))])
    serve(server, "paper", [("p1", WIRE_TITLE, wire_text)])
    server.routes["/broken.xml"] = Route(b"<html><body>not a feed</body></html>", content_type="text/html")
    setup = Setup(tmp_path, database_url, server, {"wire": False, "paper": False, "broken": False})
    poller = pooled(setup, workers)
    summary = asyncio.run(poller.poll_due())
    assert (poller._pool is not None) == (workers > 0)
    assert summary.new_articles == 3 and summary.ok == 2 and summary.suppressed == 1
    assert summary.errors == 1 and "internal" not in summary.error_kinds, "a parse error is the feed's, as before"
    with setup.db.sessions() as session:
        clusters = {a.title: a.cluster_id for a in session.scalars(select(Article))}
        assert session.get(Feed, "broken").error_kind in summary.error_kinds  # type: ignore[union-attr]
    assert len(clusters) == 2, "the two copies of the wire story share a cluster"
    poller.close()
    assert poller._pool is None
    setup.db.dispose()


def test_a_killed_worker_falls_back_to_parsing_in_a_thread(
    tmp_path: Path, database_url: str, server: FeedServer
) -> None:
    serve(server, "wire", [("w1", WIRE_TITLE, " ".join(WIRE))])
    setup = Setup(tmp_path, database_url, server, {"wire": False})
    poller = pooled(setup, 1)
    pool = poller._parse_pool()
    assert pool is not None
    pool.submit(os.getpid).result()  # starts the worker
    for pid in list(pool._processes):  # what an OOM killer or a group-wide SIGTERM would do
        os.kill(pid, signal.SIGKILL)
    summary = asyncio.run(poller.poll_due())
    assert summary.errors == 0 and summary.new_articles == 1
    poller.close()
    setup.db.dispose()
