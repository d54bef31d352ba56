"""The HTTP (and local-file) fetcher: limits, conditional GET, redirects, address policy."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import time
from email.utils import formatdate
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit
from urllib.request import url2pathname

import aiohttp
from yarl import URL

from monitor.config.models import FetchSettings
from monitor.errors import BlockedAddressError, FetchError, FetchHTTPError
from monitor.fetch.addresses import AddressPolicy, PolicyResolver, check_literal_host, is_blocked_address
from monitor.fetch.result import FetchResult, parse_max_age, parse_retry_after
from monitor.fetch.websub import link_header_targets

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.5, */*;q=0.1"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_CHUNK = 64 * 1024


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB"


def is_local_url(url: str) -> bool:
    """True for file: URLs and plain paths (anything that is not http or https)."""
    return _scheme_and_host(url)[0]


@lru_cache(maxsize=8192)
def _scheme_and_host(url: str) -> tuple[bool, str]:
    """Whether `url` is local (`is_local_url`), and its host in lower case; cached, as feed URLs recur every tick."""
    parts = urlsplit(url)
    return parts.scheme.lower() not in ("http", "https"), (parts.hostname or "").lower()


def _too_large(limit: int, what: str) -> FetchError:
    return FetchError(
        "too_large",
        f"{what} more than {_mib(limit)} after decompression; "
        "raise fetch.max_bytes if this feed is legitimately large",
    )


class Fetcher:
    """Fetches feeds politely and safely; use as `async with Fetcher(settings) as f`."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        allow_local_feeds: bool = False,
        address_policy: AddressPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._allow_local = allow_local_feeds
        # address_policy replaces is_blocked_address (tests use it to allow only 127.0.0.1);
        # allow_private_networks switches the policy off entirely.
        if settings.allow_private_networks:
            self._policy: AddressPolicy = lambda ip: False
        else:
            self._policy = address_policy or is_blocked_address
        self._timeout = settings.timeout.total_seconds()
        self._global = asyncio.Semaphore(settings.concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = {}
        # Hosts whose literal address (if any) the policy allowed: the same answer for every request,
        # so the address is parsed once per host (the resolver still checks every address connected to).
        self._allowed_hosts: set[str] = set()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        connector = aiohttp.TCPConnector(
            resolver=PolicyResolver(self._policy),
            limit=self._settings.concurrency,
            limit_per_host=0,  # our per-host semaphore is the limit; redirects may hop hosts
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # asyncio.timeout in fetch() is the one deadline; aiohttp's own would only overlap it.
            timeout=aiohttp.ClientTimeout(total=None),
            headers={"User-Agent": self._settings.user_agent, "Accept": ACCEPT},
            cookie_jar=aiohttp.DummyCookieJar(),  # feeds need no cookies; sharing them across feeds leaks
            trust_env=False,  # a proxy from the environment would bypass the address policy
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        previous_body_hash: str | None = None,
    ) -> FetchResult:
        """Fetch `url` once; return a FetchResult or raise FetchError (kinds in FETCH_ERROR_KINDS)."""
        local, host = _scheme_and_host(url)
        if local:
            return await self._fetch_local(url, previous_body_hash)
        per_host = self._per_host.get(host)
        if per_host is None:
            per_host = self._per_host[host] = asyncio.Semaphore(self._settings.per_host)
        # Per-host first: a burst of feeds on one host must not sit on global slots while queued.
        async with per_host, self._global:
            # The deadline starts once we hold the slots, so queueing never counts as a timeout.
            started = time.monotonic()
            try:
                async with asyncio.timeout(self._timeout):
                    return await self._fetch_http(url, etag, last_modified, previous_body_hash, started)
            except TimeoutError:
                raise FetchError(
                    "timeout",
                    f"no complete answer from {host} within {self._timeout:g}s (connect, redirects and "
                    "body together); the server may be down or slow, raise fetch.timeout if it is "
                    "always this slow",
                ) from None
            except BlockedAddressError as exc:
                raise FetchError("blocked_address", str(exc)) from None
            except aiohttp.ClientConnectorDNSError as exc:
                if isinstance(exc.os_error, BlockedAddressError):
                    raise FetchError("blocked_address", str(exc.os_error)) from None
                raise FetchError("dns", f"cannot resolve {host}: {exc.os_error}; check the feed URL") from None
            except aiohttp.ClientSSLError as exc:
                raise FetchError(
                    "tls", f"TLS failed with {host}: {exc}; the server's certificate or TLS setup is broken"
                ) from None
            except aiohttp.ClientConnectorError as exc:
                raise FetchError(
                    "connection", f"cannot connect to {host}: {exc.os_error}; the server may be down"
                ) from None
            except aiohttp.InvalidURL as exc:
                raise FetchError("connection", f"invalid URL {exc}; fix the feed URL") from None
            except aiohttp.ClientError as exc:
                raise FetchError(
                    "connection", f"connection to {host} failed mid-answer: {exc!r}; will retry"
                ) from None

    async def _fetch_http(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        previous_body_hash: str | None,
        started: float,
    ) -> FetchResult:
        if self._session is None:
            raise RuntimeError("use Fetcher as 'async with Fetcher(settings) as fetcher'")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        seen = [url]
        permanent: str | None = None
        # Only a leading run of 301/308 hops moves the feed: after a temporary hop the
        # original URL stays the one to poll (A -302-> B -301-> C keeps A).
        still_permanent = True
        for _hop in range(self._settings.max_redirects + 1):
            target = URL(current)
            if target.scheme not in ("http", "https") or not target.raw_host:
                raise FetchError(
                    "blocked_address",
                    f"redirect to {current!r} refused: only http(s) URLs with a host may be followed",
                )
            if target.raw_host not in self._allowed_hosts:
                check_literal_host(target.raw_host, self._policy)
                self._allowed_hosts.add(target.raw_host)
            try:
                response = await self._session.get(target, headers=headers, allow_redirects=False)
            except (aiohttp.InvalidURL, ValueError) as exc:
                if len(seen) == 1:
                    raise  # the feed URL itself: reported as an invalid URL by fetch()
                raise _bad_redirect(seen[-2], current, exc) from None
            async with response as resp:
                if resp.status in _REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        raise FetchHTTPError(
                            "http_5xx",
                            f"{current} answered {resp.status} without a Location header; a server fault",
                            status=resp.status,
                        )
                    current = _redirect_target(resp.url, location, resp.status)
                    if still_permanent and resp.status in _PERMANENT:
                        permanent = current
                    else:
                        still_permanent = False
                    if current in seen:
                        raise FetchError(
                            "too_many_redirects", f"redirect loop: {' -> '.join([*seen, current])}"
                        )
                    seen.append(current)
                    continue
                return await self._finish(resp, url, permanent, etag, last_modified, previous_body_hash, started)
        raise FetchError(
            "too_many_redirects",
            f"more than {self._settings.max_redirects} redirects ({' -> '.join(seen)}); "
            "point the feed at the final URL or raise fetch.max_redirects",
        )

    async def _finish(
        self,
        resp: aiohttp.ClientResponse,
        requested: str,
        permanent: str | None,
        etag: str | None,
        last_modified: str | None,
        previous_body_hash: str | None,
        started: float,
    ) -> FetchResult:
        status = resp.status
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if status == 304:
            return FetchResult(
                requested_url=requested,
                final_url=str(resp.url),
                status=304,
                body=None,
                body_hash=previous_body_hash,
                content_type=None,
                # A 304 need not repeat the validators; keep the ones we sent so the caller stores them.
                etag=resp.headers.get("ETag") or etag,
                last_modified=resp.headers.get("Last-Modified") or last_modified,
                retry_after=retry_after,
                max_age=parse_max_age(resp.headers.get("Cache-Control")),
                permanent_redirect=permanent,
                not_modified=True,
                unchanged=True,
                elapsed=time.monotonic() - started,
            )
        if not 200 <= status < 300:
            resp.close()  # never read an error body: it may be as large or slow as any other
            raise _status_error(str(resp.url), status, retry_after)
        body = await self._read_capped(resp)
        body_hash = hashlib.sha256(body).hexdigest()
        unchanged = previous_body_hash is not None and body_hash == previous_body_hash
        hubs, self_url = link_header_targets(resp.headers.getall("Link", []), str(resp.url))
        return FetchResult(
            requested_url=requested,
            final_url=str(resp.url),
            status=status,
            body=None if unchanged else body,
            body_hash=body_hash,
            content_type=resp.headers.get("Content-Type"),
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            retry_after=retry_after,
            max_age=parse_max_age(resp.headers.get("Cache-Control")),
            permanent_redirect=permanent,
            not_modified=False,
            unchanged=unchanged,
            elapsed=time.monotonic() - started,
            hubs=hubs,
            self_url=self_url,
        )

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        limit = self._settings.max_bytes
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding == "identity" and (resp.content_length or 0) > limit:
            resp.close()
            raise _too_large(limit, f"server announced {resp.content_length} bytes,")
        # aiohttp decompresses incrementally (bounded per chunk), so counting the
        # decompressed chunks as they come keeps memory near the cap even for a bomb.
        buf = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            buf += chunk
            if len(buf) > limit:
                resp.close()  # drop the connection instead of draining an endless body
                raise _too_large(limit, "server sent")
        return bytes(buf)

    async def _fetch_local(self, url: str, previous_body_hash: str | None) -> FetchResult:
        if not self._allow_local:
            raise FetchError(
                "local_not_allowed",
                f"{url} is a local file; set allow_local_feeds: true in monitor.yaml to read local feeds",
            )
        started = time.monotonic()
        parts = urlsplit(url)
        path = Path(url2pathname(parts.path)) if parts.scheme.lower() == "file" else Path(url)
        limit = self._settings.max_bytes
        try:
            async with asyncio.timeout(self._timeout):
                body, mtime = await asyncio.to_thread(_read_file, path, limit)
        except TimeoutError:
            raise FetchError("timeout", f"reading {path} took longer than {self._timeout:g}s") from None
        except OSError as exc:
            raise FetchError("http_4xx", f"cannot read {path}: {exc.strerror or exc}; check the path") from None
        if len(body) > limit:
            raise _too_large(limit, f"{path} holds")
        body_hash = hashlib.sha256(body).hexdigest()
        unchanged = previous_body_hash is not None and body_hash == previous_body_hash
        return FetchResult(
            requested_url=url,
            final_url=url,
            status=200,
            body=None if unchanged else body,
            body_hash=body_hash,
            content_type=mimetypes.guess_type(path.name)[0],
            etag=None,
            last_modified=formatdate(mtime, usegmt=True),
            retry_after=None,
            max_age=None,
            permanent_redirect=None,
            not_modified=False,
            unchanged=unchanged,
            elapsed=time.monotonic() - started,
        )


def _bad_redirect(source: str, location: str, exc: Exception) -> FetchError:
    return FetchError(
        "bad_redirect",
        f"{source} redirects to {location!r}, which is not a usable URL ({exc}); the server's redirect is "
        "broken: tell the publisher, or point the feed at the right URL",
    )


def _redirect_target(base: URL, location: str, status: int) -> str:
    """The absolute URL a redirect's Location points at; FetchError("bad_redirect") when it is malformed."""
    try:
        text = str(base.join(URL(location)))
        # Parsed back as the next hop will be: a bad port or IPv6 literal may only fail here. (Other
        # schemes, file: and the like, are refused as blocked_address by the hop itself.)
        again = URL(text)
        if again.scheme in ("http", "https"):
            if not again.raw_host:
                raise ValueError("no host")
            again.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:  # yarl's errors for a bad port, IPv6 literal, backslash or missing host
        raise _bad_redirect(f"{base} ({status})", location, exc) from None
    return text


def _read_file(path: Path, limit: int) -> tuple[bytes, float]:
    with path.open("rb") as fh:
        # Read one byte past the cap so "exactly at the cap" and "over it" differ.
        return fh.read(limit + 1), path.stat().st_mtime


def _status_error(url: str, status: int, retry_after: float | None) -> FetchHTTPError:
    wait = f" (Retry-After {retry_after:g}s)" if retry_after is not None else ""
    if status == 410:
        return FetchHTTPError(
            "gone", f"{url} answered 410 Gone: the feed was removed; remove it from feeds.yaml", status=status
        )
    if status == 429 or (status == 503 and retry_after is not None):
        return FetchHTTPError(
            "rate_limited",
            f"{url} answered {status}: rate limited{wait}; polling will wait as asked",
            status=status,
            retry_after=retry_after,
        )
    if 500 <= status < 600:
        return FetchHTTPError(
            "http_5xx", f"{url} answered {status}: a server error; will retry with backoff",
            status=status, retry_after=retry_after,
        )
    hint = {
        401: "the feed needs credentials",
        403: "the server refuses us; check fetch.user_agent or the URL",
        404: "the URL is wrong or the feed moved; check it",
    }.get(status, "check the feed URL")
    return FetchHTTPError("http_4xx", f"{url} answered {status}: {hint}", status=status, retry_after=retry_after)
