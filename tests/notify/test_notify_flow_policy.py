"""The address policy on webhooks: private endpoints refused unless allowed, and the checked address is pinned."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from monitor.errors import DeliveryError
from monitor.notify.channels.webhook import WebhookSender
from tests.notify.conftest import WebhookReceiver

PAYLOAD = {"type": "alert", "id": "dlv_policy", "created_at": "2026-11-24T09:00:00Z", "subscriber": "s", "items": []}


def send(sender: WebhookSender, url: str) -> int:
    return sender.send(url, PAYLOAD, webhook_id="dlv_policy", secret=None, timeout=5)


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "100.64.0.1",
                                  "[::1]", "[::ffff:127.0.0.1]", "localhost"])
def test_private_endpoints_are_refused_permanently(host: str) -> None:
    with WebhookSender() as sender, pytest.raises(DeliveryError) as caught:
        send(sender, f"http://{host}:9/hook")
    assert caught.value.permanent
    message = str(caught.value)
    assert "refused by the address policy" in message and "fetch.allow_private_networks: true" in message


def test_a_local_receiver_is_reached_when_private_networks_are_allowed(webhook_receiver: WebhookReceiver) -> None:
    with WebhookSender(allow_private_networks=True) as sender:
        assert send(sender, webhook_receiver.url.replace("127.0.0.1", "localhost")) == 200


def test_the_checked_address_is_the_one_connected_to(webhook_receiver: WebhookReceiver,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # A public-looking name that resolves to the receiver; a policy that allows exactly that address.
    port = int(webhook_receiver.url.split(":")[2].split("/")[0])
    real = socket.getaddrinfo
    lookups: list[str] = []

    def fake_getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        if host == "hooks.example.test":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with WebhookSender(address_policy=lambda ip: ip != "127.0.0.1") as sender:
        assert send(sender, f"http://hooks.example.test:{port}/hooks/monitor") == 200
    [request] = webhook_receiver.requests
    assert request.headers["host"] == f"hooks.example.test:{port}", "the URL's host is kept for Host (and TLS SNI)"
    # Resolved once, by the policy check; the connection is then made to that literal address.
    assert lookups[0] == "hooks.example.test" and set(lookups[1:]) <= {"127.0.0.1"}


def test_a_name_with_any_private_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def mixed(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example.test":  # one public and one private answer (DNS rebinding)
            return real("93.184.215.14", port, *args, **kwargs) + real("10.0.0.7", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    with WebhookSender() as sender, pytest.raises(DeliveryError, match=r"rebind\.example\.test resolves to 10\.0\.0\.7"):
        send(sender, "http://rebind.example.test/hook")


def test_unresolvable_host_is_temporary() -> None:
    with WebhookSender() as sender, pytest.raises(DeliveryError) as caught:
        send(sender, "http://no-such-host.invalid/hook")
    assert not caught.value.permanent
