"""Atom 1.0 for the feed fast path: <feed> and its <entry>s, with plain-text or HTML text constructs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

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
from monitor.parse.feedparser_internals import map_content_type, parse_date

_TEXT_TYPES = frozenset({"text/plain", "text/html"})
_ATOM_FEED_INERT = frozenset({"generator", "icon", "logo", "rights", "category"})


def _lang(attrs: dict[str, str], inherited: str | None) -> str | None:
    if "xml:lang" not in attrs:
        return inherited
    return attrs["xml:lang"] or None  # xml:lang="" switches the language off


def _author_from_detail(name: str | None, email: str | None) -> str:
    # feedparser's _sync_author_detail: "name (email)", else whichever is present.
    if name and email:
        return f"{name} ({email})"
    return name or email or ""


def _atom_text(w: _Walker, element: ET.Element, lang: str | None, default_type: str) -> dict[str, Any]:
    attrs = _attrs(element, frozenset({"type", "xml:lang"}))
    lang = _lang(attrs, lang)
    content_type = map_content_type(attrs.get("type", default_type))
    if content_type not in _TEXT_TYPES:
        raise Decline(f"text construct of type {content_type}")  # xhtml, base64, out-of-line
    return _detail(_fp_text(w.text(element)), content_type, lang, w.base)


def _atom_author(w: _Walker, element: ET.Element, target: Entry) -> None:
    _attrs(element, frozenset())
    if (element.text or "").strip():
        raise Decline("text inside author")
    parts: dict[str, str] = {}
    for child in element:
        name = w.name(child)
        if name not in ("name", "email", "uri") or name in parts:
            raise Decline(f"author element {name}")
        _attrs(child, frozenset())
        # name and email are popped without feedparser's text clean-up (expecting_text=0).
        parts[name] = w.text(child)
        if (child.tail or "").strip():
            raise Decline("text inside author")
    target["author"] = _author_from_detail(parts.get("name"), parts.get("email"))
    target["author_detail"] = {"name": parts.get("name")}


def _atom_common(
    w: _Walker, name: str, child: ET.Element, target: Entry, lang: str | None, seen: set[str]
) -> bool:
    """Elements shared by <feed> and <entry>; False when `name` is not one of them."""
    if name == "title":
        _set_once(seen, "title")
        detail = _atom_text(w, child, lang, "text/plain")
        target["title"] = detail["value"]
        target["title_detail"] = detail
    elif name == "link":
        _atom_link(w, child, target)
    elif name == "id":
        _set_once(seen, "id")
        _attrs(child, frozenset())
        value = w.text(child)
        value = _fp_text(w.resolve(value) if value else value)
        target["id"] = value
        target.setdefault("link", value)  # Atom ids count as permalinks in feedparser
    elif name == "updated":
        target["updated_parsed"] = parse_date(_plain_text_once(w, child, seen, "updated"))
    elif name == "author":
        _set_once(seen, "author")
        _atom_author(w, child, target)
    elif name == "category":
        _attrs(child, frozenset({"term", "scheme", "label"}))
        w.text(child)
    else:
        return False
    return True


def _atom_entry(w: _Walker, element: ET.Element, lang: str | None) -> Entry:
    lang = _lang(_attrs(element, frozenset({"xml:lang"})), lang)
    entry: Entry = {}
    seen: set[str] = set()
    for child in element:
        name = w.name(child)
        if _atom_common(w, name, child, entry, lang, seen):
            continue
        if name == "published":
            entry["published_parsed"] = parse_date(_plain_text_once(w, child, seen, "published"))
        elif name == "summary":
            _set_once(seen, "summary")
            entry["summary_detail"] = _atom_text(w, child, lang, "text/plain")
        elif name == "content":
            _set_once(seen, "content")
            entry["content"] = [_atom_text(w, child, lang, "text/plain")]
        else:
            raise Decline(f"entry element {name}")
    return entry


def _atom(w: _Walker, root: ET.Element) -> tuple[Entry, list[Entry]]:
    attrs = _attrs(root, frozenset({"xml:lang"}))
    lang = _lang(attrs, None)
    feed: Entry = {}
    if lang:
        feed["language"] = lang
    entries: list[Entry] = []
    seen: set[str] = set()
    for child in root:
        name = w.name(child)
        if name == "entry":
            entries.append(_atom_entry(w, child, lang))
        elif _atom_common(w, name, child, feed, lang, seen):
            continue
        elif name == "subtitle":
            _set_once(seen, "subtitle")
            feed["subtitle"] = _atom_text(w, child, lang, "text/plain")["value"]
        elif name in _ATOM_FEED_INERT:
            if name != "category":
                _set_once(seen, name)
            _attrs(child, frozenset({"uri", "version", "type", "term", "scheme", "label"}))
            w.text(child)
        else:
            raise Decline(f"feed element {name}")
    return feed, entries
