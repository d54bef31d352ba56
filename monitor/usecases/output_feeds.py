"""Output feeds: each watchlist and each subscriber's selection as an Atom feed and a JSON Feed 1.1 at
`/feeds/<token>.atom` and `/feeds/<token>.json` (README, "Output feeds").

The token is HMAC-SHA256 of the scope ("watchlist:<id>" or "subscriber:<id>") under a key generated
once and kept in the database (stored_secrets `output_feeds`), cut to 128 bits: unguessable, the same
across restarts and processes, nothing to configure, and a scope's URL cannot be derived from its id.
Deleting that row changes every URL at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from xml.etree import ElementTree as ET

from monitor.config.models import Config, SubscriberConfig
from monitor.notify.render import mark_html, plain_text, safe_url
from monitor.store.db import Database
from monitor.store.output_feeds import FeedArticle, scope_articles
from monitor.store.subscriptions import stored_secret
from monitor.text.htmltext import sanitize_html

OUTPUT_FEEDS_SECRET = "output_feeds"
ITEMS = 50
"""Articles an output feed lists: the newest matched in its scope."""
_ATOM = "http://www.w3.org/2005/Atom"

ScopeKind = Literal["watchlist", "subscriber"]


@dataclass(frozen=True, slots=True)
class OutputFeed:
    """One output feed: whose matches it lists, its token and its title."""

    kind: ScopeKind
    id: str
    title: str
    token: str
    watchlists: tuple[str, ...]  # whole watchlists
    entries: tuple[tuple[str, str], ...] = ()  # single entries (watchlist, entry id)
    muted: tuple[tuple[str | None, str], ...] = ()  # (watchlist or None: any, entry id)

    def url(self, base_url: str, extension: Literal["atom", "json"]) -> str:
        """The feed's address under the dashboard's base URL."""
        return f"{base_url.rstrip('/')}/feeds/{self.token}.{extension}"


def feed_token(secret: bytes, kind: ScopeKind, scope_id: str) -> str:
    """The token of a scope: 32 hex digits of HMAC-SHA256 (128 bits)."""
    return hmac.new(secret, f"{kind}:{scope_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _subscriber_scope(subscriber: SubscriberConfig) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...], tuple[tuple[str | None, str], ...]]:
    whole = tuple(key for key in subscriber.watchlists if "/" not in key)
    entries = tuple((key.split("/", 1)[0], key.split("/", 1)[1]) for key in subscriber.watchlists if "/" in key)
    muted: list[tuple[str | None, str]] = []
    for key in subscriber.mute:
        watchlist, _, entry = key.rpartition("/")
        muted.append((watchlist or None, entry))
    return whole, entries, tuple(muted)


def output_feeds(config: Config, secret: bytes) -> list[OutputFeed]:
    """Every output feed of the configuration: one per watchlist, one per subscriber that follows watchlists."""
    feeds = [
        OutputFeed("watchlist", wid, f"monitor: {watchlist.name}", feed_token(secret, "watchlist", wid), (wid,))
        for wid, watchlist in sorted(config.watchlists.items())
    ]
    for subscriber in config.subscribers:
        if not subscriber.watchlists:
            continue  # an operator with only feed_health: true has no matches to follow
        whole, entries, muted = _subscriber_scope(subscriber)
        feeds.append(OutputFeed("subscriber", subscriber.id, f"monitor: {subscriber.name or subscriber.id}",
                                feed_token(secret, "subscriber", subscriber.id), whole, entries, muted))
    return feeds


def feeds_secret(db: Database) -> bytes:
    """The key the tokens are made with (generated on first use, kept in the database)."""
    return stored_secret(db, OUTPUT_FEEDS_SECRET)


def find_feed(config: Config, secret: bytes, token: str) -> OutputFeed | None:
    """The output feed a token names (compared in constant time), or None."""
    found = None
    for feed in output_feeds(config, secret):
        if hmac.compare_digest(feed.token, token):
            found = feed
    return found


def feed_articles(db: Database, feed: OutputFeed, *, limit: int = ITEMS) -> list[FeedArticle]:
    """The articles of an output feed, newest first, each with its matches in the feed's scope only."""
    return scope_articles(db, feed.watchlists, feed.entries, feed.muted, limit=limit)


# ---------------------------------------------------------------- rendering


