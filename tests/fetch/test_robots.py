"""robots.txt for page fetches: rules per host, RFC 9309's error handling, expiry and the bound on hosts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from monitor.config.models import FetchSettings
from monitor.fetch import Fetcher, FetchResult
from monitor.fetch.robots import ROBOTS_ERROR_TTL, ROBOTS_TTL, RobotsCache
from tests.support.feedserver import FeedServer, Route, running_feed_server

UA = "monitor/0.1 (+https://example.org/bot)"
START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_feed_server() as running:
        yield running


def check(cache: RobotsCache, urls: list[str]) -> list[bool]:
    async def run() -> list[bool]:
        async with Fetcher(FetchSettings(allow_private_networks=True)) as fetcher:
            return list(await asyncio.gather(*(cache.allowed(fetcher, url, UA) for url in urls)))

    return asyncio.run(run())


def test_rules_for_our_product_token(server: FeedServer) -> None:
    server.routes["/robots.txt"] = Route(
        b"User-agent: *\nDisallow: /all/\n\nUser-agent: monitor\nDisallow: /private/\n", content_type="text/plain"
    )
    cache = RobotsCache(Clock())
    allowed = check(cache, [server.url("/private/a"), server.url("/public/b"), server.url("/all/c")])
    assert allowed == [False, True, True]  # our group replaces the * group
    assert server.hits("/robots.txt") == [200], "one fetch for concurrent checks of one host"


def test_missing_robots_allows_and_unreachable_disallows(server: FeedServer) -> None:
    cache = RobotsCache(Clock())
    assert check(cache, [server.url("/a")]) == [True]  # 404: no rules
    server.routes["/robots.txt"] = Route(b"down", status=503, content_type="text/plain")
    other = RobotsCache(Clock())
    assert check(other, [server.url("/a")]) == [False]  # 5xx: a complete disallow
    closed = RobotsCache(Clock())
    assert check(closed, ["http://127.0.0.1:9/a"]) == [False]  # connection refused


def test_rules_expire_and_are_fetched_again(server: FeedServer) -> None:
    server.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /\n", content_type="text/plain", conditional=False)
    clock = Clock()
    cache = RobotsCache(clock)
    assert check(cache, [server.url("/a")]) == [False]
    server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", content_type="text/plain", conditional=False)
    clock.now = START + ROBOTS_TTL - timedelta(seconds=1)
    assert check(cache, [server.url("/a")]) == [False], "still cached"
    clock.now = START + ROBOTS_TTL
    assert check(cache, [server.url("/a")]) == [True]
    assert server.hits("/robots.txt") == [200, 200]


def test_an_unreachable_robots_is_retried_sooner(server: FeedServer) -> None:
    server.routes["/robots.txt"] = Route(b"down", status=500, content_type="text/plain")
    clock = Clock()
    cache = RobotsCache(clock)
    assert check(cache, [server.url("/a")]) == [False]
    del server.routes["/robots.txt"]
    clock.now = START + ROBOTS_ERROR_TTL
    assert check(cache, [server.url("/a")]) == [True]


def test_the_cache_is_bounded() -> None:
    cache = RobotsCache(Clock(), max_hosts=3)
    # Unreachable hosts (a closed port on each of several loopback addresses) fill the cache too.
    check(cache, [f"http://127.0.0.{n}:9/a" for n in range(1, 8)])
    assert len(cache) == 3


def test_a_check_as_the_fetch_ends_uses_its_rules(server: FeedServer) -> None:
    """No gap between a robots.txt fetch ending and its rules being cached (two sitemaps of one host raced in it)."""
    server.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    cache = RobotsCache(Clock())

    async def run() -> list[bool]:
        checks: list[asyncio.Future[bool]] = []
        async with Fetcher(FetchSettings(allow_private_networks=True)) as fetcher:

            class CheckingAsItEnds:
                """The real fetcher; as robots.txt's fetch returns, another page of the host is checked."""

                async def fetch(self, url: str) -> FetchResult:
                    result = await fetcher.fetch(url)
                    asyncio.get_running_loop().call_soon(
                        lambda: checks.append(asyncio.ensure_future(cache.allowed(fetcher, server.url("/public/b"), UA)))
                    )
                    return result

            first = await cache.allowed(cast(Fetcher, CheckingAsItEnds()), server.url("/private/a"), UA)
            return [first, *await asyncio.gather(*checks)]

    assert asyncio.run(run()) == [False, True]
    assert server.hits("/robots.txt") == [200], "fetched once; the later check used its rules"


@asynccontextmanager
async def first_connection_held(robots: bytes) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A raw HTTP server on 127.0.0.1: the first connection is held unanswered, later ones get `robots` (200).

    Yields its base URL and an event set once the first connection is held.
    """
    held_first = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not held:
            held.append(writer)
            held_first.set()
            return
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(robots), robots))
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}", held_first
    finally:
        for writer in held:
            writer.close()
        listener.close()
        await listener.wait_closed()


def test_a_fetch_no_check_awaits_is_cancelled_and_caches_nothing() -> None:
    """A tick's checks cancelled mid-fetch (a failed tick): the fetch stops; its failure as the fetcher closes is not cached."""
    cache = RobotsCache(Clock())

    async def run() -> tuple[int, bool]:
        async with first_connection_held(b"User-agent: *\nAllow: /\n") as (base, held_first):
            async with Fetcher(FetchSettings(allow_private_networks=True)) as fetcher:
                checks = [asyncio.ensure_future(cache.allowed(fetcher, f"{base}/p{n}", UA)) for n in range(2)]
                await asyncio.wait_for(held_first.wait(), 30)
                for check in checks:
                    check.cancel()
                await asyncio.gather(*checks, return_exceptions=True)
            await asyncio.sleep(0.05)  # whatever the fetch would do after the fetcher closed
        return len(cache), all(check.cancelled() for check in checks)

    assert asyncio.run(run()) == (0, True)


def test_a_tick_closing_its_fetcher_does_not_fail_another_ticks_check() -> None:
    """The poll and push ticks share the cache, each with its own fetcher: neither joins the other's fetch."""
    cache = RobotsCache(Clock())

    async def run() -> tuple[bool, int]:
        async with first_connection_held(b"User-agent: *\nDisallow: /private/\n") as (base, held_first):
            settings = FetchSettings(allow_private_networks=True)
            async with Fetcher(settings) as push_fetcher:
                async with Fetcher(settings) as poll_fetcher:
                    poll_check = asyncio.ensure_future(cache.allowed(poll_fetcher, f"{base}/public/a", UA))
                    await asyncio.wait_for(held_first.wait(), 30)
                    push_check = asyncio.ensure_future(cache.allowed(push_fetcher, f"{base}/public/b", UA))
                    await asyncio.sleep(0.05)
                    poll_check.cancel()  # the poll tick fails: its checks are cancelled, its fetcher closed
                    await asyncio.gather(poll_check, return_exceptions=True)
                allowed = await asyncio.wait_for(push_check, 30)
        return allowed, len(cache)

    assert asyncio.run(run()) == (True, 1), "the push tick's own fetch answered; its rules are cached"
