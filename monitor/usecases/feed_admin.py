"""Feeds from the browser: probe a pasted URL, preview its items and matches, add, edit, pause or remove a feed.

Probing fetches with the polling Fetcher (same address policy, limits and `allow_local_feeds`), so a URL
the service could not poll is refused here with the same message. An HTML page yields the feed links it
advertises (find_feed_links). Every write edits feeds.yaml like the watchlist editor edits a watchlist:
ruamel.yaml round-trip (comments kept), refused when the file changed since it was opened (SHA-256) or
when the configuration would not pass `monitor check`, then written atomically, so the running service's
config watcher reloads it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from monitor.config import load_config_report
from monitor.config.models import Config, feed_id_from_url
from monitor.config.yaml_roundtrip import (
    RoundTrip,
    append_item,
    check_unchanged,
    set_fields,
    sha256_of,
    write_atomically,
)
from monitor.errors import EditRefused, FetchError, ParseError
from monitor.fetch import AddressPolicy, Fetcher
from monitor.match import CompiledWatchlists
from monitor.match.documents import FeedLabel, document_for
from monitor.model import Article
from monitor.parse.discovery import find_feed_links
from monitor.parse.feed import parse_feed
from monitor.usecases.check import check_configuration_with_warnings
from monitor.usecases.edit_watchlist import SAVING_LOCK, check_replaced
from monitor.usecases.feeds_opml import FEED_ORDER, feeds_sequence

log = logging.getLogger(__name__)
PREVIEW_ITEMS = 10
MAX_LINKS = 10
ORDER = (*FEED_ORDER, "paused")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class PreviewItem:
    """One of the feed's latest items and the watchlist entries (`watchlist/entry`) it would match."""

    title: str
    url: str
    matches: tuple[str, ...]


@dataclass
class Probe:
    """What a pasted URL is: a feed (title, items, matches) or an HTML page offering feed links."""

    url: str
    final_url: str
    is_feed: bool
    title: str = ""
    language: str | None = None
    format: str = ""
    items: list[PreviewItem] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    suggested_id: str = ""


@dataclass
class FeedDraft:
    """What the feed form holds; an empty value removes its key."""

    url: str
    id: str = ""
    name: str = ""
    interval: str = ""
    tags: list[str] = field(default_factory=list)
    language: str = ""
    full_text: bool = False
    paused: bool = False

    def values(self) -> dict[str, Any]:
        """The keys this draft sets in feeds.yaml."""
        return {"url": self.url.strip(), "id": self.id.strip() or None, "name": self.name.strip() or None,
                "interval": self.interval.strip() or None, "tags": [t.strip() for t in self.tags if t.strip()],
                "language": self.language.strip() or None, "full_text": True if self.full_text else None,
                "paused": True if self.paused else None}


@dataclass(frozen=True)
class FeedsFile:
    """feeds.yaml as opened: its path, text and SHA-256 (sent back with the form)."""

    path: Path
    text: str
    sha256: str


def suggest_id(title: str, url: str) -> str:
    """A feed id from its title (lower case, dashes), else the one derived from its URL."""
    slug = _SLUG.sub("-", title.lower()).strip("-")[:48].strip("-")
    return slug or feed_id_from_url(url)


async def probe(url: str, config: Config, *, address_policy: AddressPolicy | None = None) -> Probe:
    """Fetch `url` as polling would; a feed gives a preview, an HTML page its feed links.

    Raises FetchError (its kind and message as polling logs them) or EditRefused for what is neither.
    """
    url = url.strip()
    settings = config.settings
    async with Fetcher(settings.fetch, allow_local_feeds=settings.allow_local_feeds,
                       address_policy=address_policy) as fetcher:
        result = await fetcher.fetch(url)
    body = result.body or b""
    try:
        parsed = parse_feed(body, base_url=result.final_url, content_type=result.content_type)
    except ParseError as exc:
        links = find_feed_links(body, result.final_url)[:MAX_LINKS]
        if links:
            return Probe(url, result.final_url, False, links=links)
        raise EditRefused(str(exc)) from None
    articles = list(parsed.articles[:PREVIEW_ITEMS])
    return Probe(url, result.final_url, True, title=parsed.title, language=parsed.language, format=parsed.format,
                 items=preview_matches(articles, config, parsed.title), suggested_id=suggest_id(parsed.title, url))


def preview_matches(articles: list[Article], config: Config, source: str, tags: tuple[str, ...] = ()) -> list[PreviewItem]:
    """Each article with the entries of the configured watchlists it matches (as polling would match it)."""
    compiled = CompiledWatchlists.compile(config.watchlists, strict=False)
    label = FeedLabel(source, frozenset(tags))
    return [PreviewItem(a.title, a.url, tuple(f"{m.watchlist}/{m.id}" for m in compiled.match(document_for(a, label))))
            for a in articles]


