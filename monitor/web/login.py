"""Signing in with the token (a cookie for browsers) and signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.web.auth import TOKEN_COOKIE, safe_next, verify_csrf
from monitor.web.context import Ctx, page

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, ctx: Ctx, next: str = "/") -> HTMLResponse:
    """The token form (only shown when MONITOR_WEB_TOKEN is set)."""
    return page(request, ctx, "login.html", next=safe_next(next), error=None, token_auth=bool(ctx.auth.token))


@router.post("/login", response_model=None)
async def login(request: Request, ctx: Ctx) -> Response:
    """Check the token and keep it in an HttpOnly, SameSite=Strict cookie."""
    form = await verify_csrf(request, ctx.auth)
    if form is None:
        return page(request, ctx, "login.html", status_code=403, next="/", token_auth=bool(ctx.auth.token),
                    error="The form expired; please try again.")
    target = safe_next(form.get("next"))
    token = form.get("token", "")
    if not ctx.auth.token or not ctx.auth.check_token(token):
        return page(request, ctx, "login.html", status_code=401, next=target, token_auth=bool(ctx.auth.token),
                    error="That token is not right.")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request, ctx: Ctx) -> Response:
    """Forget the token cookie."""
    if await verify_csrf(request, ctx.auth) is None:
        return page(request, ctx, "error.html", status_code=403, title="Form expired or forged",
                    message="The form's security token did not match. Reload the page and try again.")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response
