"""The webhook channel (DESIGN §5): the JSON payload, Standard Webhooks signing, SSRF-safe POSTs, failure classification."""

from __future__ import annotations

import binascii
import json
import socket
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import EmptyWebhookSecretError

from monitor.config.models import SubscriberConfig, WebhookConfig
from monitor.errors import BlockedAddressError, DeliveryError, EndpointGone
from monitor.fetch.addresses import AddressPolicy, is_blocked_address
from monitor.fetch.result import parse_retry_after
from monitor.notify.channels.base import DeliveryKind, SendContext
from monitor.notify.content import DeliveryContent, DeliveryItem, FeedHealthContent, SpikeContent
from monitor.notify.render import plain_text, safe_url
from monitor.store.outbox_assembly import Grouping

SCHEMA_ID = "https://monitor.example.org/schemas/webhook/v1.json"
USER_AGENT = "monitor-webhook/1"
_BODY_EXCERPT = 200
_BAD_SECRET = (binascii.Error, ValueError, RuntimeError, EmptyWebhookSecretError)
_ALERT_GROUPING = Grouping(per_delivery=1, count_following=False)
_DIGEST_GROUPING = Grouping()


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


def _spike(spike: SpikeContent) -> dict[str, Any]:
    return {
        "id": spike.alert_id,
        "watchlist": {"id": spike.watchlist, "name": plain_text(spike.watchlist_name)},
        "entry": {"id": spike.entry_id, "name": plain_text(spike.name)},
        "reason": spike.reason,
        "headline": spike.headline,
        "windows": [
            {"window": w.window, "start": _z(w.start), "end": _z(w.end), "stories": w.stories, "usual": w.usual,
             "p_value": w.p_value}
            for w in spike.windows
        ],
        "articles": spike.articles,
        "top_stories": [
            {"title": plain_text(s.title), "url": safe_url(s.url), "outlets": s.outlets, "articles": s.articles,
             "published_at": _z(s.published_at)}
            for s in spike.top_stories
        ],
        "dashboard_url": safe_url(spike.entry_url),
    }


def _optional_z(value: datetime | None) -> str | None:
    return _z(value) if value is not None else None


def _feed_health(health: FeedHealthContent) -> dict[str, Any]:
    return {
        "id": health.alert_id,
        "feed": {"id": health.feed_id, "name": plain_text(health.feed_name), "url": safe_url(health.feed_url)},
        "event": health.event,
        "at": _z(health.at),
        "error_kind": health.error_kind,
        "error_message": plain_text(health.error_message) if health.error_message is not None else None,
        "hint": health.hint,
        "failing_since": _optional_z(health.failing_since),
        "consecutive_errors": health.consecutive_errors,
        "last_success_at": _optional_z(health.last_success_at),
        "last_new_item_at": _optional_z(health.last_new_item_at),
        "usual_interval_seconds": round(health.usual_interval.total_seconds()) if health.usual_interval else None,
        "silent_seconds": round(health.silent_for.total_seconds()) if health.silent_for else None,
        "dashboard_url": safe_url(health.feeds_url),
    }


def build_payload(content: DeliveryContent) -> dict[str, Any]:
    """The webhook body of DESIGN §5 (schema docs/webhook.schema.json, v1); a spike's has `spike` and no items,
    a feed-health delivery's `feed_health` (one tick's alerts, feed by feed) and no items."""
    payload: dict[str, Any] = {
        "type": content.kind,
        "id": content.delivery_id,
        "created_at": _z(content.created_at),
        "subscriber": content.subscriber_id,
        "items": [_item(i) for i in content.items],
    }
    if content.spike is not None:
        payload["spike"] = _spike(content.spike)
    if content.feed_health:
        payload["feed_health"] = [_feed_health(a) for a in content.feed_health]
    return payload


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


def _excerpt(response: httpx.Response) -> str:
    try:
        text = " ".join(response.text.split())
    except Exception:  # undecodable body: the status says enough
        return ""
    return f": {text[:_BODY_EXCERPT]}" if text else ""


