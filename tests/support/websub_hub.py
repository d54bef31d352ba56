"""A small WebSub hub on 127.0.0.1 for the tests, following the W3C Recommendation (sections 5 to 7).

- POST /hub with hub.mode=subscribe|unsubscribe, hub.topic, hub.callback (hub.secret,
  hub.lease_seconds): answered 202 at once, then the subscriber's intent is verified in a thread (GET
  on the callback with hub.mode, hub.topic, a random hub.challenge and, for subscribe, hub.lease_seconds);
  only a 2xx echoing the challenge changes the subscription (a re-subscription renews the lease).
- `publish(topic, body)`: content distribution to every subscription of the topic whose lease runs,
  a POST with the topic's Content-Type, Link rel=hub and rel=self headers, and X-Hub-Signature made
  with the subscription's secret (sha256 unless told; `forge=True` signs with a wrong key).
- `deny(topic)`: the hub withdraws subscriptions (GET hub.mode=denied).

`lease_seconds` set on the hub overrides what subscribers ask (a hub MAY), to test renewals quickly.
`refuse` set on the hub answers every subscription request with that 4xx status (a hub that will not
take the topic). Several hubs run side by side on their own ports (`running_hub` twice).
"""

from __future__ import annotations

import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlencode

from monitor.fetch.websub import sign
from tests.support.feedserver import send
from tests.support.httpserver import serving_in_thread


@dataclass
class HubSubscription:
    """One verified subscription: (topic, callback) with its secret and lease."""

    topic: str
    callback: str
    secret: str | None
    lease_seconds: int
    expires_at: float


@dataclass
class Verification:
    """One verification of intent the hub made, and whether the subscriber confirmed it."""

    mode: str
    topic: str
    callback: str
    lease_seconds: int | None
    confirmed: bool
    status: int


@dataclass
class WebSubHub:
    """The hub's state; every request and verification is recorded for the tests to assert on."""

    lease_seconds: int | None = None
    default_lease: int = 3600
    refuse: int | None = None
    silent: bool = False  # accepts subscription requests (202) and never verifies them
    port: int = 0
    subscriptions: dict[tuple[str, str], HubSubscription] = field(default_factory=dict)
    verifications: list[Verification] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The hub URL publishers name in rel="hub"."""
        return f"http://127.0.0.1:{self.port}/hub"

    def active(self, topic: str) -> list[HubSubscription]:
        """The subscriptions of a topic whose lease has not ended."""
        with self.lock:
            return [s for s in self.subscriptions.values() if s.topic == topic and s.expires_at > time.time()]

    def confirmed(self, mode: str = "subscribe") -> list[Verification]:
        """The verifications of this mode that the subscriber confirmed."""
        with self.lock:
            return [v for v in self.verifications if v.mode == mode and v.confirmed]

    def handle_request(self, form: dict[str, str]) -> tuple[int, str]:
        """A subscription request (5.1): 202 and a verification in the background, or 400 saying why."""
        mode, topic, callback = form.get("hub.mode"), form.get("hub.topic"), form.get("hub.callback")
        with self.lock:
            self.requests.append(form)
        if mode not in ("subscribe", "unsubscribe") or not topic or not callback:
            return 400, "hub.mode, hub.topic and hub.callback are required"
        if self.refuse is not None:
            return self.refuse, "this hub does not serve that topic"
        secret = form.get("hub.secret")
        if secret is not None and len(secret.encode()) >= 200:
            return 400, "hub.secret must be less than 200 bytes"
        asked = form.get("hub.lease_seconds", "")
        lease = self.lease_seconds or (int(asked) if asked.isdigit() else self.default_lease)
        if self.silent:
            return 202, ""
        threading.Thread(target=self._verify, args=(mode, topic, callback, secret, lease), daemon=True).start()
        return 202, ""

    def _verify(self, mode: str, topic: str, callback: str, secret: str | None, lease: int) -> None:
        challenge = secrets.token_urlsafe(24)
        query = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if mode == "subscribe":
            query["hub.lease_seconds"] = str(lease)
        status, body = _get(callback + ("&" if "?" in callback else "?") + urlencode(query))
        confirmed = 200 <= status < 300 and body == challenge.encode()
        with self.lock:
            self.verifications.append(Verification(mode, topic, callback, lease if mode == "subscribe" else None,
                                                   confirmed, status))
            if not confirmed:
                return  # the subscription state is left unchanged (5.1)
            if mode == "subscribe":
                self.subscriptions[(topic, callback)] = HubSubscription(topic, callback, secret, lease,
                                                                        time.time() + lease)
            else:
                self.subscriptions.pop((topic, callback), None)

    def publish(
        self, topic: str, body: bytes, content_type: str = "application/rss+xml", *, method: str = "sha256",
        forge: bool = False, signed: bool = True,
    ) -> list[int]:
        """Distribute new content of a topic to its subscribers (7); their answers' status codes."""
        statuses = []
        for sub in self.active(topic):
            headers = {"Content-Type": content_type, "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"'}
            if sub.secret and signed:
                headers["X-Hub-Signature"] = sign(body, "not the secret" if forge else sub.secret, method)
            statuses.append(_post(sub.callback, body, headers))
        return statuses

    def deny(self, topic: str, reason: str = "denied by the test hub") -> list[int]:
        """Withdraw every subscription of a topic, telling each subscriber (5.2)."""
        with self.lock:
            gone = [s for s in self.subscriptions.values() if s.topic == topic]
            for sub in gone:
                del self.subscriptions[(sub.topic, sub.callback)]
        query = urlencode({"hub.mode": "denied", "hub.topic": topic, "hub.reason": reason})
        return [_get(sub.callback + ("&" if "?" in sub.callback else "?") + query)[0] for sub in gone]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - a test's own 127.0.0.1 URL
            return resp.status, resp.read(4096)
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except OSError:
        return 0, b""


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - a test's own 127.0.0.1 URL
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@contextmanager
def running_hub(lease_seconds: int | None = None, refuse: int | None = None, silent: bool = False) -> Iterator[WebSubHub]:
    """Serve a WebSubHub on a free port of 127.0.0.1 for the block."""
    hub = WebSubHub(lease_seconds=lease_seconds, refuse=refuse, silent=silent)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/hub":
                send(self, 404, b"", {})
                return
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(min(length, 65536)).decode("utf-8", "replace")
            form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
            status, message = hub.handle_request(form)
            send(self, status, message.encode(), {"Content-Type": "text/plain; charset=utf-8"})

    with serving_in_thread(Handler) as httpd:
        hub.port = httpd.server_address[1]
        yield hub
