"""Parsing in a process pool: same stored result as in a thread, parse errors, a broken pool, clean close,
and the limits of a parse process (issue 13.1: a body that kills its process is the feed's parse error,
never parsed in the service process)."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor.dedupe.minhash import cluster_text, fingerprint
from monitor.errors import ParseError
from monitor.model import ParsedFeed
from monitor.refresh import parse_runner
from monitor.refresh import poller as pipeline
from monitor.refresh import refresh as refresh_step
from monitor.refresh.parse_pool import PARSE_LIMIT_MESSAGE, ParseLimits, Prepared, prepare_feed
from monitor.refresh.parse_runner import parse_here
from monitor.refresh.poller import FeedPoller
from monitor.store.rows import ArticleRow, Feed
from tests.ingest.stories import OTHER, OTHER_TITLE, WIRE, WIRE_TITLE
from tests.ingest.test_pipeline_ingest import Setup, rss, serve
from tests.support.feedserver import FeedServer, Route

pytestmark = pytest.mark.usefixtures("pool_for_any_batch")


def pooled(setup: Setup, workers: int, limits: ParseLimits | None = None) -> FeedPoller:
    poller = FeedPoller(setup.db, lambda: setup.runtime, owner="test", clock=setup.poller.clock,
                        parse_workers=workers, parse_limits=limits)
    setup.poller = poller
    return poller


@pytest.fixture
def parsed_in_the_service(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs of bodies parsed in this (the service's) process: the real parse, counted."""
    seen: list[str] = []

    def counted(result, language_hint):  # type: ignore[no-untyped-def]
        seen.append(result.final_url)
        return parse_here(result, language_hint)

    monkeypatch.setattr(refresh_step, "parse_here", counted)
    monkeypatch.setattr(parse_runner, "parse_here", counted)
    return seen


def test_prepare_feed_parses_and_fingerprints_or_returns_the_error() -> None:
    body = rss([("a1", WIRE_TITLE, " ".join(WIRE))]).replace(b"LINK", b"https://x.example")
    prepared = prepare_feed(body, "https://x.example/feed", "application/rss+xml", None)
    assert isinstance(prepared, Prepared)
    [article] = prepared.feed.articles
    text = cluster_text(article.title, article.summary_text, article.content_text)
    assert prepared.fingerprints == {article.id: fingerprint(text)}
    error = prepare_feed(b"<html><body>no feed</body></html>", "https://x.example/", "text/html", None)
    assert isinstance(error, ParseError) and error.kind and error.message
    # It crosses the process pool as it is (errors pickle with their attributes).
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.kind, again.message) == (ParseError, error.kind, error.message)


@pytest.mark.parametrize("workers", [0, 2])
def test_pool_and_thread_store_the_same(tmp_path: Path, database_url: str, server: FeedServer, workers: int) -> None:
    wire_text = " ".join(WIRE)
    serve(server, "wire", [("w1", WIRE_TITLE, wire_text), ("w2", OTHER_TITLE, " ".join(OTHER))])
    serve(server, "paper", [("p1", WIRE_TITLE, wire_text)])
    server.routes["/broken.xml"] = Route(b"<html><body>not a feed</body></html>", content_type="text/html")
    setup = Setup(tmp_path, database_url, server, {"wire": False, "paper": False, "broken": False})
    poller = pooled(setup, workers)
    summary = asyncio.run(poller.poll_due())
    assert (poller.parsing.running_pool is not None) == (workers > 0)
    assert summary.new_articles == 3 and summary.ok == 2 and summary.suppressed == 1
    assert summary.errors == 1 and "internal" not in summary.error_kinds, "a parse error is the feed's, as before"
    with setup.db.sessions() as session:
        clusters = {a.title: a.cluster_id for a in session.scalars(select(ArticleRow))}
        assert session.get(Feed, "broken").error_kind in summary.error_kinds  # type: ignore[union-attr]
    assert len(clusters) == 2, "the two copies of the wire story share a cluster"
    poller.close()
    assert poller.parsing.running_pool is None
    setup.db.dispose()