def _z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _names(config: Config) -> dict[str, str]:
    return {wid: w.name for wid, w in config.watchlists.items()}


def item_html(article: FeedArticle, config: Config, base_url: str) -> str:
    """An item's content: outlet, every matched entry with its marked words, the summary, the dashboard link (sanitised)."""
    names = _names(config)
    parts = [f"<p><strong>{_esc(article.outlet)}</strong></p>", "<ul>"]
    for m in article.matches:
        parts.append(f"<li><strong>{_esc(plain_text(m.entry_name))}</strong> ({_esc(names.get(m.watchlist, m.watchlist))}): "
                     f"{_marked(m.snippet)}</li>")
    parts.append("</ul>")
    if article.summary_text:
        parts.append(f"<p>{_esc(plain_text(article.summary_text)[:500])}</p>")
    link = safe_url(f"{base_url.rstrip('/')}/articles/{article.id}") if base_url else ""
    if link:
        parts.append(f'<p><a href="{_esc(link)}">Why this matched</a></p>')
    return sanitize_html("".join(parts))


def _marked(snippet: str) -> str:
    # <mark> for readers that show it, <strong> inside for those whose sanitiser drops it (feedparser's does).
    return str(mark_html(snippet)).replace("<mark>", "<mark><strong>").replace("</mark>", "</strong></mark>")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _updated(articles: Sequence[FeedArticle], now: datetime) -> datetime:
    return max((a.updated_at for a in articles), default=now)


def render_atom(feed: OutputFeed, articles: Sequence[FeedArticle], config: Config, now: datetime) -> bytes:
    """The feed as Atom 1.0 (RFC 4287), UTF-8."""
    base_url = config.settings.base_url
    ET.register_namespace("", _ATOM)
    root = ET.Element(f"{{{_ATOM}}}feed")

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{_ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    sub(root, "id", f"urn:monitor:feed:{feed.kind}:{feed.id}")
    sub(root, "title", feed.title)
    sub(root, "updated", _z(_updated(articles, now)))
    sub(root, "link", rel="self", type="application/atom+xml", href=feed.url(base_url, "atom"))
    if safe_url(base_url):
        sub(root, "link", rel="alternate", type="text/html", href=base_url)
    author = sub(root, "author")
    sub(author, "name", "monitor")
    sub(root, "generator", "monitor")
    for article in articles:
        entry = sub(root, "entry")
        sub(entry, "id", f"urn:monitor:article:{article.id}")
        sub(entry, "title", plain_text(article.title) or "(untitled)")
        url = safe_url(article.url)
        if url:
            sub(entry, "link", rel="alternate", type="text/html", href=url)
        sub(entry, "published", _z(article.published_at))
        sub(entry, "updated", _z(max(article.updated_at, article.published_at)))
        entry_author = sub(entry, "author")
        sub(entry_author, "name", plain_text(article.outlet) or "unknown")
        for m in article.matches:
            sub(entry, "category", term=f"{m.watchlist}/{m.entry_id}", label=plain_text(m.entry_name))
        sub(entry, "content", item_html(article, config, base_url), type="html")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def render_json_feed(feed: OutputFeed, articles: Sequence[FeedArticle], config: Config) -> bytes:
    """The feed as JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/), UTF-8."""
    base_url = config.settings.base_url
    items: list[dict[str, Any]] = []
    for article in articles:
        item: dict[str, Any] = {
            "id": f"urn:monitor:article:{article.id}",
            "title": plain_text(article.title) or "(untitled)",
            "content_html": item_html(article, config, base_url),
            "date_published": _z(article.published_at),
            "date_modified": _z(max(article.updated_at, article.published_at)),
            "authors": [{"name": plain_text(article.outlet) or "unknown"}],
            "tags": [plain_text(m.entry_name) for m in article.matches],
        }
        if safe_url(article.url):
            item["url"] = safe_url(article.url)
        if article.summary_text:
            item["summary"] = plain_text(article.summary_text)[:500]
        if article.language:
            item["language"] = article.language
        items.append(item)
    document: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "feed_url": feed.url(base_url, "json"),
        "description": f"Articles matched by {feed.kind} {feed.id}, newest first (at most {ITEMS}).",
        "authors": [{"name": "monitor"}],
        "items": items,
    }
    if safe_url(base_url):
        document["home_page_url"] = base_url
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