def current_config(directory: Path, env: Mapping[str, str]) -> Config | None:
    """The configuration as it is on disk now (None when it does not load)."""
    loaded = load_config_report(directory, env).loaded
    return loaded.config if loaded is not None else None


def open_feeds(directory: Path) -> FeedsFile:
    """feeds.yaml for editing (an empty list when there is none yet)."""
    path = directory / "feeds.yaml"
    data = path.read_bytes() if path.exists() else b""
    return FeedsFile(path, data.decode("utf-8"), sha256_of(data) if path.exists() else "")


def _id_of(item: Mapping[str, Any]) -> str:
    return str(item.get("id") or feed_id_from_url(str(item.get("url", "")).strip()))


def _index(feeds: CommentedSeq, feed_id: str) -> int:
    for index, item in enumerate(feeds):
        if isinstance(item, Mapping) and _id_of(item) == feed_id:
            return index
    raise EditRefused(f"there is no feed {feed_id!r} in feeds.yaml")


def read_feed(opened: FeedsFile, feed_id: str) -> FeedDraft:
    """The draft of a feed in feeds.yaml; EditRefused when there is none with that id."""
    feeds = feeds_sequence(RoundTrip(opened.text or "feeds: []\n"))
    item = feeds[_index(feeds, feed_id)]
    return FeedDraft(url=str(item.get("url", "")), id=str(item.get("id") or ""), name=str(item.get("name") or ""),
                     interval=str(item.get("interval") or ""), tags=[str(t) for t in item.get("tags") or []],
                     language=str(item.get("language") or ""), full_text=bool(item.get("full_text")),
                     paused=bool(item.get("paused")))


def add_feed(directory: Path, env: Mapping[str, str], draft: FeedDraft, expected_sha256: str, *,
             author: str = "") -> str:
    """Append the feed to feeds.yaml; its id. EditRefused when its id or URL is already there."""
    new_id = draft.id.strip() or feed_id_from_url(draft.url.strip())

    def change(feeds: CommentedSeq) -> None:
        for item in feeds:
            if isinstance(item, Mapping) and (_id_of(item) == new_id or str(item.get("url", "")).strip()
                                              == draft.url.strip()):
                raise EditRefused(f"feeds.yaml already has this feed ({_id_of(item)!r}); choose another id or URL")
        entry = CommentedMap()
        set_fields(entry, draft.values(), ORDER)
        append_item(feeds, entry)

    _write(directory, env, expected_sha256, change, f"add {new_id}", author)
    return new_id


def edit_feed(directory: Path, env: Mapping[str, str], feed_id: str, draft: FeedDraft, expected_sha256: str, *,
              author: str = "") -> None:
    """Set a feed's interval, tags and pause (the other keys as they are)."""
    values = draft.values()

    def change(feeds: CommentedSeq) -> None:
        set_fields(feeds[_index(feeds, feed_id)], {k: values[k] for k in ("interval", "tags", "paused")}, ORDER)

    _write(directory, env, expected_sha256, change, f"edit {feed_id}", author)


def remove_feed(directory: Path, env: Mapping[str, str], feed_id: str, expected_sha256: str, *,
                author: str = "") -> None:
    """Remove a feed from feeds.yaml (its stored articles stay; the service retires its row)."""
    _write(directory, env, expected_sha256, lambda feeds: feeds.pop(_index(feeds, feed_id)),
           f"remove {feed_id}", author)


def _write(directory: Path, env: Mapping[str, str], expected_sha256: str,
           change: Callable[[CommentedSeq], object], what: str, author: str) -> None:
    """Apply `change` to feeds.yaml's list, check the result as `monitor check` would, and write it atomically."""
    path = directory / "feeds.yaml"
    with SAVING_LOCK:
        current = check_unchanged(path, expected_sha256 or None)
        document = RoundTrip(current.decode("utf-8") or "feeds: []\n")
        change(feeds_sequence(document))
        text = document.dump()
        checked = check_replaced(directory, env, path, text)
        if checked.problems:
            before = {p.format() for p in check_configuration_with_warnings(directory, env).problems if p.file != path}
            brought = [p for p in checked.problems if p.file == path or p.format() not in before]
            if brought:
                raise EditRefused(f"not saved: feeds.yaml would not pass `monitor check` ({len(brought)} problem(s))",
                                  brought)
        check_unchanged(path, expected_sha256 or None)  # again: the check took a while
        write_atomically(path, text)
    log.info("feeds_saved file=%s change=%s by=%s", path, what, author or "unknown")


__all__ = ["FetchError", "FeedDraft", "FeedsFile", "PreviewItem", "Probe", "add_feed", "current_config", "edit_feed",
           "open_feeds", "preview_matches", "probe", "read_feed", "remove_feed", "suggest_id"]
