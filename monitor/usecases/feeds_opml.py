"""OPML, how feed readers exchange feed lists: import an OPML file into feeds.yaml, export the feeds as OPML 2.0.

Importing edits feeds.yaml like the watchlist editor edits a watchlist (ruamel.yaml round-trip, so its
comments stay; the full `monitor check` first; an atomic write), skipping feeds already there.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from monitor.config import load_config_report
from monitor.config.models import FeedConfig, feed_id_from_url
from monitor.config.yaml_roundtrip import RoundTrip, append_item, set_fields, write_atomically
from monitor.errors import EditRefused
from monitor.usecases.check import check_configuration_with_warnings
from monitor.usecases.edit_watchlist import check_replaced

MAX_OPML_BYTES = 5 * 1024 * 1024
_TAG = re.compile(r"[^a-z0-9_.-]+")
FEED_ORDER = ("url", "id", "name", "interval", "tags", "language", "full_text")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed outline: its feed URL, its title, and tags from its folders and `category`."""

    url: str
    name: str | None
    tags: tuple[str, ...] = ()
    language: str | None = None


@dataclass
class ImportResult:
    """What an import added, and what it skipped (URL, why)."""

    added: list[OpmlFeed] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """The feed outlines of an OPML document (any version), in document order; EditRefused when unusable."""
    if len(data) > MAX_OPML_BYTES:
        raise EditRefused(f"the OPML file is larger than {MAX_OPML_BYTES // (1024 * 1024)} MiB")
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        # Entity expansion is the classic XML bomb; OPML never needs a DTD.
        raise EditRefused("the OPML file declares a DOCTYPE or entities, which OPML never needs; refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise EditRefused(f"not an OPML file: {exc}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise EditRefused("not an OPML file: no <opml> with a <body>")
    return list(_outlines(body, ()))


def _outlines(parent: ET.Element, folders: tuple[str, ...]) -> Iterator[OpmlFeed]:
    for outline in parent.findall("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        title = (outline.get("title") or outline.get("text") or "").strip() or None
        if url:
            categories = [c.strip("/ ") for c in (outline.get("category") or "").split(",")]
            tags = tuple(dict.fromkeys(t for t in (_tag(x) for x in (*folders, *categories)) if t))
            yield OpmlFeed(url, title, tags, (outline.get("language") or "").strip() or None)
        else:  # a folder
            yield from _outlines(outline, (*folders, title) if title else folders)


def _tag(text: str) -> str:
    return _TAG.sub("-", text.lower()).strip("-.")


def _same_url(url: str) -> str:
    parts = urlsplit(url.strip())
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def feeds_sequence(document: RoundTrip) -> CommentedSeq:
    """The `feeds:` list of a feeds.yaml round-trip document, created when absent; EditRefused if the top is no mapping."""
    if document.data is None:
        document.data = CommentedMap()
    if not isinstance(document.data, CommentedMap):
        raise EditRefused("feeds.yaml does not hold a mapping at the top; fix it by hand first")
    feeds = document.data.get("feeds")
    if not isinstance(feeds, CommentedSeq):
        feeds = CommentedSeq()
        document.data["feeds"] = feeds
    return feeds


def import_opml(directory: Path, env: Mapping[str, str], data: bytes, *, dry_run: bool = False) -> ImportResult:
    """Add the OPML file's feeds to feeds.yaml (comments kept), skipping those already there or unusable."""
    path = directory / "feeds.yaml"
    text = path.read_text(encoding="utf-8") if path.exists() else "feeds: []\n"
    document = RoundTrip(text)
    if document.data is None:
        document = RoundTrip("feeds: []\n")
    feeds = feeds_sequence(document)
    known_urls = {_same_url(str(item.get("url", ""))) for item in feeds if isinstance(item, Mapping)}
    known_ids = {str(item.get("id") or feed_id_from_url(str(item.get("url", ""))))
                 for item in feeds if isinstance(item, Mapping)}
    loaded = load_config_report(directory, env).loaded
    allow_local = loaded is not None and loaded.config.settings.allow_local_feeds
    result = ImportResult()
    for feed in parse_opml(data):
        reason = _unusable(feed, allow_local)
        if reason is None and _same_url(feed.url) in known_urls:
            reason = "already in feeds.yaml"
        feed_id = feed_id_from_url(feed.url)
        if reason is None and feed_id in known_ids:
            reason = f"a feed with id {feed_id!r} is already in feeds.yaml"
        if reason is not None:
            result.skipped.append((feed.url, reason))
            continue
        known_urls.add(_same_url(feed.url))
        known_ids.add(feed_id)
        item = CommentedMap()
        set_fields(item, {"url": feed.url, "name": feed.name, "tags": list(feed.tags), "language": feed.language},
                   FEED_ORDER)
        append_item(feeds, item)
        result.added.append(feed)
    if not result.added or dry_run:
        return result
    new_text = document.dump()
    if path.exists():
        checked = check_replaced(directory, env, path, new_text)
        if checked.problems:
            before = {p.format() for p in check_configuration_with_warnings(directory, env).problems}
            brought = [p for p in checked.problems if p.format() not in before]
            if brought:
                raise EditRefused(f"not imported: feeds.yaml would not pass `monitor check` ({len(brought)} "
                                  "problem(s))", brought)
    write_atomically(path, new_text)
    return result


def _unusable(feed: OpmlFeed, allow_local: bool) -> str | None:
    """Why an outline cannot be a feed here: not http(s) (a local path only with allow_local_feeds), or invalid."""
    parts = urlsplit(feed.url)
    web = parts.scheme.lower() in ("http", "https")
    if web and not parts.hostname:
        return "an http(s) URL without a host"
    if not web and not allow_local:
        return "not an http(s) URL (local feeds need allow_local_feeds: true in monitor.yaml)"
    try:
        FeedConfig(url=feed.url, name=feed.name, tags=feed.tags, language=feed.language)
    except ValueError as exc:
        return f"not a usable feed: {exc}"
    return None


def export_opml(feeds: Sequence[FeedConfig], *, now: datetime, title: str = "monitor feeds") -> str:
    """The feeds as an OPML 2.0 document (folders none; tags as `category`)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        name = feed.name or feed.id
        attributes = {"type": "rss", "text": name, "title": name, "xmlUrl": feed.url}
        if feed.language:
            attributes["language"] = feed.language
        if feed.tags:
            attributes["category"] = ",".join(f"/{tag}" for tag in feed.tags)
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
