"""Unsubscribe links: a confirm page on GET (no change), the opt-out on POST (RFC 8058 one-click).

The signed token in the path is the whole authorisation: the one-click POST comes from a mail
provider, with neither our CSRF cookie nor dashboard credentials, so these paths are open
(monitor/web/auth.py, OPEN_PREFIXES) and a wrong token changes nothing.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from monitor.config.models import SubscriberConfig
from monitor.notify.unsubscribe import token_valid
from monitor.store.subscriptions import UNSUBSCRIBE_SECRET, Subscriptions, existing_secret
from monitor.web.context import Ctx, WebContext

log = logging.getLogger("monitor.web")
router = APIRouter(include_in_schema=False)

INVALID = (
    "This unsubscribe link is not valid: it may have been changed or cut short, or the subscription no longer "
    "exists. Nothing was changed."
)
INCOMPLETE = (
    "This unsubscribe link is incomplete: it lacks the code that proves it came from one of our emails. "
    "Use the link in a recent email. Nothing was changed."
)


def _render(ctx: WebContext, status_code: int, **values: object) -> HTMLResponse:
    html = ctx.renderer.render("unsubscribe.html", **values)
    # Never cached: the page shows an address and the state of its subscription.
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def _verified(ctx: WebContext, subscriber_id: str, token: str) -> SubscriberConfig | None:
    """The email subscriber the link was made for, or None when the token does not verify."""
    subscriber = next((s for s in ctx.config.subscribers if s.id == subscriber_id), None)
    if subscriber is None or not subscriber.email:
        return None
    secret = existing_secret(ctx.db, UNSUBSCRIBE_SECRET)  # none yet: no link was ever sent
    if secret is None or not token_valid(secret, subscriber.id, subscriber.email, token):
        return None
    return subscriber


def _invalid(ctx: WebContext, subscriber_id: str, method: str) -> HTMLResponse:
    log.warning("unsubscribe_refused subscriber_id=%r method=%s reason=invalid_token", subscriber_id[:200], method)
    return _render(ctx, 403, state="invalid", title="Link not valid", message=INVALID)


@router.get("/unsubscribe/{subscriber_id}/{token}", response_class=HTMLResponse)
def confirm(request: Request, subscriber_id: str, token: str, ctx: Ctx) -> HTMLResponse:
    """The confirm page: mail scanners follow links, so a GET never unsubscribes anyone."""
    subscriber = _verified(ctx, subscriber_id, token)
    if subscriber is None:
        return _invalid(ctx, subscriber_id, "GET")
    opt_out = Subscriptions(ctx.db).opt_out(subscriber.id)
    if opt_out is not None:
        return _render(ctx, 200, state="done", title="You are unsubscribed", address=subscriber.email,
                       since=ctx.renderer.when(opt_out.at))
    return _render(ctx, 200, state="confirm", title="Unsubscribe", address=subscriber.email,
                   action=request.url.path)


@router.post("/unsubscribe/{subscriber_id}/{token}", response_class=HTMLResponse)
def unsubscribe(subscriber_id: str, token: str, ctx: Ctx) -> HTMLResponse:
    """Opt out (the confirm button, or a mail provider's one-click POST); answered directly, no redirect."""
    subscriber = _verified(ctx, subscriber_id, token)
    if subscriber is None:
        return _invalid(ctx, subscriber_id, "POST")
    done = Subscriptions(ctx.db).unsubscribe(subscriber.id, subscriber.email, ctx.clock(),
                                             channel=subscriber.channel)
    if not done.already:
        log.info(
            "subscriber_unsubscribed subscriber_id=%s cancelled_deliveries=%d cancelled_items=%d",
            subscriber.id, done.cancelled_deliveries, done.cancelled_items,
        )
    return _render(ctx, 200, state="done", title="You are unsubscribed", address=subscriber.email,
                   since=ctx.renderer.when(done.opt_out.at))


@router.api_route("/unsubscribe/{subscriber_id}", methods=["GET", "POST"], response_class=HTMLResponse)
def incomplete(subscriber_id: str, ctx: Ctx) -> HTMLResponse:
    """A link without its token (as in emails sent before links were signed): refused, clearly."""
    return _render(ctx, 404, state="invalid", title="Link incomplete", message=INCOMPLETE)
