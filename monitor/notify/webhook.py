"""Signed JSON webhooks (DESIGN §5): the payload, Standard Webhooks signing, and failure classification."""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from monitor.config.models import WebhookConfig
from monitor.errors import DeliveryError
from monitor.notify.content import DeliveryContent, DeliveryItem
from monitor.notify.render import plain_text, safe_url

SCHEMA_ID = "https://monitor.example.org/schemas/webhook/v1.json"
USER_AGENT = "monitor-webhook/1"
_BODY_EXCERPT = 200
_BAD_SECRET = (binascii.Error, ValueError, RuntimeError, EmptyWebhookSecretError)


class EndpointGone(DeliveryError):
    """410 Gone: the receiver asks us to stop; the endpoint should be disabled, not retried."""

    disable_endpoint = True

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


def _z(value: datetime) -> str:
    # Second precision in UTC with a literal Z, as in DESIGN §4/§5.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _item(item: DeliveryItem) -> dict[str, Any]:
    a = item.article
    matches = []
    for m in item.matches:
        data = m.to_json()
        # Snippets are article text: strip any markup so a receiver that forgets to escape is still safe.
        data["snippet"] = plain_text(m.snippet)
        matches.append(data)
    return {
        "article": {
            "id": a.id,
            "url": safe_url(a.url),
            "title": plain_text(a.title),
            "source": {"id": a.source.id, "name": plain_text(a.source.name)},
            "published_at": _z(a.published_at),
            "language": a.language,
            "summary": plain_text(a.summary),
            "cluster_size": a.cluster_size,
        },
        "matches": matches,
    }


def build_payload(content: DeliveryContent) -> dict[str, Any]:
    """The webhook body of DESIGN §5 (schema docs/webhook.schema.json, v1)."""
    return {
        "type": content.kind,
        "id": content.delivery_id,
        "created_at": _z(content.created_at),
        "subscriber": content.subscriber_id,
        "items": [_item(i) for i in content.items],
    }


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed and sent (compact UTF-8 JSON)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def webhook_secret(config: WebhookConfig, env: Mapping[str, str]) -> str | None:
    """The signing secret named by `secret_env`, or None when none is configured."""
    if not config.secret_env:
        return None
    secret = env.get(config.secret_env)
    if not secret:
        raise DeliveryError(
            f"webhook secret: environment variable {config.secret_env} is not set (expected whsec_...)",
            permanent=True,
        )
    try:
        Webhook(secret)
    except _BAD_SECRET as exc:
        raise DeliveryError(
            f"webhook secret in {config.secret_env} is not a whsec_<base64> secret: {exc}", permanent=True
        ) from exc
    return secret


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _excerpt(response: httpx.Response) -> str:
    try:
        text = " ".join(response.text.split())
    except Exception:  # undecodable body: the status says enough
        return ""
    return f": {text[:_BODY_EXCERPT]}" if text else ""


class WebhookSender:
    """POSTs signed payloads with a reusable httpx client; raises DeliveryError classified for retry."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._own = client is None
        # No redirects: a signed POST re-sent elsewhere is a surprise; the operator should fix the URL.
        self._client = client or httpx.Client(follow_redirects=False, headers={"user-agent": USER_AGENT})

    def close(self) -> None:
        """Close the HTTP client if this sender created it."""
        if self._own:
            self._client.close()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, url: str, payload: Mapping[str, Any], *, webhook_id: str,
             secret: str | None, timeout: float) -> int:
        """POST the payload; returns the 2xx status or raises DeliveryError (EndpointGone on 410)."""
        body = encode_payload(payload)
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            # The delivery id, identical on every retry, so receivers can de-duplicate.
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
        }
        if secret is not None:
            try:
                signer = Webhook(secret)
            except _BAD_SECRET as exc:
                raise DeliveryError(f"webhook secret is not a whsec_<base64> secret: {exc}",
                                    permanent=True) from exc
            headers["webhook-signature"] = signer.sign(webhook_id, now, body.decode("utf-8"))
        try:
            response = self._client.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"webhook {url}: timed out after {timeout:g}s ({type(exc).__name__})",
                                permanent=False) from exc
        except httpx.TransportError as exc:
            raise DeliveryError(f"webhook {url}: {type(exc).__name__}: {exc}", permanent=False) from exc
        status = response.status_code
        if 200 <= status < 300:
            return status
        detail = f"webhook {url}: HTTP {status} {response.reason_phrase}{_excerpt(response)}"
        if status == 410:
            raise EndpointGone(f"{detail} (endpoint gone: disabling it)")
        if status in (408, 425, 429) or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise DeliveryError(detail, permanent=False, retry_after=retry_after)
        if 300 <= status < 400:
            location = response.headers.get("location", "?")
            raise DeliveryError(f"{detail} (redirects to {location}; update the webhook url)", permanent=True)
        raise DeliveryError(detail, permanent=True)
