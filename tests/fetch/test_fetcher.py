"""Fetcher against a real HTTP server on 127.0.0.1 (see conftest.py)."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import FETCH_ERROR_KINDS, FetchError, FetchHTTPError
from monitor.fetch import Fetcher, FetchResult, is_blocked_address

from .server_app import ETAG, FEED, LAST_MODIFIED, gzip_bomb

Fetch = Callable[..., FetchResult]


def error_of(fetch_once: Fetch, url: str, **kw: Any) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch_once(url, **kw)
    assert info.value.kind in FETCH_ERROR_KINDS
    assert info.value.message  # every error says what happened and what to do
    return info.value


# ------------------------------------------------------------------ success and conditional GET


def test_200_returns_body_and_validators(server, fetch_once):
    result = fetch_once(server.url("/feed"))
    assert result.status == 200
    assert result.body == FEED
    assert result.body_hash == hashlib.sha256(FEED).hexdigest()
    assert result.content_type.startswith("application/rss+xml")
    assert result.etag == ETAG
    assert result.last_modified == LAST_MODIFIED
    assert result.max_age == 300
    assert result.final_url == result.requested_url == server.url("/feed")
    assert result.permanent_redirect is None
    assert not result.not_modified and not result.unchanged
    assert result.elapsed >= 0


def test_sends_user_agent_and_accept(server, fetch_once, make_settings):
    result = fetch_once(server.url("/headers"), settings_=make_settings(user_agent="test-agent/1"))
    headers = json.loads(result.body)
    assert headers["User-Agent"] == "test-agent/1"
    assert "application/rss+xml" in headers["Accept"]
    assert "gzip" in headers["Accept-Encoding"]


def test_304_round_trip_with_etag(server, fetch_once):
    first = fetch_once(server.url("/feed"))
    second = fetch_once(server.url("/feed"), etag=first.etag, previous_body_hash=first.body_hash)
    assert second.status == 304
    assert second.not_modified and second.unchanged
    assert second.body is None
    assert second.etag == ETAG
    assert second.body_hash == first.body_hash


def test_304_round_trip_with_last_modified_keeps_validators(server, fetch_once):
    first = fetch_once(server.url("/lm-only"))
    assert first.last_modified == LAST_MODIFIED and first.etag is None
    second = fetch_once(server.url("/lm-only"), last_modified=first.last_modified)
    assert second.not_modified
    assert second.last_modified == LAST_MODIFIED  # the server did not repeat it; we keep ours


def test_same_body_hash_is_unchanged(server, fetch_once):
    first = fetch_once(server.url("/lm-only"))
    again = fetch_once(server.url("/lm-only"), previous_body_hash=first.body_hash)
    assert again.status == 200
    assert again.unchanged and not again.not_modified
    assert again.body is None
    assert again.body_hash == first.body_hash
    other = fetch_once(server.url("/lm-only"), previous_body_hash="0" * 64)
    assert other.body == FEED and not other.unchanged


def test_brotli_is_decompressed(server, fetch_once):
    assert fetch_once(server.url("/brotli")).body == FEED


# ------------------------------------------------------------------ redirects


@pytest.mark.parametrize("path", ["/r301", "/r308"])
def test_permanent_redirect_is_reported(server, fetch_once, path):
    result = fetch_once(server.url(path))
    assert result.body == FEED
    assert result.final_url == server.url("/feed")
    assert result.permanent_redirect == server.url("/feed")


def test_temporary_redirect_is_not_permanent(server, fetch_once):
    result = fetch_once(server.url("/r302"))
    assert result.final_url == server.url("/feed")
    assert result.permanent_redirect is None


def test_relative_location_is_resolved(server, fetch_once):
    result = fetch_once(server.url("/r301-relative/deeper"))
    assert result.permanent_redirect == server.url("/feed")


def test_permanent_then_temporary_stores_the_permanent_target(server, fetch_once):
    result = fetch_once(server.url("/r301-to-r302"))
    assert result.final_url == server.url("/feed")
    assert result.permanent_redirect == server.url("/r302")


def test_temporary_then_permanent_keeps_the_original(server, fetch_once):
    result = fetch_once(server.url("/r302-to-r301"))
    assert result.final_url == server.url("/feed")
    assert result.permanent_redirect is None


def test_redirect_loop(server, fetch_once):
    error = error_of(fetch_once, server.url("/loop-a"))
    assert error.kind == "too_many_redirects"
    assert "loop" in error.message


def test_redirect_limit(server, fetch_once, make_settings):
    assert fetch_once(server.url("/chain/3"), settings_=make_settings(max_redirects=3)).body == FEED
    error = error_of(fetch_once, server.url("/chain/4"), settings_=make_settings(max_redirects=3))
    assert error.kind == "too_many_redirects"
    assert "fetch.max_redirects" in error.message


def test_redirect_without_location(server, fetch_once):
    assert error_of(fetch_once, server.url("/no-location")).kind == "http_5xx"


def test_redirect_to_file_url_is_refused(server, fetch_once):
    error = error_of(fetch_once, server.url("/to-file"), fetcher_kw={"allow_local_feeds": True})
    assert error.kind == "blocked_address"


# ------------------------------------------------------------------ HTTP errors


def test_410_is_gone(server, fetch_once):
    error = error_of(fetch_once, server.url("/gone"))
    assert error.kind == "gone"
    assert isinstance(error, FetchHTTPError) and error.status == 410


def test_404_is_http_4xx(server, fetch_once):
    error = error_of(fetch_once, server.url("/missing"))
    assert error.kind == "http_4xx" and error.status == 404


def test_500_is_http_5xx(server, fetch_once):
    error = error_of(fetch_once, server.url("/error"))
    assert error.kind == "http_5xx" and error.status == 500


def test_429_with_retry_after_seconds(server, fetch_once):
    error = error_of(fetch_once, server.url("/ratelimited"))
    assert error.kind == "rate_limited"
    assert error.status == 429 and error.retry_after == 120


def test_429_with_retry_after_date(server, fetch_once):
    error = error_of(fetch_once, server.url("/ratelimited-date"))
    assert error.kind == "rate_limited"
    assert error.retry_after is not None and error.retry_after > 365 * 86400  # a date in 2099


def test_503_with_retry_after_is_rate_limited(server, fetch_once):
    error = error_of(fetch_once, server.url("/unavailable"))
    assert error.kind == "rate_limited" and error.status == 503 and error.retry_after == 30
    plain = error_of(fetch_once, server.url("/unavailable-plain"))
    assert plain.kind == "http_5xx" and plain.retry_after is None


# ------------------------------------------------------------------ limits


def test_slow_drip_hits_the_total_deadline(server, fetch_once, make_settings):
    error = error_of(fetch_once, server.url("/slow"), settings_=make_settings(timeout="2s"))
    assert error.kind == "timeout"
    assert "fetch.timeout" in error.message


def test_endless_body_is_too_large(server, fetch_once, make_settings):
    error = error_of(fetch_once, server.url("/endless"), settings_=make_settings(max_bytes="1MiB"))
    assert error.kind == "too_large"
    assert "fetch.max_bytes" in error.message


def test_announced_length_over_cap_is_too_large(server, fetch_once, make_settings):
    error = error_of(fetch_once, server.url("/big"), settings_=make_settings(max_bytes="1MiB"))
    assert error.kind == "too_large"


def test_gzip_bomb_stops_at_cap_with_bounded_memory(server, fetch_once, make_settings):
    gzip_bomb()  # build the 1 GiB bomb before measuring: it is the server's memory, not ours
    gc.collect()
    tracemalloc.start()
    try:
        error = error_of(fetch_once, server.url("/bomb"), settings_=make_settings(max_bytes="1MiB"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind == "too_large"
    # The body decompresses to 1 GiB; a bounded reader peaks at a few MiB (cap + chunks + server copy).
    assert peak < 32 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"


# ------------------------------------------------------------------ address policy


def test_loopback_literal_is_blocked_by_default(server, fetch_once, make_settings):
    error = error_of(fetch_once, server.url("/feed"), settings_=make_settings(allow_private_networks=False))
    assert error.kind == "blocked_address"
    assert "127.0.0.1" in error.message and "allow_private_networks" in error.message


def test_loopback_name_is_blocked_by_resolver(server, fetch_once, make_settings):
    url = server.url("/feed").replace("127.0.0.1", "localhost")
    error = error_of(fetch_once, url, settings_=make_settings(allow_private_networks=False))
    assert error.kind == "blocked_address"
    assert "localhost" in error.message


def _only_test_server(ip: str) -> bool:
    """A policy that allows the test server's address and applies the real policy to the rest."""
    return ip != "127.0.0.1" and is_blocked_address(ip)