class _PolicyBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to an address the policy allows (pinned: no re-resolve)."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first allowed address of `host`; BlockedAddressError if any address is refused."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:  # DNS failure: temporary, like any other connect error
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        blocked = [a for a in addresses if self._policy(a)]
        if blocked or not addresses:
            # Strict, as check_host: a name with one private answer is refused rather than half-trusted.
            raise BlockedAddressError(host, blocked)
        error: Exception | None = None
        for address in addresses:
            try:
                # The checked address is the one connected to; TLS still verifies `host` (SNI comes
                # from the request's origin, not from the address given here).
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error


class _PinnedTransport(httpx.HTTPTransport):
    """An httpx transport whose connections go through _PolicyBackend."""

    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__()
        # httpx does not expose httpcore's network_backend, so the pool is replaced by an equivalent
        # one that resolves through the address policy.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=_PolicyBackend(policy)
        )


def _allow_all(ip: str) -> bool:
    return False


class WebhookSender:
    """POSTs signed payloads with a reusable httpx client; raises DeliveryError classified for retry.

    Unless `allow_private_networks`, the endpoint's address must pass the address policy of
    monitor.fetch.addresses (no loopback, private, link-local, CGNAT...): webhook URLs come from
    configuration, and a server must not be turned into a probe of its own network (SSRF).
    """

    def __init__(
        self, client: httpx.Client | None = None, *, allow_private_networks: bool = False,
        address_policy: AddressPolicy | None = None,
    ) -> None:
        self.allow_private_networks = allow_private_networks
        self._policy: AddressPolicy = _allow_all if allow_private_networks else address_policy or is_blocked_address
        self._own = client is None
        # No redirects: a signed POST re-sent elsewhere is a surprise; the operator should fix the URL.
        # trust_env=False when guarded: an environment proxy would connect on our behalf and bypass the policy.
        self._client = client or httpx.Client(
            follow_redirects=False, headers={"user-agent": USER_AGENT},
            transport=None if allow_private_networks else _PinnedTransport(self._policy),
            trust_env=allow_private_networks,
        )

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
        # Real time, not an injected clock: receivers reject timestamps far from their own clock.
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
        except BlockedAddressError as exc:
            raise DeliveryError(
                f"webhook {url}: refused by the address policy: {exc.host} resolves to "
                f"{', '.join(exc.addresses) or 'no address'} (loopback/private/link-local/reserved); "
                "set fetch.allow_private_networks: true if this endpoint is meant to be internal",
                permanent=True,
            ) from exc
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


class WebhookChannel:
    """Sends a delivery as one signed JSON POST to the subscriber's endpoint."""

    def __init__(self) -> None:
        self._sender: WebhookSender | None = None

    def grouping(self, kind: DeliveryKind) -> Grouping:
        """One `alert` per article (a receiver acts on each); a digest as one payload per period."""
        return _ALERT_GROUPING if kind == "alert" else _DIGEST_GROUPING

    def sender(self, allow_private_networks: bool) -> WebhookSender:
        """The sender for the address policy in force (rebuilt when a reload changes it)."""
        current = self._sender
        if current is None or current.allow_private_networks != allow_private_networks:
            if current is not None:
                current.close()
            current = self._sender = WebhookSender(allow_private_networks=allow_private_networks)
        return current

    def send(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
        """POST the payload, signed with the secret named by `secret_env`."""
        hook = subscriber.webhook
        if hook is None:
            raise DeliveryError(f"subscriber {subscriber.id!r} has no webhook", permanent=True)
        secret = webhook_secret(hook, context.env)
        sender = self.sender(context.config.settings.fetch.allow_private_networks)
        status = sender.send(hook.url, build_payload(content), webhook_id=content.delivery_id, secret=secret,
                             timeout=hook.timeout.total_seconds())
        return f"webhook {status}"

    def preview(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
        """The payload as indented JSON."""
        return json.dumps(build_payload(content), ensure_ascii=False, indent=2)

    def close(self) -> None:
        """Release the HTTP client."""
        if self._sender is not None:
            self._sender.close()
            self._sender = None
