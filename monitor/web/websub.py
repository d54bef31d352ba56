"""The WebSub callback, `<base_url>/websub/<token>`: hubs verify our intent (GET) and deliver content (POST).

Hubs carry no dashboard credentials: the path is open (monitor/web/auth.py, OPEN_PREFIXES). The
unguessable token names the subscription, and every delivery must carry an X-Hub-Signature made with
that subscription's secret. Following the W3C Recommendation:

- GET with hub.mode=subscribe|unsubscribe: the challenge is echoed (as application/octet-stream,
  nosniff) only for the request we sent and still wait on, for that very topic; else 404;
- GET with hub.mode=denied: the subscription is marked denied and its feed polled normally again
  (unless another of its hubs still pushes);
- POST: 410 Gone for an unknown or ended subscription (the hub may drop it); a missing, malformed or
  wrong signature is ignored and logged (`websub_push_rejected`) but answered 202, as 7.1.2 allows
  (no oracle for brute-forcing the signature); a verified body is stored for the service, whose push
  tick refreshes the feed with it at once (monitor/refresh/poller.py `refresh_pushed`).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from monitor.fetch.websub import challenge_ok, signature_problem
from monitor.store.websub import confirm_intent, record_denied, record_push, record_rejected, subscription
from monitor.web.context import Ctx

log = logging.getLogger("monitor.websub")
router = APIRouter(include_in_schema=False)


def _plain(status: int, text: str = "") -> Response:
    return Response(text, status_code=status, media_type="text/plain; charset=utf-8")


@router.get("/websub/{token}")
def verify_intent(request: Request, token: str, ctx: Ctx) -> Response:
    """A hub's verification of intent (or notice of denial) for the subscription of `token`."""
    params = request.query_params
    mode, topic = params.get("hub.mode", ""), params.get("hub.topic", "")
    now = ctx.clock()
    if mode == "denied":
        if record_denied(ctx.db, token, topic=topic, reason=params.get("hub.reason", ""), now=now,
                         quiet_after=ctx.config.settings.websub.quiet_after):
            log.warning("websub_denied topic=%s reason=%r", topic, params.get("hub.reason", "")[:300])
            return _plain(200)
        return _plain(404)
    if mode not in ("subscribe", "unsubscribe"):
        return _plain(404)
    challenge = params.get("hub.challenge")
    if not challenge_ok(challenge):
        log.warning("websub_verification_refused mode=%s topic=%s reason=bad_challenge", mode, topic[:300])
        return _plain(404)
    lease = params.get("hub.lease_seconds", "")
    lease_seconds = int(lease) if lease.isdigit() and len(lease) < 10 else None
    confirmed = confirm_intent(ctx.db, token, mode=mode, topic=topic, lease_seconds=lease_seconds, now=now,
                               quiet_after=ctx.config.settings.websub.quiet_after)
    if not confirmed:
        log.warning("websub_verification_refused mode=%s topic=%s reason=not_pending", mode, topic[:300])
        return _plain(404)
    sub = subscription(ctx.db, token)
    log.info("websub_verified feed_id=%s mode=%s topic=%s lease_seconds=%s", sub.feed_id if sub else "",
             mode, topic, lease_seconds)
    # The challenge only, in a type no browser renders (WebSub 8.2; nosniff is on every response).
    return Response(challenge, status_code=200, media_type="application/octet-stream")


@router.post("/websub/{token}")
async def content_distribution(request: Request, token: str, ctx: Ctx) -> Response:
    """A hub's content distribution: stored for the service when its signature verifies, ignored otherwise."""
    sub = await run_in_threadpool(subscription, ctx.db, token)
    if sub is None or sub.state == "ended":
        log.info("websub_push_unknown reason=%s", "ended" if sub else "no_subscription")
        return _plain(410)
    limit = ctx.config.settings.fetch.max_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            log.warning("websub_push_rejected feed_id=%s reason=too_large limit=%d", sub.feed_id, limit)
            return _plain(413)
    problem = signature_problem(request.headers.get("x-hub-signature"), bytes(body), sub.secret)
    if problem is not None:
        log.warning("websub_push_rejected feed_id=%s reason=%s bytes=%d", sub.feed_id, problem, len(body))
        await run_in_threadpool(record_rejected, ctx.db, sub.id, problem)
        return _plain(202)
    await run_in_threadpool(record_push, ctx.db, sub.id, bytes(body), request.headers.get("content-type"),
                            ctx.clock(), ctx.config.settings.websub.quiet_after)
    log.info("websub_push_received feed_id=%s bytes=%d", sub.feed_id, len(body))
    return _plain(202)
