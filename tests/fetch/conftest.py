"""A real HTTP server on 127.0.0.1 (aiohttp.web in a thread) with routes the fetch tests control."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web

from monitor.config.models import FetchSettings
from monitor.fetch import Fetcher, FetchResult

from .server_app import make_app


@dataclass
class Server:
    base: str

    def url(self, path: str) -> str:
        """Absolute URL of `path` on the test server."""
        return self.base + path


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """Run the test app on 127.0.0.1 in its own thread and event loop for the whole session."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        runner = web.AppRunner(make_app(), shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"] = runner
        holder["port"] = runner.addresses[0][1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True, name="fetch-test-server")
    thread.start()
    assert started.wait(10), "test server did not start"
    yield Server(f"http://127.0.0.1:{holder['port']}")
    asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _settings(**overrides: Any) -> FetchSettings:
    values: dict[str, Any] = {"allow_private_networks": True, "timeout": "10s"}
    values.update(overrides)
    return FetchSettings(**values)


@pytest.fixture
def make_settings() -> Callable[..., FetchSettings]:
    """FetchSettings for tests: private networks allowed (the server is on loopback) unless overridden."""
    return _settings


@pytest.fixture
def fetch_once() -> Callable[..., FetchResult]:
    """Fetch one URL with a fresh Fetcher: fetch_once(url, settings=..., fetcher_kw=..., **fetch_kw)."""

    def run(
        url: str,
        *,
        settings_: FetchSettings | None = None,
        fetcher_kw: dict[str, Any] | None = None,
        **fetch_kw: Any,
    ) -> FetchResult:
        async def go() -> FetchResult:
            async with Fetcher(settings_ or _settings(), **(fetcher_kw or {})) as fetcher:
                return await fetcher.fetch(url, **fetch_kw)

        return asyncio.run(go())

    return run
