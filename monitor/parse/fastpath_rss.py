"""RSS 2.0 for the feed fast path: <rss version="2.x"> with one <channel> and its <item>s."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from monitor.parse.fastpath_common import (
    Decline,
    Entry,
    _atom_link,
    _attrs,
    _detail,
    _fp_text,
    _plain_text_once,
    _set_once,
    _Walker,
)
from monitor.parse.feedparser_internals import parse_date

# feedparser's query fix for <link> text ("?a=1&b;=2" -> "?a=1&b=2").
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")

# RSS <channel> children that cannot change a field parse_feed reads (feedparser stores them
# elsewhere: rights, publisher, updated_parsed, tags, generator_detail, cloud, ...).
_RSS_CHANNEL_INERT = frozenset(
    {
        "copyright", "webmaster", "pubdate", "lastbuilddate", "category", "generator", "docs",
        "cloud", "sy:updateperiod", "sy:updatefrequency", "sy:updatebase",
    }
)  # fmt: skip
_RSS_IMAGE_CHILDREN = frozenset({"url", "title", "link", "width", "height", "description"})
# RSS <item> children without a feedparser handler that parse_feed never reads.
_RSS_ITEM_INERT = frozenset(
    {"comments", "wfw:commentrss", "wfw:comment", "slash:comments", "feedburner:origlink"}
)


def _rss_item(w: _Walker, item: ET.Element, lang: str | None) -> Entry:
    _attrs(item, frozenset())
    entry: Entry = {}
    seen: set[str] = set()
    for child in item:
        name = w.name(child)
        if name == "title":
            entry["title"] = _plain_text_once(w, child, seen, "title")
            entry["title_detail"] = {"language": lang}
        elif name == "link" and child.attrib:
            _atom_link(w, child, entry)  # an atom:link, handled like feedparser's _start_link
        elif name == "link":
            _set_once(seen, "link")
            value = w.text(child)
            value = _fp_text(w.resolve(value) if value else value)
            entry["link"] = _LINK_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&"))
        elif name == "guid":
            _set_once(seen, "guid")
            attrs = _attrs(child, frozenset({"ispermalink"}))
            is_link = attrs.get("ispermalink", "true") == "true"
            value = w.text(child)
            value = _fp_text(w.resolve(value) if value and is_link else value)
            entry["id"] = value
            if is_link:
                entry.setdefault("link", value)  # the guid stands in for a missing <link>
        elif name == "description":
            _set_once(seen, "description")
            attrs = _attrs(child, frozenset())
            entry["summary_detail"] = _detail(_fp_text(w.text(child)), "text/html", lang, w.base)
        elif name == "content:encoded":
            _set_once(seen, "content")
            _attrs(child, frozenset())
            entry["content"] = [_detail(_fp_text(w.text(child)), "text/html", lang, w.base)]
        elif name == "pubdate":
            entry["published_parsed"] = parse_date(_plain_text_once(w, child, seen, "pubdate"))
        elif name == "dc:date":
            entry["updated_parsed"] = parse_date(_plain_text_once(w, child, seen, "dc:date"))
        elif name in ("author", "dc:creator"):
            _set_once(seen, "author")
            _attrs(child, frozenset())
            # feedparser keeps the whole "email (Name)" string as entry.author.
            entry["author"] = _fp_text(w.text(child))
        elif name == "category":
            _attrs(child, frozenset({"domain"}))
            w.text(child)
        elif name == "enclosure":
            _attrs(child, frozenset({"url", "length", "type"}))
            w.text(child)
        elif name in _RSS_ITEM_INERT:
            _attrs(child, frozenset())
            w.text(child)
        else:
            raise Decline(f"item element {name}")
    return entry


def _rss(w: _Walker, root: ET.Element) -> tuple[Entry, list[Entry]]:
    attrs = _attrs(root, frozenset({"version"}))
    if not attrs.get("version", "").startswith("2."):
        raise Decline("not RSS 2.x")
    if len(root) != 1 or w.name(root[0]) != "channel":
        raise Decline("rss without exactly one channel")
    channel = root[0]
    _attrs(channel, frozenset())
    feed: Entry = {}
    entries: list[Entry] = []
    seen: set[str] = set()
    lang = None  # no xml:lang is accepted in RSS, and <language> never reaches feedparser's lang
    for child in channel:
        name = w.name(child)
        if name == "item":
            entries.append(_rss_item(w, child, lang))
        elif name == "title":
            feed["title"] = _plain_text_once(w, child, seen, "title")
            feed["title_detail"] = {"language": lang}
        elif name == "link" and child.attrib:
            _atom_link(w, child, feed)
        elif name == "link":
            _set_once(seen, "link")
            value = w.text(child)
            feed["link"] = _LINK_ENTITY.sub(r"&\g<1>", _fp_text(w.resolve(value) if value else value))
        elif name == "description":
            feed["subtitle"] = _plain_text_once(w, child, seen, "description")
        elif name in ("language", "ttl"):
            _set_once(seen, name)
            _attrs(child, frozenset())
            feed[name] = _fp_text(w.text(child))
        elif name in ("managingeditor", "dc:creator"):
            feed["author"] = _plain_text_once(w, child, seen, "author")
        elif name == "image":
            _set_once(seen, "image")
            _attrs(child, frozenset())
            for part in child:
                if w.name(part) not in _RSS_IMAGE_CHILDREN:
                    raise Decline("image element")
                _attrs(part, frozenset())
                w.text(part)
        elif name in _RSS_CHANNEL_INERT:
            w.text(child)
        else:
            raise Decline(f"channel element {name}")
    return feed, entries