def test_a_killed_worker_s_feeds_are_parsed_again_in_processes_not_in_the_service(
    tmp_path: Path, database_url: str, server: FeedServer, parsed_in_the_service: list[str]
) -> None:
    serve(server, "wire", [("w1", WIRE_TITLE, " ".join(WIRE))])
    setup = Setup(tmp_path, database_url, server, {"wire": False})
    poller = pooled(setup, 1)
    pool = poller.parsing.pool(setup.runtime.matcher)  # the pool the poll uses (it matches too)
    assert pool is not None
    pool.submit(os.getpid).result()  # starts the worker
    for pid in list(pool._processes):  # what an OOM killer or a group-wide SIGTERM would do
        os.kill(pid, signal.SIGKILL)
    summary = asyncio.run(poller.poll_due())
    # Its body did not kill the worker: parsed again alone, in a new process, it stores as usual.
    assert summary.errors == 0 and summary.new_articles == 1
    assert parsed_in_the_service == []
    poller.close()
    setup.db.dispose()


def big_feed(server: FeedServer, name: str, megabytes: int) -> None:
    """A legitimate but large feed: one entry with megabytes of HTML paragraphs."""
    paragraph = b"<p>" + b"word " * 200 + b"</p>"
    text = paragraph * (megabytes * 1024 * 1024 // len(paragraph))
    server.routes[f"/{name}.xml"] = Route(
        b'<rss version="2.0"><channel><title>Big</title><item><title>big</title><link>http://e.org/big</link>'
        b"<description><![CDATA[" + text + b"]]></description></item></channel></rss>"
    )


@pytest.mark.parametrize(
    "limits",
    [
        # The big feed takes 0.2-0.5 s of CPU to parse on a fast machine (2026), the wire feed a few ms: limits
        # of 0.05 s stop the one and never the other, however fast or loaded the machine.
        pytest.param(ParseLimits(memory_headroom=1 << 30, cpu_seconds=600, kill_cpu_seconds=0.05), id="killed-on-cpu"),
        pytest.param(ParseLimits(memory_headroom=1 << 30, cpu_seconds=0.05), id="stopped-on-cpu"),
        pytest.param(ParseLimits(memory_headroom=48 << 20), id="out-of-memory"),
    ],
)
def test_a_body_past_the_parse_limits_is_a_parse_error_with_backoff_never_parsed_in_the_service(
    tmp_path: Path, database_url: str, server: FeedServer, parsed_in_the_service: list[str], limits: ParseLimits,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve(server, "wire", [("w1", WIRE_TITLE, " ".join(WIRE))])
    big_feed(server, "big", 6)  # tenths of a second of CPU and well over 48 MiB to parse; the wire feed takes milliseconds
    setup = Setup(tmp_path, database_url, server, {"wire": False, "big": False})
    poller = pooled(setup, 2, limits)
    summary = asyncio.run(poller.poll_due())
    assert summary.new_articles == 1, "the feed parsed beside it (maybe in the same pool) is stored"
    assert summary.error_kinds == {"parse_error": 1}
    now = poller.clock()
    with setup.db.sessions() as session:
        big = session.get(Feed, "big")
        assert big is not None
        assert (big.error_kind, big.error_message, big.consecutive_errors) == ("parse_error", PARSE_LIMIT_MESSAGE, 1)
        # The error backoff of one failure: 2 x interval, jittered down by up to half (monitor/fetch/schedule.py).
        interval = setup.runtime.config.feed_defaults.interval
        assert now + interval <= big.next_poll_at <= now + 2 * interval
    assert parsed_in_the_service == []
    # Next time, even in a batch too small for the pool, the same body goes to a process of its own.
    monkeypatch.setattr(pipeline, "POOL_MIN_FEEDS", 100)
    with setup.db.sessions() as session, session.begin():
        big = session.get(Feed, "big")
        assert big is not None
        big.next_poll_at = now
    summary = asyncio.run(poller.poll_due())
    assert summary.error_kinds == {"parse_error": 1} and parsed_in_the_service == []
    poller.close()
    setup.db.dispose()


def test_limits_let_ordinary_feeds_through_and_follow_fetch_max_bytes() -> None:
    assert ParseLimits.for_body_cap(15 * 1024 * 1024).memory_headroom == 1 << 30
    assert ParseLimits.for_body_cap(100 * 1024 * 1024).memory_headroom == 6400 * 1024 * 1024
    body = rss([("a1", WIRE_TITLE, " ".join(WIRE))]).replace(b"LINK", b"https://x.example")
    assert isinstance(parse_here_body(body), ParsedFeed)


def parse_here_body(body: bytes) -> ParsedFeed:
    prepared = prepare_feed(body, "https://x.example/feed", "application/rss+xml", None)
    assert isinstance(prepared, Prepared)
    return prepared.feed
