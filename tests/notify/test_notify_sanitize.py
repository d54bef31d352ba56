"""Hostile feed text (feedparser's sanitize corpus) never becomes active content in email or webhook."""

from __future__ import annotations

import dataclasses
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from monitor.notify.channels.email_message import (
    build_email,
    build_feed_health_email,
    build_spike_email,
    unsubscribe_url,
)
from monitor.notify.channels.webhook import build_payload
from monitor.notify.content import DeliveryItem, SourceRef
from monitor.notify.render import render_email_html
from tests.support.corpora import SANITIZE

CORPUS = SANITIZE
FILES = [
    "entry_title_script.xml",
    "entry_content_script.xml",
    "entry_summary_script_inline.xml",
    "entry_title_onerror.xml",
    "entry_content_onerror.xml",
    "item_description_onerror.xml",
    "feed_title_unacceptable_uri.xml",
    "entry_content_crazy.xml",
    "entry_summary_crazy.xml",
]
_ELEMENT = re.compile(r"<(title|content|summary|description)\b([^>]*)>(.*?)</\1>", re.DOTALL | re.IGNORECASE)


def hostile_texts(path: Path) -> list[str]:
    """The raw, unsanitised text of the file's title/content/summary/description elements."""
    texts = []
    for _, attrs, body in _ELEMENT.findall(path.read_text(encoding="utf-8")):
        # mode="xml" holds inline XHTML; everything else is escaped markup.
        texts.append(body if 'mode="xml"' in attrs else html.unescape(body))
    return [t.strip() for t in texts if t.strip()]


class ActiveContent(HTMLParser):
    """Collects what a mail client would execute or follow: scripts, on* handlers, script URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "applet", "frame", "base"):
            self.problems.append(f"<{tag}>")
        if tag == "meta" and any(name == "http-equiv" for name, _ in attrs):  # ours are charset/viewport
            self.problems.append("<meta http-equiv>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
            if value and re.match(r"\s*(javascript|vbscript|data):", value, re.IGNORECASE):
                self.problems.append(f"{tag} {name}={value}")


def active_content(markup: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(markup)
    parser.close()
    return parser.problems


@pytest.fixture(params=FILES)
def hostile(request, digest_content):
    """The digest with every title, summary, snippet, source and link replaced by hostile feed text."""
    path = CORPUS / request.param
    if not path.is_file():
        pytest.skip(f"corpus file {path} not present")
    texts = hostile_texts(path)
    assert texts, f"no text extracted from {path}"
    evil = " ".join(texts)
    items = []
    for item in digest_content.items:
        article = dataclasses.replace(
            item.article, title=evil, summary=evil, url="javascript:alert(document.cookie)",
            source=SourceRef("evil", evil), also_reported_by=(SourceRef("evil2", evil),))
        matches = tuple(dataclasses.replace(m, snippet=f"{evil} [[{evil}]] {evil}") for m in item.matches)
        items.append(DeliveryItem(article, matches))
    return dataclasses.replace(digest_content, items=tuple(items))


def test_email_html_has_no_active_content(hostile, subscriber, email_settings, part_text) -> None:
    secret = b"test-unsubscribe-secret"
    msg = build_email(hostile, subscriber, email_settings, base_url="https://monitor.example.org",
                      unsubscribe_secret=secret)
    page = part_text(msg, "html")
    link = unsubscribe_url(subscriber, email_settings, "https://monitor.example.org", secret)
    assert page.strip() == render_email_html(hostile, subscriber, email_settings, unsubscribe_url=link,
                                             base_url="https://monitor.example.org").strip()
    assert active_content(page) == []
    assert "<script" not in page.lower()
    assert not re.search(r"<[^>]*\son\w+\s*=", page, re.IGNORECASE)
    assert "javascript:" not in page.lower()
    # The article link was dropped (not an http(s) URL); the title is still shown as text.
    # Only the unsubscribe link and each item's dashboard page (our own URLs).
    assert page.count("<a ") == 1 + len(hostile.items)
    assert page.count('<a href="https://monitor.example.org/') == 1 + len(hostile.items)


def test_spike_and_feed_health_html_have_no_active_content(hostile, spike_content, feed_health_content, subscriber,
                                                            email_settings, part_text) -> None:
    # The other emails render from the same layout and escape the same way: every feed-borne text hostile.
    evil = hostile.items[0].article.title
    assert spike_content.spike is not None
    spike = dataclasses.replace(spike_content, spike=dataclasses.replace(
        spike_content.spike, name=evil, watchlist_name=evil, entry_url="javascript:alert(1)",
        top_stories=tuple(dataclasses.replace(s, title=evil, url="javascript:alert(1)")
                          for s in spike_content.spike.top_stories)))
    health = dataclasses.replace(feed_health_content, feed_health=tuple(
        dataclasses.replace(a, feed_name=evil, feed_url="javascript:alert(1)", error_message=evil, hint=evil)
        for a in feed_health_content.feed_health))
    for build, content in ((build_spike_email, spike), (build_feed_health_email, health)):
        msg = build(content, subscriber, email_settings, base_url="https://monitor.example.org",
                    unsubscribe_secret=b"test-unsubscribe-secret")
        page = part_text(msg, "html")
        assert active_content(page) == [], content.kind
        assert "<script" not in page.lower()
        assert not re.search(r"<[^>]*\son\w+\s*=", page, re.IGNORECASE)
        # Only our own links: the unsubscribe link (the hostile story and feed URLs were dropped).
        assert page.count("<a ") == page.count('<a href="https://monitor.example.org/') == 1, content.kind


def test_webhook_payload_has_no_active_content(hostile) -> None:
    payload = build_payload(hostile)
    body = json.dumps(payload, ensure_ascii=False).lower()
    assert "<script" not in body
    assert not re.search(r"<[^>]*\bon\w+\s*=", body)
    assert "javascript:" not in body
    assert all(item["article"]["url"] == "" for item in payload["items"])
    # Whatever text survives is inert when a receiver drops it into HTML unescaped.
    for item in payload["items"]:
        for text in (item["article"]["title"], item["article"]["summary"], item["matches"][0]["snippet"]):
            assert active_content(text) == []


def test_hostile_text_extraction_found_active_content() -> None:
    # Guard the guard: the inputs really are hostile before we render them.
    found = [t for f in FILES if (CORPUS / f).is_file() for t in hostile_texts(CORPUS / f)]
    if not found:
        pytest.skip("corpus not present")
    joined = " ".join(found).lower()
    assert "<script" in joined and "onerror=" in joined and "javascript:" in joined
