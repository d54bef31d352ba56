"""Output feeds: `/feeds/<token>.atom` and `/feeds/<token>.json` (README, "Output feeds").

The token is the whole authorisation, as for unsubscribe links: these two paths are open without the
dashboard's sign-in (monitor/web/auth.py, OPEN_PATHS) so that any feed reader can poll them, and a
wrong token gets the same 404 as a path that does not exist.
"""

from __future__ import annotations

import hashlib
import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from monitor.store.subscriptions import existing_secret
from monitor.usecases.output_feeds import (
    OUTPUT_FEEDS_SECRET,
    feed_articles,
    find_feed,
    render_atom,
    render_json_feed,
)
from monitor.web.context import Ctx

log = logging.getLogger("monitor.web")
router = APIRouter(include_in_schema=False)

_HEADERS = {"X-Robots-Tag": "noindex, nofollow"}


def _not_found() -> Response:
    return Response("No such feed.\n", status_code=404, media_type="text/plain", headers=_HEADERS)


def _feed(request: Request, ctx: Ctx, token: str, extension: str) -> Response:
    secret = existing_secret(ctx.db, OUTPUT_FEEDS_SECRET)  # none yet: no feed URL was ever shown
    feed = find_feed(ctx.config, secret, token) if secret is not None and len(token) == 32 else None
    if feed is None:
        log.info("output_feed_refused reason=unknown_token format=%s", extension)
        return _not_found()
    articles = feed_articles(ctx.db, feed)
    if extension == "atom":
        body, media_type = render_atom(feed, articles, ctx.config, ctx.clock()), "application/atom+xml; charset=utf-8"
    else:
        body, media_type = render_json_feed(feed, articles, ctx.config), "application/feed+json; charset=utf-8"
    # Feed readers poll often: an unchanged feed is a 304 on their If-None-Match (the body is rebuilt, not sent).
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {**_HEADERS, "ETag": etag}
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/feeds/{token}.atom")
def atom(request: Request, token: str, ctx: Ctx) -> Response:
    """A watchlist's or a subscriber's matches as Atom."""
    return _feed(request, ctx, token, "atom")


@router.get("/feeds/{token}.json")
def json_feed(request: Request, token: str, ctx: Ctx) -> Response:
    """The same as JSON Feed 1.1."""
    return _feed(request, ctx, token, "json")
