"""The post-processing every format shares: RawFeed -> ParsedFeed of sanitised Articles (DESIGN §2 step 3).

Whatever the format, an entry's HTML is sanitised by nh3 against its base URI, its plain text
extracted, its link kept only when http(s), its language taken as declared (entry, then feed, then
the configured hint) or else detected by CLD2, its id and content hash derived, and every text
field capped (monitor/model.py).
"""

from __future__ import annotations

import hashlib
import html
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from monitor.model import Article, ParsedFeed
from monitor.parse.formats.base import RawEntry, RawFeed, RawText
from monitor.parse.language import detect_language, normalise_language
from monitor.parse.urls import article_link, canonical_url
from monitor.parse.websub import MAX_HUBS
from monitor.text.htmltext import html_to_text, plain_text, sanitize_html

__all__ = ["build_parsed_feed", "content_fingerprint", "stable_id"]

_ID_LENGTH = 32


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


def _render(text: RawText | None, base_url: str) -> tuple[str, str]:
    """Return (sanitised html, plain text) for a text construct."""
    if text is None or not text.value.strip():
        return "", ""
    value = text.value
    if text.html:
        return sanitize_html(value, text.base or base_url), html_to_text(value)
    # Plain text: escape for the HTML field, keep line breaks readable.
    escaped = html.escape(value.strip()).replace("\n", "<br>\n")
    plain = "\n".join(line.strip() for line in value.strip().splitlines() if line.strip())
    return escaped, plain


def _article(entry: RawEntry, *, base_url: str, feed_language: str | None, feed_author: str) -> Article:
    # Only http(s) links are kept (javascript:, data: and the like never become an href anywhere).
    url = article_link(entry.link or "", base_url) if entry.link is not None else ""
    title = plain_text(entry.title)
    summary_html, summary_text = _render(entry.summary, base_url)
    content_html, content_text = _render(entry.content, base_url)
    if content_html and summary_html == content_html:
        # feedparser copies Atom content into summary when there is no summary; keep it once.
        summary_html, summary_text = "", ""
    guid = entry.guid.strip() if entry.guid and entry.guid.strip() else None
    # Declared beats detected: the entry's xml:lang, the feed's <language>, the configured hint; only
    # then CLD2 on the title and text (None when it is not sure, so `lang:` never matches a guess).
    language = (
        normalise_language(entry.language)
        or feed_language
        or detect_language(f"{title}\n{summary_text or content_text}")
    )
    return Article(
        id=stable_id(
            guid=guid,
            url=url,
            title=title,
            published=entry.published,
            feed_url=base_url,
            text=summary_text or content_text,
        ),
        guid=guid,
        url=url,
        title=title,
        summary_html=summary_html,
        content_html=content_html,
        summary_text=summary_text,
        content_text=content_text,
        author=plain_text(entry.author) or feed_author,
        published_at=entry.published,
        language=language,
        content_hash=content_fingerprint(title, summary_text, content_text, url),
    )


def build_parsed_feed(raw: RawFeed, *, base_url: str, language_hint: str | None) -> ParsedFeed:
    """Finish a format's RawFeed: sanitised, plain-text, language-tagged, identified and capped Articles."""
    feed_language = normalise_language(raw.language)
    hint = normalise_language(language_hint)
    feed_author = plain_text(raw.author)
    articles = tuple(
        _article(entry, base_url=base_url, feed_language=feed_language or hint, feed_author=feed_author)
        for entry in raw.entries
    )
    return ParsedFeed(
        title=plain_text(raw.title),
        link=canonical_url(raw.link, base_url) if raw.link is not None else "",
        language=feed_language or hint,
        ttl_minutes=raw.ttl_minutes,
        articles=articles,
        bozo_message=raw.bozo_message,
        format=raw.format,
        hubs=tuple(dict.fromkeys(u for u in (_http_url(h, base_url) for h in raw.hubs) if u))[:MAX_HUBS],
        self_url=_http_url(raw.self_url, base_url) if raw.self_url else "",
    )


def _http_url(url: str, base_url: str) -> str:
    """An absolute http(s) URL (resolved against the feed's URL), or "" for any other scheme."""
    absolute = urljoin(base_url, url.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") and urlsplit(absolute).hostname else ""
