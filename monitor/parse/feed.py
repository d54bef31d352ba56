"""parse_feed: fetched bytes -> ParsedFeed of sanitised Articles (DESIGN §2 step 3)."""

from __future__ import annotations

import hashlib
import html
import io
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.model import Article, ParsedFeed
from monitor.parse.discovery import html_not_a_feed_message
from monitor.parse.fastpath import parse_fast
from monitor.parse.language import detect_language
from monitor.parse.prolog import UTF8_XML, neutralise_prolog
from monitor.parse.urls import article_link, canonical_url
from monitor.text.htmltext import html_to_text, plain_text, sanitize_html

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_LANGUAGE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]{1,8})*$")
_ID_LENGTH = 32
# The ElementTree fast path (fastpath.py) for plain RSS 2.0/Atom 1.0; it declines everything else.
# Module-level so the equivalence test and benchmarks can compare it with feedparser alone.
USE_FASTPATH = True


def stable_id(
    *, guid: str | None, url: str, title: str, published: datetime | None, feed_url: str = "", text: str = ""
) -> str:
    """Return the article id: hex digest of the guid, else the canonical URL, else feed-scoped fallbacks.

    Without a guid or a link nothing identifies an entry across feeds, so the fallbacks are scoped to
    the feed (a weak guid like "1", or title, date and text): otherwise every such entry of every
    feed would collapse into one article.
    """
    if guid and not _weak_guid(guid):
        key = "guid\x00" + guid
    elif url:
        key = "url\x00" + url
    elif guid:
        key = "feedguid\x00" + feed_url + "\x00" + guid
    else:
        date = published.isoformat() if published else ""
        key = "entry\x00" + "\x00".join((feed_url, title, date, text[:2000]))
    return hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()[:_ID_LENGTH]


def _weak_guid(guid: str) -> bool:
    # Short or numeric guids ("1", "post-7") repeat across sites; the canonical URL is a safer key.
    return len(guid) < 10 or guid.isdigit()


