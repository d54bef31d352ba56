"""The routes of the fetch tests' HTTP server, and the bodies they serve."""

from __future__ import annotations

import asyncio
import functools
import zlib
from collections.abc import Callable
from typing import Any

import brotli
from aiohttp import web

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>one</title><link>http://example.org/1</link></item></channel></rss>"""
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 May 2024 10:00:00 GMT"
RETRY_DATE = "Wed, 21 Oct 2099 07:28:00 GMT"


@functools.cache
def gzip_bomb() -> bytes:
    """1 GiB of zeros gzip-compressed (~1 MB); built once, in 1 MiB steps so building stays cheap."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    zeros = bytes(1 << 20)
    parts = [comp.compress(zeros) for _ in range(1024)]
    parts.append(comp.flush())
    return b"".join(parts)


def _redirect(status: int, location: str) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


async def feed(request: web.Request) -> web.Response:
    if request.headers.get("If-None-Match") == ETAG or request.headers.get("If-Modified-Since") == LAST_MODIFIED:
        return web.Response(status=304, headers={"ETag": ETAG})
    return web.Response(
        body=FEED,
        content_type="application/rss+xml",
        headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED, "Cache-Control": "public, max-age=300"},
    )


async def lm_only(request: web.Request) -> web.Response:
    if request.headers.get("If-Modified-Since") == LAST_MODIFIED:
        return web.Response(status=304)  # no validators repeated: the fetcher keeps the ones it sent
    return web.Response(body=FEED, headers={"Last-Modified": LAST_MODIFIED})


async def headers_echo(request: web.Request) -> web.Response:
    return web.json_response(dict(request.headers))


async def brotli_feed(request: web.Request) -> web.Response:
    return web.Response(body=brotli.compress(FEED), headers={"Content-Encoding": "br"})


async def slow_drip(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for _ in range(120):  # bounded so a broken client cannot keep the server busy forever
        await resp.write(b"<")
        await asyncio.sleep(0.5)
    return resp


async def endless(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    chunk = b"x" * 65536
    for _ in range(1 << 15):  # 2 GiB at most
        await resp.write(chunk)
    return resp


async def bomb(request: web.Request) -> web.Response:
    return web.Response(
        body=gzip_bomb(), headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}
    )


async def big(request: web.Request) -> web.Response:
    return web.Response(body=b"x" * (2 << 20))


async def chain(request: web.Request) -> web.Response:
    n = int(request.match_info["n"])
    return _redirect(302, f"/chain/{n - 1}") if n > 0 else web.Response(body=FEED)


def _fixed(status: int, headers: dict[str, str] | None = None) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers=headers or {}, text="error page")

    return handler


def _to(status: int, location: str) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.Response:
        return _redirect(status, location.format(port=request.url.port))

    return handler


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/feed", feed)
    app.router.add_get("/lm-only", lm_only)
    app.router.add_get("/headers", headers_echo)
    app.router.add_get("/brotli", brotli_feed)
    app.router.add_get("/slow", slow_drip)
    app.router.add_get("/endless", endless)
    app.router.add_get("/bomb", bomb)
    app.router.add_get("/big", big)
    app.router.add_get("/chain/{n}", chain)
    app.router.add_get("/gone", _fixed(410))
    app.router.add_get("/missing", _fixed(404))
    app.router.add_get("/error", _fixed(500))
    app.router.add_get("/ratelimited", _fixed(429, {"Retry-After": "120"}))
    app.router.add_get("/ratelimited-date", _fixed(429, {"Retry-After": RETRY_DATE}))
    app.router.add_get("/unavailable", _fixed(503, {"Retry-After": "30"}))
    app.router.add_get("/unavailable-plain", _fixed(503))
    app.router.add_get("/r301", _to(301, "/feed"))
    app.router.add_get("/r308", _to(308, "/feed"))
    app.router.add_get("/r302", _to(302, "/feed"))
    app.router.add_get("/r301-relative/deeper", _to(301, "../feed"))
    app.router.add_get("/r301-to-r302", _to(301, "/r302"))
    app.router.add_get("/r302-to-r301", _to(302, "/r301"))
    app.router.add_get("/loop-a", _to(302, "/loop-b"))
    app.router.add_get("/loop-b", _to(302, "/loop-a"))
    app.router.add_get("/no-location", _fixed(302))
    app.router.add_get("/to-metadata", _to(302, "http://169.254.169.254/latest/meta-data/"))
    app.router.add_get("/to-localhost", _to(301, "http://localhost:{port}/feed"))
    app.router.add_get("/to-file", _to(302, "file:///etc/passwd"))
    # Malformed Locations (issue 13.7): each once raised a raw ValueError, recorded as `internal`.
    app.router.add_get("/to-bad-port", _to(302, "http://127.0.0.1:99999/feed"))
    app.router.add_get("/to-bad-ipv6", _to(301, "http://[::1/"))
    app.router.add_get("/to-backslash", _to(302, "http://127.0.0.1\\@evil.example/feed"))
    app.router.add_get("/to-no-host", _to(307, "http://:{port}/feed"))
    return app


