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
from monitor.web.auth import CSRF_FIELD, AuthSettings
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


def page(request: Request, ctx: WebContext, template: str, *, status_code: int = 200, **values: Any) -> HTMLResponse:
    """Render a page with what every page needs (navigation, CSRF token, login state)."""
    html = ctx.renderer.render(
        template, request_path=request.url.path, csrf_field=CSRF_FIELD, csrf_token=request.state.csrf_token,
        auth_enabled=ctx.auth.enabled and bool(ctx.auth.token), now=ctx.clock(),
        timezone=ctx.config.settings.timezone, **values,
    )
    return HTMLResponse(html, status_code=status_code)