def content_fingerprint(*parts: str) -> str:
    """Return a hex digest that changes when any of `parts` changes (detects updated entries)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", errors="surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


def normalise_language(value: object) -> str | None:
    """Return the primary language subtag, lowercased ("en-US" -> "en"), or None when unusable."""
    if not isinstance(value, str):
        return None
    match = _LANGUAGE.match(value.strip())
    return match.group(1).lower() if match else None


def _utc(struct: Any) -> datetime | None:
    if not isinstance(struct, time.struct_time):
        return None
    try:
        return datetime(*struct[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _detail_html(detail: Mapping[str, Any] | None, base_url: str) -> tuple[str, str]:
    """Return (sanitised html, plain text) for a feedparser text construct."""
    if not detail:
        return "", ""
    value = detail.get("value") or ""
    if not isinstance(value, str) or not value.strip():
        return "", ""
    base = detail.get("base") or base_url
    if detail.get("type") in _HTML_TYPES:
        return sanitize_html(value, base), html_to_text(value)
    # Plain text: escape for the HTML field, keep line breaks readable.
    escaped = html.escape(value.strip()).replace("\n", "<br>\n")
    text = "\n".join(line.strip() for line in value.strip().splitlines() if line.strip())
    return escaped, text


def _pick_content(entry: Mapping[str, Any]) -> Mapping[str, Any] | None:
    contents = entry.get("content") or []
    if not contents:
        return None
    html_parts = [c for c in contents if c.get("type") in _HTML_TYPES]
    # Several <content> elements are alternatives (text and html); prefer the richest html one.
    pool = html_parts or list(contents)
    return max(pool, key=lambda c: len(c.get("value") or ""))


def _entry_language(entry: Mapping[str, Any]) -> str | None:
    for key in ("content", "summary_detail", "title_detail"):
        detail = entry.get(key)
        if isinstance(detail, list):
            detail = detail[0] if detail else None
        if isinstance(detail, Mapping):
            lang = normalise_language(detail.get("language"))
            if lang:
                return lang
    return normalise_language(entry.get("language"))


def _author(entry: Mapping[str, Any]) -> str:
    name = entry.get("author") or (entry.get("author_detail") or {}).get("name") or ""
    return plain_text(name) if isinstance(name, str) else ""


def _entry_to_article(
    entry: Mapping[str, Any], *, base_url: str, feed_language: str | None, feed_author: str
) -> Article:
    # Only http(s) links are kept (javascript:, data: and the like never become an href anywhere).
    url = article_link(entry.get("link") or "", base_url) if isinstance(entry.get("link"), str) else ""
    raw_title = entry.get("title") or ""
    title = plain_text(raw_title) if isinstance(raw_title, str) else ""
    summary_html, summary_text = _detail_html(entry.get("summary_detail"), base_url)
    content_html, content_text = _detail_html(_pick_content(entry), base_url)
    if content_html and summary_html == content_html:
        # feedparser copies Atom content into summary when there is no summary; keep it once.
        summary_html, summary_text = "", ""
    published_at = _utc(entry.get("published_parsed")) or _utc(entry.get("updated_parsed"))
    guid_value = entry.get("id")
    guid = guid_value.strip() if isinstance(guid_value, str) and guid_value.strip() else None
    # Declared beats detected: the entry's xml:lang, the feed's <language>, the configured hint; only
    # then CLD2 on the title and text (None when it is not sure, so `lang:` never matches a guess).
    language = _entry_language(entry) or feed_language or detect_language(f"{title}\n{summary_text or content_text}")
    return Article(
        id=stable_id(
            guid=guid, url=url, title=title, published=published_at, feed_url=base_url,
            text=summary_text or content_text,
        ),
        guid=guid,
        url=url,
        title=title,
        summary_html=summary_html,
        content_html=content_html,
        summary_text=summary_text,
        content_text=content_text,
        author=_author(entry) or feed_author,
        published_at=published_at,
        language=language,
        content_hash=content_fingerprint(title, summary_text, content_text, url),
    )


def _ttl_minutes(feed: Mapping[str, Any]) -> int | None:
    raw = feed.get("ttl")
    if isinstance(raw, str) and raw.strip().isdigit():
        value = int(raw.strip())
        return value if 0 < value <= 60 * 24 * 366 else None
    return None


def _looks_like_html(root: str | None, content_type: str | None) -> bool:
    if root == "html":
        return True
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "text/html" and root in (None, "head", "body")


def parse_feed(
    body: bytes,
    *,
    base_url: str,
    content_type: str | None = None,
    language_hint: str | None = None,
) -> ParsedFeed:
    """Parse fetched feed bytes into a ParsedFeed; raise ParseError("not_a_feed" | "parse_error")."""
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError("parse_feed takes the fetched bytes, never a URL or path")
    body = bytes(body)
    if not body.strip():
        raise ParseError("not_a_feed", "the response body is empty; check the feed URL")
    # Decoded once, by feedparser's own rules, and scrubbed of every declaration: both parsers below
    # read exactly these UTF-8 bytes (monitor/parse/prolog.py).
    prolog = neutralise_prolog(body, base_url=base_url, content_type=content_type)
    if _looks_like_html(prolog.root, content_type):
        raise ParseError("not_a_feed", html_not_a_feed_message(body, base_url))
    if prolog.root is None:
        raise ParseError("not_a_feed", "the response contains no XML element; it is not an RSS/Atom feed")
    if USE_FASTPATH and prolog.root in ("rss", "feed"):
        fast = parse_fast(
            prolog.body, base_url=base_url, language_hint=language_hint, encoding_problem=prolog.encoding_problem
        )
        if fast is not None:
            return fast
    try:
        # A file-like object: feedparser treats str/bytes that look like a URL or path as one to open.
        # feedparser's own HTML passes are off: nh3 sanitises every HTML field (the sanitize corpus
        # test proves it alone suffices) and resolves links against the construct's xml:base; the
        # two extra sgmllib passes cost more than half of the whole parse.
        result = feedparser.parse(
            io.BytesIO(prolog.body),
            response_headers={"content-location": base_url, "content-type": UTF8_XML},
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser's loose parser can raise on pathological input
        raise ParseError("parse_error", f"the feed could not be parsed: {exc}") from exc
    # A parse error outranks the encoding note, as in feedparser (its strict parser overwrites it).
    bozo_message = (
        (str(result.get("bozo_exception") or "") or "bozo feed") if result.get("bozo") else prolog.encoding_problem
    )
    return build_parsed_feed(
        result.get("feed") or {},
        result.get("entries") or [],
        bozo_message,
        base_url=base_url,
        language_hint=language_hint,
        version=result.get("version") or "",
        root=prolog.root,
    )


def build_parsed_feed(
    feed: Mapping[str, Any],
    entries: Sequence[Mapping[str, Any]],
    bozo_message: str | None,
    *,
    base_url: str,
    language_hint: str | None,
    version: str = "rss20",
    root: str | None = None,
) -> ParsedFeed:
    """Turn feedparser-shaped feed and entry dicts into a ParsedFeed (shared by both parse paths)."""
    if not entries:
        has_feed_elements = bool(feed.get("title") or feed.get("link") or feed.get("subtitle"))
        if not version and not has_feed_elements:
            if bozo_message:
                raise ParseError(
                    "parse_error", f"the feed is not well-formed XML and has no entries: {bozo_message}"
                )
            raise ParseError(
                "not_a_feed",
                f"the document (root element <{root}>) is not an RSS, Atom or RDF feed; check the feed URL",
            )
    feed_language = normalise_language(feed.get("language")) or normalise_language(
        (feed.get("title_detail") or {}).get("language")
    )
    hint = normalise_language(language_hint)
    feed_author = _author(feed)
    articles = tuple(
        _entry_to_article(
            entry, base_url=base_url, feed_language=feed_language or hint, feed_author=feed_author
        )
        for entry in entries
    )
    link = feed.get("link")
    return ParsedFeed(
        title=plain_text(feed.get("title") or ""),
        link=canonical_url(link, base_url) if isinstance(link, str) else "",
        language=feed_language or hint,
        ttl_minutes=_ttl_minutes(feed),
        articles=articles,
        bozo_message=bozo_message,
    )
