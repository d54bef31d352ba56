"""The dashboard under a real uvicorn server on 127.0.0.1, in a thread, for tests that speak HTTP to it."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from monitor.config.models import Config
from monitor.store.db import Database
from monitor.web.app import create_app
from monitor.web.auth import AuthSettings


def free_port() -> int:
    """A port of 127.0.0.1 free right now (to name it in a configuration before serving on it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: FastAPI, *, port: int | None = None) -> Iterator[str]:
    """Serve `app` under uvicorn for the block (on `port`, else a free one); yields its base URL."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # a hang guard, not a speed bound
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def running_dashboard(
    config: Config, db: Database, auth: AuthSettings | None = None, *, port: int | None = None
) -> Iterator[str]:
    """Serve the app for the block (on `port`, else a free one); yields its base URL (http://127.0.0.1:PORT)."""
    with serving(create_app(config, db, auth=auth), port=port) as base_url:
        yield base_url


def copy_database(config: Config, database_url: str, directory: Path) -> Config:
    """Copy the SQLite database at `database_url` into `directory`; `config` with its database set to the copy."""
    target = directory / "monitor.db"
    shutil.copy(database_url.removeprefix("sqlite:///"), target)
    settings = config.settings.model_copy(update={"database": f"sqlite:///{target}"})
    return config.model_copy(update={"settings": settings})


@contextmanager
def dashboard_on_copy(config: Config, database_url: str, directory: Path, **app: Any) -> Iterator[tuple[str, Config]]:
    """Serve the app (create_app's keyword options `app`) on a copy of a SQLite database made in `directory`.

    Yields the base URL and the configuration naming the copy, so a test may change state without touching
    the template (seeded once per session) or other tests' copies.
    """
    copied = copy_database(config, database_url, directory)
    db = Database(copied.settings.database)
    try:
        with serving(create_app(copied, db, **app)) as base_url:
            yield base_url, copied
    finally:
        db.dispose()
