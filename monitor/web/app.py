"""The FastAPI application behind `monitor serve`: pages, JSON API, /healthz and /metrics."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from monitor import __version__
from monitor.clock import Clock, system_clock
from monitor.config.models import Config
from monitor.errors import MonitorError
from monitor.store.dashboard import Dashboard
from monitor.store.db import Database
from monitor.usecases.accounts import Accounts
from monitor.web import (
    admin_users,
    api,
    editor,
    entries,
    feedback,
    feeds_admin,
    inbox,
    inbox_api,
    login,
    metrics,
    output_feeds,
    pages,
    search,
    unsubscribe,
    watchlists,
    websub,
)
from monitor.web.auth import AuthSettings, check_bind, make_middleware, trusted_hosts
from monitor.web.context import WebContext, page
from monitor.web.render import STATIC, Renderer
from monitor.web.roles import RoleRefused, enforce_role
from monitor.web.sessions import LoginThrottle, SessionAuth

API_DESCRIPTION = (
    "Read-only JSON views of the monitor's feeds, articles, matches and deliveries, and ad-hoc queries over "
    "the stored archive. Lists are paginated with `limit` and `offset`; every list answer carries `total` and "
    "`next_offset` (null on the last page). When the dashboard is bound beyond loopback, send "
    "`Authorization: Bearer <MONITOR_WEB_TOKEN>` or basic-auth credentials."
)


def create_app(
    config: Config, db: Database | None = None, *, auth: AuthSettings | None = None, bind_host: str = "127.0.0.1",
    clock: Clock = system_clock, accounts: Accounts | None = None,
) -> FastAPI:
    """The application for a configuration; the database is migrated by whoever runs the service.

    It answers only requests whose `Host` names it (see `trusted_hosts`): loopback names, `bind_host`,
    base_url's host and `allowed_hosts`.
    """
    database = db or Database(config.settings.database)
    ctx = WebContext(
        config=config, db=database, dashboard=Dashboard(database, ZoneInfo(config.settings.timezone)),
        renderer=Renderer(config.settings.timezone, clock), auth=auth or AuthSettings(), clock=clock,
    )
    # No Swagger UI or ReDoc: they load scripts from a CDN, which the CSP (rightly) blocks.
    # enforce_role is a dependency of every route, so a route added later cannot forget the role check.
    app = FastAPI(
        title="monitor", version=__version__, description=API_DESCRIPTION, openapi_url="/openapi.json",
        docs_url=None, redoc_url=None, dependencies=[Depends(enforce_role)],
    )
    app.state.ctx = ctx
    app.state.accounts = accounts or Accounts(database, clock)
    app.state.login_throttle = LoginThrottle()
    app.add_exception_handler(RoleRefused, _role_refused)
    app.middleware("http")(make_middleware(ctx.auth, SessionAuth(app.state.accounts)))
    # Added last, so outermost: a request for another site's name is refused before anything else runs.
    settings = config.settings
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=trusted_hosts(bind_host, settings.base_url, settings.allowed_hosts),
        www_redirect=False,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(inbox.router)
    app.include_router(entries.router)
    app.include_router(login.router)
    app.include_router(api.router)
    app.include_router(inbox_api.router)
    app.include_router(search.router)
    app.include_router(search.api_router)
    app.include_router(metrics.router)
    app.include_router(unsubscribe.router)
    app.include_router(watchlists.router)
    app.include_router(editor.router)
    app.include_router(feedback.router)
    app.include_router(output_feeds.router)  # before feeds_admin: /feeds/<token>.atom is not an admin page
    app.include_router(feeds_admin.router)
    app.include_router(admin_users.router)
    app.include_router(websub.router)
    metrics.register(app, ctx)
    return app


def _role_refused(request: Request, exc: Exception) -> Response:
    """403 saying which role the route needs (401 when nobody is signed in): a page for browsers, else JSON."""
    assert isinstance(exc, RoleRefused)
    status = 401 if exc.user is None else 403
    who = f"signed in as {exc.user.name} ({exc.user.role})" if exc.user else "not signed in"
    message = f"This needs the {exc.needed} role and you are {who}. Ask an admin if you need it."
    api = request.url.path.startswith(("/api/", "/metrics", "/openapi.json"))
    if api or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": message}, status_code=status)
    return page(request, request.app.state.ctx, "error.html", status_code=status, title="Not allowed",
                message=message)


def serve(config: Config, config_dir: Path, *, host: str = "127.0.0.1", port: int = 8080,
          env: Mapping[str, str] | None = None) -> None:
    """Run the dashboard with uvicorn; refuse a non-loopback bind without credentials."""
    import uvicorn

    from monitor.errors import NoDatabase
    from monitor.store.migrate import open_existing

    try:
        auth = AuthSettings.from_env(os.environ if env is None else env)
        db = open_existing(config.settings.database)
        check_bind(host, auth, accounts=Accounts(db).any())
    except NoDatabase as exc:
        raise SystemExit(f"monitor serve: {exc.advice(config_dir)}") from None
    except MonitorError as exc:
        # SystemExit with a message: printed on stderr, exit status 1, no traceback.
        raise SystemExit(f"monitor serve: {exc}") from None
    app = create_app(config, db, auth=auth, bind_host=host)
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False, server_header=False)
