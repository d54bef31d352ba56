"""Relative paths in the configuration are relative to the configuration directory, not the working directory.

So `monitor feeds --config /elsewhere/config` reads the database `monitor run --config config` writes,
whatever directory each was started from. This covers `database` (a SQLite file), `email.outbox_dir`,
`email.templates_dir` and local feeds (a path or a `file:` URL), also when set from the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from monitor.config.models import FeedConfig, Settings


def _absolute(directory: Path, path: Path) -> Path:
    # abspath, not resolve(): `..` is folded but symlinks are kept as the operator wrote them.
    return Path(os.path.abspath(directory / path))


def resolve_database_url(url: str, directory: Path) -> str:
    """A SQLite URL with a relative file made absolute against `directory`; any other URL unchanged."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # not a URL: opening it says so
    database = parsed.database
    if (not parsed.drivername.startswith("sqlite") or not database or database == ":memory:"
            or database.startswith("file:") or Path(database).is_absolute()):
        return url
    return parsed.set(database=str(_absolute(directory, Path(database)))).render_as_string(hide_password=False)


def resolve_feed_url(url: str, directory: Path) -> str:
    """A local feed given by a relative path (or a relative `file:` URL) made absolute; other URLs unchanged."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "":
        path = Path(url)
        return url if path.is_absolute() else str(_absolute(directory, path))
    if scheme == "file" and not parts.netloc and parts.path and not parts.path.startswith("/"):
        return _absolute(directory, Path(parts.path)).as_uri()
    return url  # http(s), an absolute file: URL, or a drive letter (c:\...)


def resolve_settings(settings: Settings, directory: Path) -> Settings:
    """The settings with their relative paths made absolute against the configuration directory."""
    email = settings.email
    templates = email.templates_dir
    return settings.model_copy(update={
        "database": resolve_database_url(settings.database, directory),
        "email": email.model_copy(update={
            "outbox_dir": _absolute(directory, email.outbox_dir),
            "templates_dir": _absolute(directory, templates) if templates is not None else None,
        }),
    })


def resolve_feeds(feeds: tuple[FeedConfig, ...], directory: Path) -> tuple[FeedConfig, ...]:
    """The feeds with local paths made absolute; ids stay those derived from the URL as written."""
    return tuple(
        feed.model_copy(update={"url": resolve_feed_url(feed.url, directory)}) if feed.is_local else feed
        for feed in feeds
    )
