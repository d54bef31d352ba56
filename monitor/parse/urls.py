"""Canonical URLs: one spelling per article link, so the same story from two feeds dedupes."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from monitor.model import URL_MAX_CHARS

# Parameters that identify the click, not the document.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "__twitter_impression",
    }
)
_TRACKING_PREFIXES = ("utm_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What a browser ignores in a URL: C0 controls and spaces around it, tabs and newlines inside it.
_URL_EDGES = "".join(chr(c) for c in range(0x21))
_URL_INSIDE = re.compile(r"[\t\r\n]")
_HTTP_PREFIX = re.compile(r"https?://[^/?#\\]", re.IGNORECASE)
# A link already canonical: http(s), lowercase host (no user, port or trailing dot), a path of plain
# ASCII characters, no query or fragment. canonical_url returns it as written whatever the base, so
# the join, split and re-assembly are skipped (tests/parse/test_urls.py checks it on generated URLs).
_CANONICAL_AS_WRITTEN = re.compile(r"https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?/[A-Za-z0-9._~!$&'()*+,=:@%/-]*\Z")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str, base: str | None = None) -> str:
    """Resolve `url` against `base`, lowercase scheme and host, drop tracking params, fragment and default port."""
    if _CANONICAL_AS_WRITTEN.match(url):
        return url
    return _canonical_url(url, base)


def _canonical_url(url: str, base: str | None) -> str:
    url = url.strip()
    if not url:
        return ""
    if base:
        try:
            url = urljoin(base, url)
        except ValueError:
            return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        # A malformed URL (bad port, bad IPv6 literal) is kept as written rather than dropped.
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        # mailto:, tag:, urn: etc. have no host to normalise; only drop the fragment.
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, "")) if scheme else url
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{host}"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc = f"{netloc}:{port}"
    path = parts.path or "/"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not _is_tracking(k)]
        # Re-encode only when something was removed, so an unusual but meaningful encoding survives.
        if len(kept) != len(pairs):
            query = urlencode(kept)
    return urlunsplit((scheme, netloc, path, query, ""))


def http_link(url: str | None) -> str | None:
    """`url` when it is an http(s) URL with a host, else None: the only links the dashboard and API show.

    Checked the way a browser reads it (surrounding controls and spaces, tabs and newlines inside
    ignored), so `java\tscript:` or ` javascript:` never pass for a link.
    """
    if not url or len(url) > URL_MAX_CHARS:
        return None
    seen = _URL_INSIDE.sub("", url.strip(_URL_EDGES))
    try:
        parts = urlsplit(seen)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or not _HTTP_PREFIX.match(seen):
        return None
    return url


def article_link(url: str, base: str | None = None) -> str:
    """The canonical form of an entry's link when it is http(s) with a host, else "" (no link).

    `javascript:`, `data:`, `mailto:` and relative links that no base makes absolute are dropped at
    parse time: the article then has no link (its id comes from its guid or the feed-scoped fallback).
    """
    if _CANONICAL_AS_WRITTEN.match(url):
        return url if len(url) <= URL_MAX_CHARS else ""
    link = canonical_url(url, base)
    return link if http_link(link) == link and link else ""
