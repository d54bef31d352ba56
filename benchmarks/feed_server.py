"""A local aiohttp feed server for the benchmarks, run in its own process: /feed/{i} with ETag/304."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web


def serve_feeds(port_out: Any, bodies: dict[int, bytes], later: dict[int, bytes] | None = None) -> None:
    """Serve `bodies[i]` at /feed/{i} on a free port of 127.0.0.1 and put the port on `port_out`.

    With `later`, a GET of /next-edition switches every feed to `later[i]` (under a new ETag).
    """
    editions = [bodies, *([later] if later is not None else [])]
    edition = 0

    async def handler(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        etag = f'"f{i}"' if edition == 0 else f'"f{i}e{edition}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=editions[edition][i], content_type="application/rss+xml", headers={"ETag": etag})

    async def next_edition(request: web.Request) -> web.Response:
        nonlocal edition
        edition = min(edition + 1, len(editions) - 1)
        return web.Response(text=str(edition))

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{i}", handler)
        app.router.add_get("/next-edition", next_edition)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        port_out.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())
