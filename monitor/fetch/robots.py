"""robots.txt for page fetches (sitemap articles): fetched once per host, cached with expiry and a bound.

Feeds themselves are not checked (a feed URL is one the operator chose to poll); the pages a sitemap
lists are, because the service then crawls a site's articles on its own. The rules follow RFC 9309:
a robots.txt that answers 4xx means no rules (everything allowed); one that cannot be fetched (5xx,
timeout, refused connection, blocked address) means everything is disallowed until it is fetched
again (ROBOTS_ERROR_TTL); only the first ROBOTS_MAX_BYTES are read. Parsing is the standard
library's urllib.robotparser (no new dependency), matched on the product token of fetch.user_agent.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from monitor.errors import FetchError, FetchHTTPError
from monitor.fetch.fetcher import Fetcher

__all__ = ["ROBOTS_ERROR_TTL", "ROBOTS_MAX_BYTES", "ROBOTS_MAX_HOSTS", "ROBOTS_TTL", "RobotsCache"]

ROBOTS_TTL = timedelta(hours=1)
"""How long a host's fetched robots.txt (or its 4xx: no rules) is used before it is fetched again."""
ROBOTS_ERROR_TTL = timedelta(minutes=10)
"""How long an unreachable robots.txt (everything disallowed) is kept before trying again."""
ROBOTS_MAX_HOSTS = 1024
"""Hosts whose rules are cached at most; the least recently used one is dropped beyond."""
ROBOTS_MAX_BYTES = 500 * 1024
"""Only this much of a robots.txt is parsed (RFC 9309 asks parsers to read at least 500 KiB)."""


@dataclass(frozen=True, slots=True)
class _Rules:
    parser: RobotFileParser | None  # None: everything allowed (no robots.txt)
    disallow_all: bool
    expires: datetime


class RobotsCache:
    """Whether a page may be fetched under its host's robots.txt; one per poller, shared by its ticks."""

    def __init__(self, clock: Callable[[], datetime], *, max_hosts: int = ROBOTS_MAX_HOSTS) -> None:
        self._clock = clock
        self._max_hosts = max_hosts
        self._hosts: OrderedDict[str, _Rules] = OrderedDict()
        # One fetch per host and fetcher at a time: the pages of one sitemap are checked concurrently. Not
        # shared across fetchers: the poll and push ticks each have one, and either may close its own
        # mid-fetch. Emptied as each fetch ends; a fetch no check awaits any more is cancelled (`_await`).
        self._pending: dict[tuple[str, Fetcher], asyncio.Task[_Rules]] = {}
        self._waiting: dict[asyncio.Task[_Rules], int] = {}  # checks awaiting each fetch

    def __len__(self) -> int:
        return len(self._hosts)

    async def allowed(self, fetcher: Fetcher, url: str, user_agent: str) -> bool:
        """True when `url` may be fetched by `user_agent` (its host's robots.txt fetched through `fetcher` if due)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        now = self._clock()
        rules = self._hosts.get(origin)
        if rules is None or rules.expires <= now:
            key = (origin, fetcher)
            task = self._pending.get(key)
            if task is None:
                task = self._pending[key] = asyncio.ensure_future(self._fetch_and_keep(fetcher, origin, now))
                # Also for a task cancelled before its first step; only its own entry.
                task.add_done_callback(lambda done: self._forget(key, done))
            rules = await self._await(key, task)
        if origin in self._hosts:
            self._hosts.move_to_end(origin)
        if rules.disallow_all:
            return False
        if rules.parser is None:
            return True
        # The product token: "monitor/0.1 (+https://...)" is matched as "monitor".
        token = user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"
        return rules.parser.can_fetch(token, url)

    async def _fetch_and_keep(self, fetcher: Fetcher, origin: str, now: datetime) -> _Rules:
        """Fetch a host's rules and cache them before the task ends.

        Cached here, not by the checks awaiting the task: those resume a turn or two of the event loop
        after it ends, and a check in between found neither the task nor the rules and fetched again.
        """
        try:
            rules = await self._fetch(fetcher, origin, now)
            self._hosts[origin] = rules
            self._hosts.move_to_end(origin)  # a host fetched again is the most recently used
            while len(self._hosts) > self._max_hosts:
                self._hosts.popitem(last=False)
            return rules
        finally:
            self._forget((origin, fetcher), asyncio.current_task())

    async def _await(self, key: tuple[str, Fetcher], task: asyncio.Task[_Rules]) -> _Rules:
        """The fetch's rules, shared by every check of the host; the last check cancelled cancels the fetch.

        Otherwise a fetch whose checks were all cancelled (a failed tick) would go on, fail as the tick
        closes its fetcher, and cache "everything disallowed" for ROBOTS_ERROR_TTL.
        """
        self._waiting[task] = self._waiting.get(task, 0) + 1
        try:
            return await asyncio.shield(task)
        finally:
            left = self._waiting.pop(task) - 1
            if left:
                self._waiting[task] = left
            elif not task.done():
                self._forget(key, task)  # first, so that no new check joins a fetch being cancelled
                task.cancel()

    def _forget(self, key: tuple[str, Fetcher], task: asyncio.Future[_Rules] | None) -> None:
        if self._pending.get(key) is task:
            del self._pending[key]

    async def _fetch(self, fetcher: Fetcher, origin: str, now: datetime) -> _Rules:
        try:
            fetched = await fetcher.fetch(f"{origin}/robots.txt")
        except FetchHTTPError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return _Rules(None, False, now + ROBOTS_TTL)  # no robots.txt: no rules
            return _Rules(None, True, now + ROBOTS_ERROR_TTL)
        except FetchError:
            return _Rules(None, True, now + ROBOTS_ERROR_TTL)  # unreachable: assume a complete disallow
        parser = RobotFileParser()
        text = (fetched.body or b"")[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
        parser.parse(text.splitlines())
        return _Rules(parser, False, now + ROBOTS_TTL)
