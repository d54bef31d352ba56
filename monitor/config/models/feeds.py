"""feeds.yaml: the feeds, their defaults, and the id a feed without one gets."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator

from monitor.config.models.common import StrictModel, check_id
from monitor.config.units import Duration


def feed_id_from_url(url: str) -> str:
    """A stable, readable id for a feed without one: host plus a short hash of the URL."""
    host = (urlsplit(url).hostname or "local").removeprefix("www.")
    slug = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-") or "feed"
    return f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:8]}"


class FeedDefaults(StrictModel):
    interval: Duration = timedelta(minutes=15)
    max_interval: Duration = timedelta(hours=6)


class FeedConfig(StrictModel):
    url: str
    id: str = ""
    name: str | None = None
    interval: Duration | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    full_text: bool = False
    # A paused feed stays in feeds.yaml but is not polled (the dashboard's Pause; docs/feeds.md).
    paused: bool = False

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        value = value.strip()
        scheme = urlsplit(value).scheme.lower()
        if scheme in ("http", "https"):
            if not urlsplit(value).hostname:
                raise ValueError(f"URL {value!r} has no host")
            return value
        if scheme == "file" or scheme == "" or len(scheme) == 1:  # "" or "c:" → a path
            return value
        raise ValueError(f"URL scheme {scheme!r} is not supported; use http(s), or file: with allow_local_feeds")

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value < timedelta(seconds=1):
            raise ValueError("interval must be at least 1s")
        return value

    @model_validator(mode="after")
    def _derive_id(self) -> FeedConfig:
        if not self.id:
            object.__setattr__(self, "id", feed_id_from_url(self.url))
        else:
            check_id(self.id)
        return self

    @property
    def is_local(self) -> bool:
        """True for file: URLs and plain paths."""
        return urlsplit(self.url).scheme.lower() not in ("http", "https")


class FeedsFile(StrictModel):
    defaults: FeedDefaults = FeedDefaults()
    feeds: tuple[FeedConfig, ...] = ()