def test_redirect_hop_to_metadata_address_is_blocked(server, fetch_once, make_settings):
    strict = make_settings(allow_private_networks=False)
    assert fetch_once(server.url("/feed"), settings_=strict, fetcher_kw={"address_policy": _only_test_server})
    error = error_of(
        fetch_once, server.url("/to-metadata"), settings_=strict,
        fetcher_kw={"address_policy": _only_test_server},
    )
    assert error.kind == "blocked_address"
    assert "169.254.169.254" in error.message


def test_redirect_hop_by_name_filters_blocked_addresses(server, fetch_once, make_settings):
    # localhost may resolve to ::1 and 127.0.0.1; the resolver drops ::1 and connects to 127.0.0.1.
    strict = make_settings(allow_private_networks=False)
    result = fetch_once(
        server.url("/to-localhost"), settings_=strict, fetcher_kw={"address_policy": _only_test_server}
    )
    assert result.body == FEED
    assert result.permanent_redirect is not None and "localhost" in result.permanent_redirect


def test_unresolvable_host_is_dns_error(fetch_once):
    assert error_of(fetch_once, "http://no-such-host.invalid/feed").kind == "dns"


def test_refused_connection(fetch_once):
    # Port 9 (discard) on loopback is closed on any sane test machine.
    assert error_of(fetch_once, "http://127.0.0.1:9/feed").kind == "connection"


