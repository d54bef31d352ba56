"""A local aiohttp feed server for the benchmarks, run in its own process: /feed/{i} with ETag/304."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web


def serve_feeds(port_out: Any, bodies: dict[int, bytes]) -> None:
    """Serve `bodies[i]` at /feed/{i} on a free port of 127.0.0.1 and put the port on `port_out`."""

    async def handler(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        etag = f'"f{i}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=bodies[i], content_type="application/rss+xml", headers={"ETag": etag})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{i}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        port_out.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())
