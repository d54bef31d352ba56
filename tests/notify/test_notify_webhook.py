"""Webhooks against a real local receiver that verifies Standard Webhooks signatures."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import jsonschema
import pytest

from monitor.config.models import WebhookConfig
from monitor.errors import DeliveryError, EndpointGone
from monitor.fetch.result import parse_retry_after
from monitor.notify.channels.webhook import SCHEMA_ID, WebhookSender, build_payload, webhook_secret

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "webhook.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture
def sender():
    with WebhookSender(allow_private_networks=True) as s:
        yield s


def test_payload_shape(digest_content, validator) -> None:
    payload = build_payload(digest_content)
    validator.validate(payload)
    assert payload["type"] == "digest"
    assert payload["id"] == "dlv-2024-11-19-mena-desk"
    assert payload["created_at"] == "2024-11-19T04:30:00Z"
    assert payload["subscriber"] == "mena-desk"
    first = payload["items"][0]
    assert first["article"] == {
        "id": "a1", "url": "https://news.example.org/a1",
        "title": "Turkish intelligence chief Kalın meets Shin Bet head on Gaza captives",
        "source": {"id": "daily-sabah", "name": "Daily Sabah"},
        "published_at": "2024-11-19T06:00:00Z", "language": "en",
        "summary": "Summary of Turkish intelligence chief Kalın meets Shin Bet head on Gaza captives.",
        "cluster_size": 3,
    }
    assert first["matches"][0] == digest_content.items[0].matches[0].to_json()
    assert [m["id"] for m in first["matches"]] == ["ibrahim-kalin", "hostage-talks"]


def test_schema_is_versioned(validator) -> None:
    assert validator.schema["$id"] == SCHEMA_ID and "/v1" in SCHEMA_ID


def test_send_ok_and_verified(webhook_receiver, sender, digest_content, validator) -> None:
    payload = build_payload(digest_content)
    status = sender.send(webhook_receiver.url, payload, webhook_id=digest_content.delivery_id,
                         secret=webhook_receiver.secret, timeout=5)
    assert status == 200
    [req] = webhook_receiver.requests
    assert req.verified, req.error
    assert req.headers["webhook-id"] == digest_content.delivery_id
    assert req.headers["webhook-signature"].startswith("v1,")
    assert req.headers["content-type"] == "application/json"
    assert req.payload == payload
    validator.validate(req.payload)


def test_same_webhook_id_on_retry_verifies_twice(webhook_receiver, sender, digest_content) -> None:
    payload = build_payload(digest_content)
    webhook_receiver.replies.append((503, {}))
    with pytest.raises(DeliveryError):
        sender.send(webhook_receiver.url, payload, webhook_id="dlv-1", secret=webhook_receiver.secret, timeout=5)
    assert sender.send(webhook_receiver.url, payload, webhook_id="dlv-1",
                       secret=webhook_receiver.secret, timeout=5) == 200
    assert [r.verified for r in webhook_receiver.requests] == [True, True]
    assert {r.headers["webhook-id"] for r in webhook_receiver.requests} == {"dlv-1"}
    assert webhook_receiver.requests[0].body == webhook_receiver.requests[1].body


def test_wrong_secret_does_not_verify(webhook_receiver, sender, digest_content) -> None:
    sender.send(webhook_receiver.url, build_payload(digest_content), webhook_id="dlv-2",
                secret="whsec_" + "QUJD" * 8, timeout=5)
    assert webhook_receiver.requests[0].verified is False


def test_500_is_temporary_with_retry_after(webhook_receiver, sender, digest_content) -> None:
    webhook_receiver.replies.append((500, {"Retry-After": "120"}))
    with pytest.raises(DeliveryError) as err:
        sender.send(webhook_receiver.url, build_payload(digest_content), webhook_id="d",
                    secret=webhook_receiver.secret, timeout=5)
    assert not err.value.permanent
    assert err.value.retry_after == 120
    assert "HTTP 500" in str(err.value) and "scripted failure" in str(err.value)


def test_429_with_http_date(webhook_receiver, sender, digest_content) -> None:
    later = datetime.now(UTC) + timedelta(minutes=10)
    webhook_receiver.replies.append((429, {"Retry-After": format_datetime(later, usegmt=True)}))
    with pytest.raises(DeliveryError) as err:
        sender.send(webhook_receiver.url, build_payload(digest_content), webhook_id="d",
                    secret=webhook_receiver.secret, timeout=5)
    assert not err.value.permanent
    assert err.value.retry_after is not None and 590 <= err.value.retry_after <= 600


def test_410_disables_the_endpoint(webhook_receiver, sender, digest_content) -> None:
    webhook_receiver.replies.append((410, {}))
    with pytest.raises(EndpointGone) as err:
        sender.send(webhook_receiver.url, build_payload(digest_content), webhook_id="d",
                    secret=webhook_receiver.secret, timeout=5)
    assert err.value.permanent and isinstance(err.value, EndpointGone)
    assert isinstance(err.value, DeliveryError)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_is_permanent(webhook_receiver, sender, digest_content, status) -> None:
    webhook_receiver.replies.append((status, {}))
    with pytest.raises(DeliveryError) as err:
        sender.send(webhook_receiver.url, build_payload(digest_content), webhook_id="d",
                    secret=webhook_receiver.secret, timeout=5)
    assert err.value.permanent and not isinstance(err.value, EndpointGone)


def test_redirect_is_not_followed(webhook_receiver, sender, digest_content) -> None:
    webhook_receiver.replies.append((301, {"Location": "https://elsewhere.example/"}))
    with pytest.raises(DeliveryError) as err:
        sender.send(webhook_receiver.url, build_payload(digest_content), webhook_id="d",
                    secret=webhook_receiver.secret, timeout=5)
    assert err.value.permanent and "elsewhere.example" in str(err.value)
    assert len(webhook_receiver.requests) == 1


def test_timeout_is_temporary(webhook_receiver, sender, digest_content) -> None:
    webhook_receiver.delay = 1.0
    with pytest.raises(DeliveryError) as err:
        sender.send(webhook_receiver.url, build_payload(digest_content), webhook_id="d",
                    secret=webhook_receiver.secret, timeout=0.2)
    assert not err.value.permanent and "timed out" in str(err.value)


def test_connection_refused_is_temporary(sender, digest_content, closed_port) -> None:
    with pytest.raises(DeliveryError) as err:
        sender.send(f"http://127.0.0.1:{closed_port}/x", build_payload(digest_content), webhook_id="d",
                    secret=None, timeout=2)
    assert not err.value.permanent


def test_unsigned_when_no_secret(webhook_receiver, sender, digest_content) -> None:
    sender.send(webhook_receiver.url, build_payload(digest_content), webhook_id="d", secret=None, timeout=5)
    [req] = webhook_receiver.requests
    assert "webhook-signature" not in req.headers and req.headers["webhook-id"] == "d"


def test_secret_from_env() -> None:
    config = WebhookConfig(url="https://h.example.org/x", secret_env="CASE_SYSTEM_WEBHOOK_SECRET")
    assert webhook_secret(config, {"CASE_SYSTEM_WEBHOOK_SECRET": "whsec_QUJD"}) == "whsec_QUJD"
    with pytest.raises(DeliveryError) as err:
        webhook_secret(config, {})
    assert err.value.permanent and "CASE_SYSTEM_WEBHOOK_SECRET" in str(err.value)
    with pytest.raises(DeliveryError) as err:
        webhook_secret(config, {"CASE_SYSTEM_WEBHOOK_SECRET": "whsec_"})
    assert err.value.permanent and "CASE_SYSTEM_WEBHOOK_SECRET" in str(err.value)
    assert webhook_secret(WebhookConfig(url="https://h.example.org/x"), {}) is None


def test_parse_retry_after() -> None:
    now = datetime(2024, 11, 19, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30
    assert parse_retry_after("Tue, 19 Nov 2024 12:01:00 GMT", now=now) == 60
    assert parse_retry_after("Tue, 19 Nov 2024 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None
