"""/admin/users: admins add accounts, change roles, disable, enable, reset passwords and remove accounts.

Only admins reach these routes (monitor/web/roles.py: every path under /admin). Each form carries the
CSRF token; the changes are monitor/usecases/accounts.py's, as `monitor users` makes them.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monitor.errors import AccountError
from monitor.model import ROLES
from monitor.usecases.accounts import MIN_PASSWORD
from monitor.web.auth import verify_csrf
from monitor.web.context import Ctx, WebContext, forged, page
from monitor.web.sessions import accounts_of

router = APIRouter(include_in_schema=False)

# What a finished change says on the page, by the code in the redirect (the page never echoes free text).
DONE = {
    "added": "Added {user}.", "role": "Changed the role of {user}.", "disabled": "Disabled {user}; signed out.",
    "enabled": "Enabled {user}.", "password": "Set a new password for {user}; signed out everywhere.",
    "removed": "Removed {user}.",
}


def _page(request: Request, ctx: WebContext, *, error: str = "", status_code: int = 200,
          form: dict[str, str] | None = None) -> HTMLResponse:
    done = DONE.get(request.query_params.get("done", ""), "")
    return page(request, ctx, "admin_users.html", status_code=status_code, users=accounts_of(request).list(),
                roles=ROLES, error=error, done=done.format(user=request.query_params.get("user", "")),
                form=form or {}, min_password=MIN_PASSWORD)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, ctx: Ctx) -> HTMLResponse:
    """The accounts, with a form to add one and each one's actions."""
    return _page(request, ctx)


async def _change(request: Request, ctx: WebContext, done: str, user: str,
                  change: Callable[[dict[str, str]], None]) -> Response:
    form = await verify_csrf(request, ctx.auth)
    if form is None:
        return forged(request, ctx)
    try:
        await run_in_threadpool(change, form)
    except AccountError as exc:
        message = str(exc)
        safe = {k: v for k, v in form.items() if k in ("name", "role")}  # never a password back into the page
        return await run_in_threadpool(lambda: _page(request, ctx, error=message, status_code=422, form=safe))
    return RedirectResponse(f"/admin/users?done={done}&user={quote(user or form.get('name', ''), safe='')}",
                            status_code=303)


@router.post("/admin/users", response_model=None)
async def add_user(request: Request, ctx: Ctx) -> Response:
    """Add an account with a name, a role and a first password."""
    accounts = accounts_of(request)

    def change(form: dict[str, str]) -> None:
        accounts.add(form.get("name", "").strip(), form.get("role", ""), form.get("password", ""))

    return await _change(request, ctx, "added", "", change)


@router.post("/admin/users/{name}/role", response_model=None)
async def set_role(request: Request, name: str, ctx: Ctx) -> Response:
    """Give an account another role (its open sessions have it from their next request)."""
    accounts = accounts_of(request)
    return await _change(request, ctx, "role", name, lambda f: accounts.set_role(name, f.get("role", "")))


@router.post("/admin/users/{name}/disable", response_model=None)
async def disable(request: Request, name: str, ctx: Ctx) -> Response:
    """Disable an account: it cannot sign in, and its sessions end."""
    accounts = accounts_of(request)
    return await _change(request, ctx, "disabled", name, lambda f: accounts.set_disabled(name, True))


@router.post("/admin/users/{name}/enable", response_model=None)
async def enable(request: Request, name: str, ctx: Ctx) -> Response:
    """Enable a disabled account again."""
    accounts = accounts_of(request)
    return await _change(request, ctx, "enabled", name, lambda f: accounts.set_disabled(name, False))


@router.post("/admin/users/{name}/password", response_model=None)
async def reset_password(request: Request, name: str, ctx: Ctx) -> Response:
    """Set a new password for an account (it is signed out everywhere)."""
    accounts = accounts_of(request)
    return await _change(request, ctx, "password", name, lambda f: accounts.set_password(name, f.get("password", "")))


@router.post("/admin/users/{name}/remove", response_model=None)
async def remove(request: Request, name: str, ctx: Ctx) -> Response:
    """Remove an account, once the confirmation box is ticked."""
    accounts = accounts_of(request)

    def change(form: dict[str, str]) -> None:
        if form.get("confirm") != "yes":
            raise AccountError(f"tick the confirmation box to remove {name!r}; nothing was changed")
        accounts.remove(name)

    return await _change(request, ctx, "removed", name, change)
