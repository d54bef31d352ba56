"""The FastAPI application behind `monitor serve`: pages, JSON API, /healthz and /metrics."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from monitor import __version__
from monitor.clock import Clock, system_clock
from monitor.config.models import Config
from monitor.errors import MonitorError
from monitor.store.dashboard import Dashboard
from monitor.store.db import Database
from monitor.web import (
    api,
    editor,
    entries,
    feedback,
    feeds_admin,
    login,
    metrics,
    pages,
    search,
    unsubscribe,
    watchlists,
)
from monitor.web.auth import AuthSettings, check_bind, make_middleware, trusted_hosts
from monitor.web.context import WebContext
from monitor.web.render import STATIC, Renderer

API_DESCRIPTION = (
    "Read-only JSON views of the monitor's feeds, articles, matches and deliveries, and ad-hoc queries over "
    "the stored archive. Lists are paginated with `limit` and `offset`; every list answer carries `total` and "
    "`next_offset` (null on the last page). When the dashboard is bound beyond loopback, send "
    "`Authorization: Bearer <MONITOR_WEB_TOKEN>` or basic-auth credentials."
)


def create_app(
    config: Config, db: Database | None = None, *, auth: AuthSettings | None = None, bind_host: str = "127.0.0.1",
    clock: Clock = system_clock,
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
    app = FastAPI(
        title="monitor", version=__version__, description=API_DESCRIPTION, openapi_url="/openapi.json",
        docs_url=None, redoc_url=None,
    )
    app.state.ctx = ctx
    app.middleware("http")(make_middleware(ctx.auth))
    # Added last, so outermost: a request for another site's name is refused before anything else runs.
    settings = config.settings
    app.add_middleware(
        TrustedHostMiddleware, allowed_hosts=trusted_hosts(bind_host, settings.base_url, settings.allowed_hosts),
        www_redirect=False,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(entries.router)
    app.include_router(login.router)
    app.include_router(api.router)
    app.include_router(search.router)
    app.include_router(search.api_router)
    app.include_router(metrics.router)
    app.include_router(unsubscribe.router)
    app.include_router(watchlists.router)
    app.include_router(editor.router)
    app.include_router(feedback.router)
    app.include_router(feeds_admin.router)
    metrics.register(app, ctx)
    return app


def serve(config: Config, config_dir: Path, *, host: str = "127.0.0.1", port: int = 8080,
          env: Mapping[str, str] | None = None) -> None:
    """Run the dashboard with uvicorn; refuse a non-loopback bind without credentials."""
    import uvicorn

    from monitor.errors import NoDatabase
    from monitor.store.migrate import open_existing

    try:
        auth = AuthSettings.from_env(os.environ if env is None else env)
        check_bind(host, auth)
        db = open_existing(config.settings.database)
    except NoDatabase as exc:
        raise SystemExit(f"monitor serve: {exc.advice(config_dir)}") from None
    except MonitorError as exc:
        # SystemExit with a message: printed on stderr, exit status 1, no traceback.
        raise SystemExit(f"monitor serve: {exc}") from None
    app = create_app(config, db, auth=auth, bind_host=host)
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False, server_header=False)