# ------------------------------------------------------------------ local files


def test_file_url_refused_without_allow_local_feeds(tmp_path: Path, fetch_once):
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    for url in (path.as_uri(), str(path)):
        error = error_of(fetch_once, url)
        assert error.kind == "local_not_allowed"
        assert "allow_local_feeds" in error.message


def test_file_url_allowed(tmp_path: Path, fetch_once, make_settings):
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    for url in (path.as_uri(), str(path)):
        result = fetch_once(url, fetcher_kw={"allow_local_feeds": True})
        assert result.body == FEED and result.status == 200
        assert result.content_type == "application/xml"
    again = fetch_once(path.as_uri(), fetcher_kw={"allow_local_feeds": True}, previous_body_hash=result.body_hash)
    assert again.unchanged and again.body is None
    path.write_bytes(b"x" * 2048)
    error = error_of(
        fetch_once, path.as_uri(), settings_=make_settings(max_bytes=1024), fetcher_kw={"allow_local_feeds": True}
    )
    assert error.kind == "too_large"
    missing = error_of(fetch_once, (tmp_path / "nope.xml").as_uri(), fetcher_kw={"allow_local_feeds": True})
    assert missing.kind == "http_4xx"


# ------------------------------------------------------------------ concurrency


def test_per_host_limit_is_respected(server, make_settings):
    """With per_host=2, no more than two requests to one host are in flight at once."""
    in_flight = 0
    peak = 0

    async def go() -> None:
        nonlocal in_flight, peak
        async with Fetcher(make_settings(per_host=2, concurrency=8, timeout="10s")) as fetcher:
            original = fetcher._fetch_http

            async def counting(*args: Any) -> FetchResult:
                nonlocal in_flight, peak
                in_flight += 1
                peak = max(peak, in_flight)
                try:
                    await asyncio.sleep(0.05)
                    return await original(*args)
                finally:
                    in_flight -= 1

            fetcher._fetch_http = counting  # type: ignore[method-assign]
            await asyncio.gather(*(fetcher.fetch(server.url("/feed")) for _ in range(8)))

    asyncio.run(go())
    assert peak == 2


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/to-bad-port", "Port out of range"), ("/to-bad-ipv6", "IPv6"), ("/to-backslash", "backslash"),
     ("/to-no-host", "host")],
)
def test_a_malformed_redirect_location_is_a_bad_redirect(server, fetch_once, path: str, reason: str) -> None:
    # Issue 13.7: these raised a raw ValueError, recorded as `internal` (a bug in the service).
    error = error_of(fetch_once, server.url(path))
    assert error.kind == "bad_redirect"
    assert server.url(path) in error.message and reason in error.message
    assert "tell the publisher" in error.message


def test_literal_host_is_checked_once_per_fetcher_and_refused_every_time(server, make_settings):
    """An allowed literal address is parsed once per Fetcher; a refused one is refused on every request."""
    asked: list[str] = []

    def policy(ip: str) -> bool:
        asked.append(ip)
        return _only_test_server(ip)

    async def go() -> tuple[list[FetchResult], list[FetchError]]:
        strict = make_settings(allow_private_networks=False)
        async with Fetcher(strict, address_policy=policy) as fetcher:
            results = [await fetcher.fetch(server.url("/feed")) for _ in range(3)]
            errors = []
            for _ in range(2):
                with pytest.raises(FetchError) as caught:
                    await fetcher.fetch(server.url("/to-metadata"))
                errors.append(caught.value)
        return results, errors

    results, errors = asyncio.run(go())
    assert [r.status for r in results] == [200, 200, 200]
    assert asked.count("127.0.0.1") == 1, "the test server's literal address: checked on the first request only"
    assert [e.kind for e in errors] == ["blocked_address", "blocked_address"]
    assert asked.count("169.254.169.254") == 2, "a refused address is asked about again"
