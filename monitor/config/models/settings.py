"""monitor.yaml: the service's settings (database, email, fetching, WebSub, retention, the dashboard's hosts)."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from monitor.config.models.common import StrictModel, check_zone
from monitor.config.units import ByteSize, Duration

_HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")


class SmtpSettings(StrictModel):
    host: str = "localhost"
    port: int = 587
    starttls: bool = True
    tls: bool = False
    username: str | None = None
    password_env: str | None = None
    timeout: Duration = timedelta(seconds=30)


class EmailSettings(StrictModel):
    transport: Literal["smtp", "file"] = "file"
    from_: str = Field(default="Monitor <monitor@localhost>", alias="from")
    smtp: SmtpSettings = SmtpSettings()
    outbox_dir: Path = Path("var/outbox")
    templates_dir: Path | None = None
    unsubscribe_url: str | None = None


class FetchSettings(StrictModel):
    timeout: Duration = timedelta(seconds=20)
    max_bytes: ByteSize = 15 * 1024 * 1024
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=64, ge=1)
    per_host: int = Field(default=2, ge=1)
    user_agent: str = "monitor/0.1 (+https://github.com/monitor/monitor)"
    allow_private_networks: bool = False


class WebSubSettings(StrictModel):
    """WebSub push (README "WebSub push"): subscribe to the hubs feeds name, poll slower while pushed."""

    enabled: bool = True
    # hub.lease_seconds asked for; the hub decides, and the subscription is renewed before it ends.
    lease: Duration = timedelta(days=10)
    # While a feed is pushed its polling interval (and max_interval) is multiplied by this: a safety net.
    poll_factor: int = Field(default=4, ge=1, le=100)
    # No push for this long (since the subscription was verified or the last push): back to normal polling.
    quiet_after: Duration = timedelta(days=1)


class Settings(StrictModel):
    database: str = "sqlite:///var/monitor.db"
    timezone: str = "UTC"
    email: EmailSettings = EmailSettings()
    fetch: FetchSettings = FetchSettings()
    websub: WebSubSettings = WebSubSettings()
    retention: Duration = timedelta(days=90)
    allow_local_feeds: bool = False
    log_format: Literal["text", "json"] = "text"
    base_url: str = "http://127.0.0.1:8080"
    # Host names the dashboard answers besides loopback, its bind address and base_url's host.
    allowed_hosts: tuple[str, ...] = ()
    # The dashboard's editor commits each save with the editor's name when the configuration directory is a
    # git work tree. A top-level key like the others (every setting outside email/fetch has its own variable).
    editor_git_commit: bool = False
    # Feed-health alerts (subscribers with `feed_health: true`): a feed failing this long is alerted once;
    # one with no new item for feed_stale_factor × its usual interval, and at least feed_stale_min, too.
    feed_failing_after: Duration = timedelta(hours=6)
    feed_stale_factor: float = Field(default=4.0, ge=1)
    feed_stale_min: Duration = timedelta(days=3)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        # From the environment (MONITOR_ALLOWED_HOSTS) the list is one string: comma- or space-separated.
        return tuple(value.replace(",", " ").split()) if isinstance(value, str) else value

    @field_validator("allowed_hosts")
    @classmethod
    def _host_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for host in value:
            _check_host_name(host)
        return value


def _check_host_name(host: str) -> None:
    """A name for `allowed_hosts`: a host name, an IP address, or `*.domain`; no port, no scheme."""
    if host == "*" or "*" in host[1:] or (host.startswith("*") and not host.startswith("*.")):
        raise ValueError(
            f"{host!r}: '*' would answer any name and let a rebinding attacker in; "
            "list the names, or use '*.example.org' for a whole domain"
        )
    name = host.removeprefix("*.")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if ":" in name:
        try:
            ipaddress.IPv6Address(name)
        except ValueError:
            raise ValueError(f"{host!r} is not a host name: give the name without scheme or port") from None
        return
    if not _HOST_NAME.match(name):
        raise ValueError(f"{host!r} is not a host name: give the name without scheme, port or path")
