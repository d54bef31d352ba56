"""The subscriber's side of WebSub (W3C Recommendation) that speaks HTTP or checks what a hub sent.

- `link_header_targets`: discovery from Link headers (rel="hub", rel="self"), which WebSub has the
  subscriber check before the document's own link elements (monitor/parse/websub.py);
- `hub_request`: the subscription (or unsubscription) request, an urlencoded POST to the hub under
  the same address policy, deadline and User-Agent as feed fetches; a 307/308 is followed (5.1.2);
- `signature_problem`: the X-Hub-Signature check of a content distribution (7.1), sha1, sha256,
  sha384 or sha512 HMAC of the body with the subscription's secret, compared in constant time;
- `challenge_ok`, `new_secret`, `new_token`: the small rules around them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from monitor.config.models import FetchSettings
from monitor.errors import BlockedAddressError, FetchError
from monitor.fetch.addresses import AddressPolicy, PolicyResolver, check_literal_host, is_blocked_address

__all__ = [
    "HubAnswer", "challenge_ok", "hub_request", "link_header_targets", "new_secret", "new_token", "signature_problem",
]

SIGNATURE_METHODS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384,
                     "sha512": hashlib.sha512}
"""The algorithm names WebSub recognises (7.1.1)."""
MAX_CHALLENGE = 256
"""A longer hub.challenge is refused (8.2: limit its length, reject binary data)."""
_CHALLENGE = re.compile(r"[+\-./0-9=A-Z_a-z]+")  # the characters 5.3 allows
_LINK_VALUE = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]*)*)")
_REL = re.compile(r"""(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""", re.IGNORECASE)
_HUB_REDIRECTS = 3


def link_header_targets(values: Iterable[str], base_url: str) -> tuple[tuple[str, ...], str | None]:
    """The hub URLs and the self URL of Link header values (RFC 8288), resolved against `base_url`."""
    hubs: list[str] = []
    self_url: str | None = None
    for value in values:
        for target, params in _LINK_VALUE.findall(value[:8192]):
            rel = _REL.search(params)
            if rel is None:
                continue
            rels = (rel.group(1) or rel.group(2) or "").lower().split()
            url = urljoin(base_url, target.strip())
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            if "hub" in rels and url not in hubs and len(hubs) < 5:
                hubs.append(url)
            if "self" in rels and self_url is None:
                self_url = url
    return tuple(hubs), self_url


def new_secret() -> str:
    """A subscription's random secret for hub.secret (under the 200 bytes WebSub allows)."""
    return secrets.token_urlsafe(48)


def new_token() -> str:
    """The unguessable last segment of a subscription's callback URL (a capability URL)."""
    return secrets.token_urlsafe(32)


def challenge_ok(challenge: str | None) -> bool:
    """True for a hub.challenge we are willing to echo: short, of the characters WebSub allows."""
    return bool(challenge) and len(challenge or "") <= MAX_CHALLENGE and bool(_CHALLENGE.fullmatch(challenge or ""))


def signature_problem(header: str | None, body: bytes, secret: str) -> str | None:
    """Why a content distribution's X-Hub-Signature does not prove `secret` signed `body`; None when it does.

    The reasons are the log's stable values: missing, malformed, unknown_method, mismatch.
    """
    if not header:
        return "missing"
    method, sep, digest = header.strip().partition("=")
    if not sep or not digest:
        return "malformed"
    algorithm = SIGNATURE_METHODS.get(method.strip().lower())
    if algorithm is None:
        return "unknown_method"
    expected = hmac.new(secret.encode("utf-8"), body, algorithm).hexdigest()
    return None if hmac.compare_digest(expected, digest.strip().lower()) else "mismatch"


def sign(body: bytes, secret: str, method: str = "sha256") -> str:
    """An X-Hub-Signature value for `body` (what a hub sends; the tests' hub and benchmarks use it)."""
    return f"{method}=" + hmac.new(secret.encode("utf-8"), body, SIGNATURE_METHODS[method]).hexdigest()


@dataclass(frozen=True, slots=True)
class HubAnswer:
    """What the hub answered a subscription request: 202 Accepted (or another 2xx) is accepted."""

    hub: str  # the hub that answered (after 307/308)
    status: int
    message: str  # the hub's error description (first 300 characters), "" on success

    @property
    def accepted(self) -> bool:
        """The hub took the request and will verify our intent."""
        return 200 <= self.status < 300


async def hub_request(
    settings: FetchSettings, hub: str, *, mode: str, topic: str, callback: str, secret: str | None = None,
    lease_seconds: int | None = None, address_policy: AddressPolicy | None = None,
) -> HubAnswer:
    """POST a (un)subscription request to a hub (5.1); FetchError when the hub cannot be reached."""
    policy: AddressPolicy = (lambda ip: False) if settings.allow_private_networks else (
        address_policy or is_blocked_address)
    form = {"hub.mode": mode, "hub.topic": topic, "hub.callback": callback}
    if secret:
        form["hub.secret"] = secret
    if lease_seconds:
        form["hub.lease_seconds"] = str(lease_seconds)
    connector = aiohttp.TCPConnector(resolver=PolicyResolver(policy))
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=None), trust_env=False,
        headers={"User-Agent": settings.user_agent}, cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:
        current = hub
        try:
            async with asyncio.timeout(settings.timeout.total_seconds()):
                for _hop in range(_HUB_REDIRECTS + 1):
                    target = URL(current)
                    if target.scheme not in ("http", "https") or not target.raw_host:
                        raise FetchError("blocked_address", f"hub URL {current!r} refused: only http(s) URLs")
                    check_literal_host(target.raw_host, policy)
                    async with session.post(target, data=form, allow_redirects=False) as resp:
                        location = resp.headers.get("Location")
                        if resp.status in (307, 308) and location:
                            current = urljoin(current, location)
                            continue
                        text = "" if 200 <= resp.status < 300 else (await resp.content.read(300)).decode(
                            "utf-8", "replace")
                        return HubAnswer(current, resp.status, " ".join(text.split()))
        except TimeoutError:
            raise FetchError("timeout", f"the hub {current} did not answer within {settings.timeout}") from None
        except BlockedAddressError as exc:
            raise FetchError("blocked_address", str(exc)) from None
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.os_error, BlockedAddressError):
                raise FetchError("blocked_address", str(exc.os_error)) from None
            raise FetchError("dns", f"cannot resolve the hub {current}: {exc.os_error}") from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise FetchError("connection", f"cannot reach the hub {current}: {exc}") from None
    raise FetchError("too_many_redirects", f"the hub {hub} redirected more than {_HUB_REDIRECTS} times")
