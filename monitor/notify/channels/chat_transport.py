"""The chat channel's transport: one message through Apprise to the service its URL names, the failure classified.

Apprise reports only True/False; why a send failed is only ever logged, so a send collects Apprise's log
records and reads the HTTP status from them (retry or give up). The URL holds tokens: only its scheme is shown.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import apprise

from monitor.config.models import NotifyConfig
from monitor.errors import DeliveryError, EndpointGone

DELIVERY_HEADER = "X-Monitor-Delivery"
_ERROR_MAX = 600
_STATUS = re.compile(r"\berror[=:]\s*(\d{3})\b")
_RETRYABLE_STATUS = {408, 425, 429}
_SENDING = threading.Lock()
"""One send at a time per process: a send reads its failure from Apprise's process-wide logger, and the deliver
and digest jobs send from threads of their own; two at once read each other's lines (another's 410
disabled a subscriber whose own send had only timed out)."""


def apprise_url(config: NotifyConfig, env: dict[str, str] | Any) -> str:
    """The subscriber's Apprise URL, read from the variable `url_env` names (a permanent failure when unset)."""
    url = str(env.get(config.url_env, "") or "").strip()
    if not url:
        raise DeliveryError(f"notify: environment variable {config.url_env} is not set (it holds the Apprise URL)",
                            permanent=True)
    return url


def _scheme(url: str) -> str:
    # Only the scheme is ever shown: the rest of an Apprise URL is tokens.
    return urlsplit(url).scheme or url.partition(":")[0][:20]


def classify_failure(service: str, messages: list[str]) -> DeliveryError:
    """A DeliveryError from what Apprise logged about a failed send.

    Apprise reports only True/False; its services log the HTTP status as `error=<code>`. A status in
    4xx (but 408/425/429) is permanent (a revoked token, a deleted channel: retrying cannot help);
    410 disables the subscriber's endpoint like a webhook's; 5xx, 408/425/429, connection errors,
    timeouts and anything unrecognised are retried with backoff.
    """
    detail = " ".join(" ".join(messages).split()) or "the service refused the message (no reason logged)"
    detail = f"notify ({service}): {detail}"[:_ERROR_MAX]
    codes = [int(c) for c in _STATUS.findall(" ".join(messages))]
    status = codes[-1] if codes else None
    if status == 410:
        return EndpointGone(f"{detail} (endpoint gone: disabling it)")
    if status is not None and 400 <= status < 500 and status not in _RETRYABLE_STATUS:
        return DeliveryError(detail, permanent=True)
    return DeliveryError(detail, permanent=False)


class _Collect(logging.Handler):
    """Collects the messages Apprise logs during one send (the reason a send failed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def load_service(url: str, delivery_id: str) -> Any:
    """The Apprise service object of a URL, carrying the delivery id where it can (a permanent failure if unusable)."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise DeliveryError(f"notify: the Apprise URL ({_scheme(url)}://…) is not one Apprise can use; "
                            "see https://github.com/caronc/apprise/wiki for the service's URL form", permanent=True)
    # Apprise services whose request carries the caller's headers (`+Header=value` in the URL) expose
    # them as `headers`: json://, xml:// and form:// do. The others have no place for an id.
    headers = getattr(plugin, "headers", None)
    if isinstance(headers, dict):
        # Identical on every retry of the delivery, so a receiver can drop a duplicate (json://, xml://, form://).
        headers.setdefault(DELIVERY_HEADER, delivery_id)
        headers.setdefault("Idempotency-Key", delivery_id)
    return plugin


def body_limit(plugin: Any) -> int:
    """The message size to fit in: the service's limit as Apprise declares it, less room for its own markup."""
    declared = getattr(plugin, "body_maxlen", 0)
    # Apprise converts the Markdown to the service's markup (HTML for Telegram's html mode, Matrix),
    # which is longer: keep a tenth spare.
    return int(declared * 0.9) if isinstance(declared, int) and declared > 0 else 0


def notify_service(plugin: Any, *, title: str, body: str, markdown: bool) -> str:
    """Send one message through an Apprise service; returns "<service> accepted" or raises a classified DeliveryError."""
    service = str(getattr(plugin, "service_name", "") or type(plugin).__name__)
    sender = apprise.Apprise()
    sender.add(plugin)
    # A handler on Apprise's logger for this call: the reason of a failure is only ever logged.
    collect = _Collect()
    logger = logging.getLogger("apprise")
    with _SENDING:
        level = logger.level
        if not logger.isEnabledFor(logging.WARNING):
            # A quieter logging configuration must not hide why a send failed (it decides retry or not).
            logger.setLevel(logging.WARNING)
        logger.addHandler(collect)
        try:
            ok = sender.notify(body=body, title=title,
                               body_format=apprise.NotifyFormat.MARKDOWN if markdown else apprise.NotifyFormat.TEXT)
        finally:
            logger.removeHandler(collect)
            logger.setLevel(level)
    if ok:
        return f"{service} accepted"
    raise classify_failure(service, collect.messages)
