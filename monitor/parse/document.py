"""parse_document: one HTML or plain-text page -> one Article (for `monitor match FILE.html`)."""

from __future__ import annotations

import codecs
import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

from monitor.model import Article
from monitor.parse.build import content_fingerprint, stable_id
from monitor.parse.language import normalise_language
from monitor.parse.urls import canonical_url
from monitor.text.htmltext import html_to_text, plain_text

_CHARSET_PARAM = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
_HTML_SNIFF = re.compile(rb"<(!doctype\s+html|html|head|body|p|div|title|h1|article)\b", re.IGNORECASE)
# Page furniture that is not the article's text.
_FURNITURE = frozenset({"nav", "header", "footer", "aside", "form", "button", "select"})
_TITLE_LIMIT = 300


class _MetaReader(HTMLParser):
    """Reads the page's title candidates, language, canonical link, description and publication time."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.h1 = ""
        self.meta: dict[str, str] = {}
        self.canonical = ""
        self.lang = ""
        self._in: str | None = None
        self._buffer: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        if tag == "html" and not self.lang:
            self.lang = values.get("lang", "") or values.get("xml:lang", "")
        elif tag == "meta":
            key = (values.get("property") or values.get("name") or "").lower()
            if key and key not in self.meta:
                self.meta[key] = values.get("content", "")
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split() and not self.canonical:
            self.canonical = values.get("href", "")
        elif (tag == "title" and not self.title) or (tag == "h1" and not self.h1):
            self._in, self._buffer = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            text = " ".join("".join(self._buffer).split())
            if tag == "title":
                self.title = text
            else:
                self.h1 = text
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self._buffer.append(data)


def _decode(body: bytes, content_type: str | None) -> str:
    candidates: list[str] = []
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            candidates.append(name)
    if content_type and (m := _CHARSET_PARAM.search(content_type)):
        candidates.append(m.group(1))
    if m2 := _META_CHARSET.search(body[:4096]):
        candidates.append(m2.group(1).decode("ascii", errors="ignore"))
    candidates.append("utf-8")
    for name in candidates:
        try:
            return body.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    # Most undeclared non-UTF-8 pages in the wild are Windows-1252.
    return body.decode("cp1252", errors="replace")


def _is_html(body: bytes, content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("text/html", "application/xhtml+xml"):
        return True
    if media.startswith("text/") and media != "text/xml":
        return False
    return bool(_HTML_SNIFF.search(body[:4096]))


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # a local time of an unknown zone is not a usable instant
    return parsed.astimezone(UTC)


def _paragraphs_html(text: str) -> str:
    return "\n".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())


def parse_document(body: bytes, *, url: str, content_type: str | None) -> Article:
    """Turn one HTML or plain-text page into an Article (title, main text, language, canonical URL)."""
    text = _decode(bytes(body), content_type)
    published_at: datetime | None = None
    language: str | None = None
    description = ""
    author = ""
    page_url = canonical_url(url) if url else ""
    if _is_html(body, content_type):
        reader = _MetaReader()
        try:
            reader.feed(text)
            reader.close()
        except (AssertionError, ValueError):
            pass
        meta = reader.meta
        title = plain_text(meta.get("og:title", "")) or plain_text(reader.title) or plain_text(reader.h1)
        body_text = html_to_text(text, skip_tags=_FURNITURE)
        description = plain_text(meta.get("og:description", "") or meta.get("description", ""))
        author = plain_text(meta.get("author", ""))
        language = normalise_language(reader.lang) or normalise_language(meta.get("og:locale"))
        for key in ("article:published_time", "og:published_time", "date", "dc.date"):
            if meta.get(key) and (published_at := _parse_time(meta[key])):
                break
        canonical = canonical_url(reader.canonical, url) if reader.canonical else ""
        # The page's own canonical link gives the same id as the feed entry that points at it.
        if canonical.startswith(("http://", "https://")):
            page_url = canonical
    else:
        body_text = html_to_text(html.escape(text).replace("\n", "<br>"))
        first_line = next((line for line in body_text.splitlines() if line.strip()), "")
        title = first_line
    title = title[:_TITLE_LIMIT]
    return Article(
        id=stable_id(guid=None, url=page_url, title=title, published=published_at),
        guid=None,
        url=page_url,
        title=title,
        summary_html=html.escape(description),
        content_html=_paragraphs_html(body_text),
        summary_text=description,
        content_text=body_text,
        author=author,
        published_at=published_at,
        language=language,
        content_hash=content_fingerprint(title, description, body_text, page_url),
    )
