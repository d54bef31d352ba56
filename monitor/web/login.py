"""Signing in (a name and password for an account, or the token) and signing out.

An account's sign-in opens a session (monitor/web/sessions.py); a failure says only that the name or
the password is wrong, costs an argon2 verification even for an unknown name, and is throttled per
client address and per name.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.errors import MonitorError
from monitor.web.auth import TOKEN_COOKIE, safe_next, verify_csrf
from monitor.web.context import Ctx, WebContext, forged, page
from monitor.web.sessions import (
    SESSION_COOKIE,
    accounts_of,
    set_session_cookie,
    throttle_of,
)

router = APIRouter(include_in_schema=False)


def _form(request: Request, ctx: WebContext, *, next: str, error: str | None, status_code: int = 200,
          name: str = "") -> HTMLResponse:
    try:
        accounts_on = accounts_of(request).any()
    except MonitorError as exc:  # the token form still works without the database
        accounts_on, status_code = False, 503
        error = f"Accounts cannot be checked now: the database is unavailable ({exc}). Try again shortly."
    return page(request, ctx, "login.html", status_code=status_code, next=next, error=error, login_name=name,
                token_auth=bool(ctx.auth.token), accounts_on=accounts_on)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, ctx: Ctx, next: str = "/") -> HTMLResponse:
    """The sign-in form: name and password when accounts exist, the token when MONITOR_WEB_TOKEN is set."""
    return _form(request, ctx, next=safe_next(next), error=None)


@router.post("/login", response_model=None)
async def login(request: Request, ctx: Ctx) -> Response:
    """Check a name and password (opening a session) or the token (kept in a cookie)."""
    form = await verify_csrf(request, ctx.auth)
    if form is None:
        return await run_in_threadpool(_form, request, ctx, next="/", error="The form expired; please try again.",
                                       status_code=403)
    target = safe_next(form.get("next"))
    if "name" in form:
        return await _account_login(request, ctx, form.get("name", "").strip(), form.get("password", ""), target)
    token = form.get("token", "")
    if not ctx.auth.token or not ctx.auth.check_token(token):
        return await run_in_threadpool(_form, request, ctx, next=target, error="That token is not right.",
                                       status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    return response


async def _account_login(request: Request, ctx: WebContext, name: str, password: str, target: str) -> Response:
    accounts, throttle = accounts_of(request), throttle_of(request)
    keys = throttle.keys(request, name)
    if wait := throttle.wait(keys):
        minutes = math.ceil(wait / 60)
        return await run_in_threadpool(
            _form, request, ctx, next=target, name=name, status_code=429,
            error=f"Too many failed sign-ins; try again in {minutes} minute{'s' if minutes != 1 else ''}.")
    attempted = throttle.attempt(keys)  # before the first await: attempts sent at once see each other
    try:
        user = await run_in_threadpool(accounts.authenticate, name, password)
        token = await run_in_threadpool(accounts.start_session, user) if user else None
    except MonitorError as exc:
        throttle.forgive(keys, attempted)
        return await run_in_threadpool(_form, request, ctx, next=target, name=name, status_code=503,
                                       error=f"Sign-in is not possible now: the database is unavailable ({exc}). "
                                             "Try again shortly.")
    if user is None or token is None:
        return await run_in_threadpool(_form, request, ctx, next=target, name=name, status_code=401,
                                       error="That name and password do not match an account.")
    throttle.forgive(keys, attempted)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, token)
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request, ctx: Ctx) -> Response:
    """End the session (or forget the token cookie)."""
    if await verify_csrf(request, ctx.auth) is None:
        return forged(request, ctx)
    if token := request.cookies.get(SESSION_COOKIE):
        await run_in_threadpool(accounts_of(request).end_session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
