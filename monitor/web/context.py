"""What the routes share: the application's WebContext (a FastAPI dependency) and rendering a page with it.

The application (app.py) builds the context and includes the routers; the routers import this module,
never app.py, so the web package has no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from monitor.clock import Clock, system_clock
from monitor.config.models import Config
from monitor.store.dashboard import Dashboard
from monitor.store.db import Database
from monitor.web.auth import CSRF_FIELD, AuthSettings, verify_csrf
from monitor.web.identity import current_user
from monitor.web.render import Renderer


@dataclass(frozen=True)
class WebContext:
    """What every route needs: the configuration, the database, the template renderer and the clock."""

    config: Config
    db: Database
    dashboard: Dashboard
    renderer: Renderer
    auth: AuthSettings
    clock: Clock = system_clock


def context(request: Request) -> WebContext:
    """The application's WebContext (a FastAPI dependency)."""
    return request.app.state.ctx  # type: ignore[no-any-return]


Ctx = Annotated[WebContext, Depends(context)]


async def csrf_form(request: Request) -> dict[str, str] | None:
    """The posted form when its CSRF token is valid and the request same-origin, else None (a FastAPI dependency).

    Read here, on the event loop, so that a route taking it can be a plain `def`: FastAPI runs those in
    its thread pool, where their database and file work (a writer holding SQLite's lock, a full check of
    the configuration) does not hold up every other request.
    """
    return await verify_csrf(request, context(request).auth)


CsrfForm = Annotated[dict[str, str] | None, Depends(csrf_form)]


def forged(request: Request, ctx: WebContext) -> HTMLResponse:
    """The 403 page for a form whose CSRF token or origin did not check out (`CsrfForm` is None)."""
    return page(request, ctx, "error.html", status_code=403, title="Form expired or forged",
                message="The form's security token did not match. Reload the page and try again.")


def page(request: Request, ctx: WebContext, template: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render a page with what every page needs (navigation, CSRF token, who is signed in and their role)."""
    html = ctx.renderer.render(
        template, request_path=request.url.path, csrf_field=CSRF_FIELD, csrf_token=request.state.csrf_token,
        auth_enabled=ctx.auth.enabled and bool(ctx.auth.token), now=ctx.clock(),
        user=getattr(request.state, "user", None) or _anyone(request), signed_in=bool(getattr(request.state, "signed_in", False)),
        timezone=ctx.config.settings.timezone, **values,
    )
    return HTMLResponse(html, status_code=status_code)


def _anyone(request: Request) -> object:
    # An open path (the login form) has nobody signed in: no role shows there, not the operator's.
    return None if hasattr(request.state, "user") else current_user(request)
