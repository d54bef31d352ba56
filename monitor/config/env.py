"""Environment variables that override monitor.yaml (DESIGN §3): MONITOR_DATABASE_URL, MONITOR_SMTP_HOST, ..."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from monitor.config.models import EmailSettings, FetchSettings, Settings, SmtpSettings, WebSubSettings

CONFIG_DIR_VAR = "MONITOR_CONFIG"
DEFAULT_CONFIG_DIR = Path("config")

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

# Descriptions for the documentation; a setting missing here still gets a variable and a generic text,
# so adding a field to Settings can never leave it without an override.
_DESCRIPTIONS: dict[str, str] = {
    "database": "database URL, e.g. sqlite:///var/monitor.db or postgresql+psycopg://user@host/db",
    "timezone": "time zone for the dashboard, logs and calendar days (date filters, charts, backtest --days) (IANA name)",
    "retention": "how long articles are kept, e.g. 90d",
    "allow_local_feeds": "true allows file: URLs and paths as feeds",
    "log_format": "text or json",
    "base_url": "public URL of the dashboard, used in links",
    "allowed_hosts": "more host names the dashboard answers to, comma-separated (see docs/security.md)",
    "editor_git_commit": "true commits each save of the dashboard's editor with the editor's name (config dir in git)",
    "feed_failing_after": "how long a feed fails before feed-health subscribers are told, e.g. 6h",
    "feed_stale_factor": "a feed with no new item for this many times its usual interval is stale (feed-health alert)",
    "feed_stale_min": "the shortest silence that makes a feed stale, e.g. 3d",
    "email.transport": "smtp or file",
    "email.from": "sender address of digests",
    "email.outbox_dir": "where the file transport writes .eml files",
    "email.templates_dir": "directory with templates overriding the bundled ones",
    "email.unsubscribe_url": "URL put in List-Unsubscribe headers instead of the dashboard's; {subscriber} and {token} are filled in",
    "email.smtp.host": "SMTP server host",
    "email.smtp.port": "SMTP server port",
    "email.smtp.starttls": "true to upgrade the SMTP connection with STARTTLS",
    "email.smtp.tls": "true for implicit TLS (SMTPS)",
    "email.smtp.username": "SMTP user name",
    "email.smtp.password_env": "name of the variable holding the SMTP password",
    "email.smtp.timeout": "SMTP connection timeout",
    "fetch.timeout": "total deadline per fetch, e.g. 20s",
    "fetch.max_bytes": "largest accepted response after decompression, e.g. 15MiB",
    "fetch.max_redirects": "redirects followed per fetch",
    "fetch.concurrency": "fetches in flight at once",
    "fetch.per_host": "fetches in flight per host",
    "fetch.user_agent": "User-Agent header of fetches",
    "fetch.allow_private_networks": "true lets feeds and webhooks reach loopback/private addresses",
    "websub.enabled": "false never subscribes to WebSub hubs (feeds are only polled)",
    "websub.lease": "subscription lease asked of WebSub hubs, e.g. 10d (renewed before it ends)",
    "websub.poll_factor": "polling interval multiplier while a feed is pushed (the safety net)",
    "websub.quiet_after": "no push for this long: the feed is polled at its normal interval again",
}


@dataclass(frozen=True)
class EnvVar:
    """One overriding variable: its name, the settings path it sets, and whether the value is a boolean."""

    name: str
    path: tuple[str, ...]
    boolean: bool
    description: str


def _fields(model: type[BaseModel]) -> list[tuple[str, bool]]:
    """(YAML key, is-boolean) of a settings model's scalar fields."""
    result = []
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            continue  # nested sections get their own prefix
        result.append((info.alias or name, info.annotation is bool))
    return result


def _build() -> list[EnvVar]:
    table: list[EnvVar] = []

    def add(name: str, path: tuple[str, ...], boolean: bool, extra: str = "") -> None:
        dotted = ".".join(path)
        text = _DESCRIPTIONS.get(dotted, f"overrides {dotted}")
        table.append(EnvVar(name, path, boolean, f"{text} (monitor.yaml: {dotted}){extra}"))

    for key, boolean in _fields(Settings):
        add(f"MONITOR_{key.upper()}", (key,), boolean)
        if key == "database":
            # The conventional name; it wins over MONITOR_DATABASE when both are set.
            add("MONITOR_DATABASE_URL", (key,), boolean, "; wins over MONITOR_DATABASE")
    for prefix, section, model in (("EMAIL", ("email",), EmailSettings), ("SMTP", ("email", "smtp"), SmtpSettings),
                                   ("FETCH", ("fetch",), FetchSettings), ("WEBSUB", ("websub",), WebSubSettings)):
        for key, boolean in _fields(model):
            add(f"MONITOR_{prefix}_{key.upper()}", section + (key,), boolean)
    return table


ENV_VARS: list[EnvVar] = _build()


def documented_env_vars() -> list[tuple[str, str]]:
    """Every environment variable the configuration reads, with a description."""
    return [(CONFIG_DIR_VAR, "default configuration directory (--config), default ./config")] + [
        (var.name, var.description) for var in ENV_VARS
    ]


def default_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The configuration directory when --config is not given: $MONITOR_CONFIG, else ./config."""
    env = os.environ if env is None else env
    value = env.get(CONFIG_DIR_VAR, "").strip()
    return Path(value) if value else DEFAULT_CONFIG_DIR


def _convert(var: EnvVar, value: str) -> Any:
    if var.boolean:
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return value  # validation reports anything unusable, naming the variable


def apply_env_overrides(raw: Mapping[str, Any], env: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """A copy of monitor.yaml's data with overrides applied, and which variable set which path."""
    data: dict[str, Any] = copy.deepcopy(dict(raw))
    origins: dict[tuple[str, ...], str] = {}
    # MONITOR_DATABASE_URL comes after MONITOR_DATABASE in ENV_VARS, so it wins.
    for var in ENV_VARS:
        value = env.get(var.name)
        if value is None or value == "":  # an empty variable is treated as unset, as shells often export ""
            continue
        target = data
        for key in var.path[:-1]:
            child = target.get(key)
            if child is None:
                child = target[key] = {}
            if not isinstance(child, dict):
                break  # the YAML section itself is malformed; validation reports that
            target = child
        else:
            target[var.path[-1]] = _convert(var, value)
            origins[var.path] = var.name
    return data, origins
