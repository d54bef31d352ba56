"""A fast path for plain RSS 2.0 and Atom 1.0 feeds that yields exactly what feedparser yields.

feedparser (SAX over expat, then a Python handler per event) is most of parse_feed's cost. For the
common, well-formed shapes this module walks an ElementTree (the same expat, C-accelerated) and
rebuilds the few feedparser fields parse_feed reads, replaying feedparser's own rules: its encoding
detection (`convert_to_utf8`), its date parser, its URI joining, its text clean-up (strip, the
"UTF-8 read as Latin-1" repair, the cp1252 remap) and its order-dependent dictionary updates.
Anything outside the shapes it fully understands makes it decline (return None) so feedparser
decides; the equivalence test over feedparser's own corpus (tests/parse/test_fastpath.py) holds
it to that.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri

from monitor.parse.article import ParsedFeed

Entry = dict[str, Any]

# feedparser's namespace URI -> standard prefix table ('' for the core RSS/Atom namespaces).
_NAMESPACES = {uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()}
_STANDARD_PREFIXES = frozenset(p for p in _NAMESPACES.values() if p)
_ATOM_NS = "http://www.w3.org/2005/atom"
_XML_NS = "{http://www.w3.org/XML/1998/namespace}"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_TYPES = frozenset({"text/plain", "text/html"})
# feedparser's query fix for <link> text ("?a=1&b;=2" -> "?a=1&b=2").
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")

# Namespaces the fast path knows; a declaration of any other makes it decline.
_KNOWN_PREFIXES = frozenset({"", "content", "dc", "sy", "wfw", "slash", "feedburner", "xml"})

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
_ATOM_FEED_INERT = frozenset({"generator", "icon", "logo", "rights", "category"})


class Decline(Exception):
    """The document is outside the shapes the fast path reproduces exactly."""


def _fp_text(value: str) -> str:
    """feedparser's clean-up of an element's text after any URI resolution (mixin.pop)."""
    if value.isascii():
        return value
    try:
        # feedparser repairs UTF-8 that was decoded as Latin-1; doing the same keeps results equal.
        value = value.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return value.translate(_cp1252)


class _Walker:
    """State shared while walking one document: the base URI and the element-name mapping."""

    def __init__(self, base: str) -> None:
        self.base = base

    def name(self, element: ET.Element) -> str:
        """feedparser's name for an element: standard prefix + ':' + lowercased local name."""
        tag = element.tag
        if not isinstance(tag, str):
            raise Decline("comment or processing instruction node")
        if tag[0] == "{":
            uri, _, local = tag[1:].partition("}")
            prefix = _NAMESPACES.get(uri.lower())
            if prefix is None or prefix not in _KNOWN_PREFIXES:
                raise Decline(f"unknown namespace {uri}")
            return f"{prefix}:{local.lower()}" if prefix else local.lower()
        return tag.lower()

    def text(self, element: ET.Element) -> str:
        """The element's character data, stripped; declines on child elements (markup in text)."""
        if len(element):
            raise Decline("child elements inside a text element")
        return (element.text or "").strip()

    def resolve(self, uri: str) -> str:
        return str(_urljoin(self.base or "", uri))


def _attrs(element: ET.Element, allowed: frozenset[str]) -> dict[str, str]:
    """Attributes as feedparser sees them (names lowercased, rel/type values lowercased)."""
    result: dict[str, str] = {}
    for key, value in element.attrib.items():
        if key.startswith(_XML_NS):
            name = "xml:" + key[len(_XML_NS) :].lower()
        elif key[0] == "{":
            raise Decline("namespaced attribute")
        else:
            name = key.lower()
        if name not in allowed:
            raise Decline(f"attribute {name}")
        result[name] = value.lower() if name in ("rel", "type") else value
    return result


def _lang(attrs: dict[str, str], inherited: str | None) -> str | None:
    if "xml:lang" not in attrs:
        return inherited
    return attrs["xml:lang"] or None  # xml:lang="" switches the language off


def _detail(value: str, content_type: str, lang: str | None, base: str) -> dict[str, Any]:
    return {"type": content_type, "language": lang, "base": base, "value": value}


def _author_from_detail(name: str | None, email: str | None) -> str:
    # feedparser's _sync_author_detail: "name (email)", else whichever is present.
    if name and email:
        return f"{name} ({email})"
    return name or email or ""


def _set_once(seen: set[str], key: str) -> None:
    if key in seen:
        raise Decline(f"repeated {key}")
    seen.add(key)


# --- RSS 2.0 ---------------------------------------------------------------------------------


def _rss_item(w: _Walker, item: ET.Element, lang: str | None) -> Entry:
    _attrs(item, frozenset())
    entry: Entry = {}
    seen: set[str] = set()
    for child in item:
        name = w.name(child)
        if name == "title":
            _set_once(seen, "title")
            _attrs(child, frozenset())
            entry["title"] = _fp_text(w.text(child))
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
            _set_once(seen, "pubdate")
            _attrs(child, frozenset())
            entry["published_parsed"] = _parse_date(_fp_text(w.text(child)))
        elif name == "dc:date":
            _set_once(seen, "dc:date")
            _attrs(child, frozenset())
            entry["updated_parsed"] = _parse_date(_fp_text(w.text(child)))
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
            _set_once(seen, "title")
            _attrs(child, frozenset())
            feed["title"] = _fp_text(w.text(child))
            feed["title_detail"] = {"language": lang}
        elif name == "link" and child.attrib:
            _atom_link(w, child, feed)
        elif name == "link":
            _set_once(seen, "link")
            value = w.text(child)
            feed["link"] = _LINK_ENTITY.sub(r"&\g<1>", _fp_text(w.resolve(value) if value else value))
        elif name == "description":
            _set_once(seen, "description")
            _attrs(child, frozenset())
            feed["subtitle"] = _fp_text(w.text(child))
        elif name in ("language", "ttl"):
            _set_once(seen, name)
            _attrs(child, frozenset())
            feed[name] = _fp_text(w.text(child))
        elif name in ("managingeditor", "dc:creator"):
            _set_once(seen, "author")
            _attrs(child, frozenset())
            feed["author"] = _fp_text(w.text(child))
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


def _atom_link(w: _Walker, element: ET.Element, target: Entry) -> None:
    """feedparser's _start_link for Atom: the last rel=alternate HTML link becomes `link`."""
    attrs = _attrs(element, frozenset({"rel", "type", "href", "hreflang", "title", "length"}))
    if len(element) or (element.text or "").strip():
        raise Decline("link with content")
    if "href" not in attrs:
        raise Decline("link without href")
    rel = attrs.get("rel", "alternate")
    default_type = "application/atom+xml" if rel == "self" else "text/html"
    content_type = _FeedParserMixin.map_content_type(attrs.get("type", default_type))
    if rel == "alternate" and content_type in _HTML_TYPES:
        target["link"] = w.resolve(attrs["href"])


def _atom_text(w: _Walker, element: ET.Element, lang: str | None, default_type: str) -> dict[str, Any]:
    attrs = _attrs(element, frozenset({"type", "xml:lang"}))
    lang = _lang(attrs, lang)
    content_type = _FeedParserMixin.map_content_type(attrs.get("type", default_type))
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
        _set_once(seen, "updated")
        _attrs(child, frozenset())
        target["updated_parsed"] = _parse_date(_fp_text(w.text(child)))
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
            _set_once(seen, "published")
            _attrs(child, frozenset())
            entry["published_parsed"] = _parse_date(_fp_text(w.text(child)))
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


def _check_namespaces(declarations: list[tuple[str, str]]) -> None:
    """Decline on unknown namespaces and on prefixes feedparser would remap."""
    for prefix, uri in declarations:
        standard = _NAMESPACES.get(uri.lower())
        if standard is None or standard not in _KNOWN_PREFIXES:
            raise Decline(f"namespace {uri}")
        if standard == "" and uri.lower() != _ATOM_NS:
            raise Decline(f"core namespace {uri}")  # RSS 1.0, Atom 0.3, userland: other formats
        if prefix and prefix != standard and prefix.lower() in _STANDARD_PREFIXES:
            raise Decline(f"prefix {prefix} bound to {uri}")


def extract(
    body: bytes, *, base_url: str, content_type: str | None
) -> tuple[Entry, list[Entry], str | None] | None:
    """Return (feed, entries, bozo message) as feedparser would build them, or None to decline."""
    result: dict[str, Any] = {}
    # The same header feedparser gets from parse_feed (_response_headers; the body is never transcoded here).
    headers = {"content-location": base_url, "content-type": content_type or "application/xml"}
    data = convert_to_utf8(headers, body, result)
    if not result.get("encoding"):
        return None
    bozo = (str(result.get("bozo_exception") or "") or "bozo feed") if result.get("bozo") else None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return None  # neutralise_prolog removed the prolog; one left inside the root is not well-formed
    parser: ET.XMLPullParser = ET.XMLPullParser(events=("start-ns", "start"))
    try:
        parser.feed(data)
        parser.close()
    except ET.ParseError:
        return None
    root: ET.Element | None = None
    declarations: list[tuple[str, str]] = []
    for event in parser.read_events():
        item: Any = event[-1]
        if event[0] == "start-ns":
            declarations.append(item)
        elif root is None:
            root = item
    if root is None:
        return None
    try:
        _check_namespaces(declarations)
        base = base_url
        # feedparser re-derives its base URI at every start tag; use the fixed point it reaches.
        if base:
            base = make_safe_absolute_uri(base, base) or base
            if (make_safe_absolute_uri(base, base) or base) != base:
                return None
        walker = _Walker(base)
        tag = root.tag if isinstance(root.tag, str) else ""
        if tag == "rss":
            feed, entries = _rss(walker, root)
        elif tag.lower() == "{" + _ATOM_NS + "}feed":
            feed, entries = _atom(walker, root)
        else:
            return None
    except Decline:
        return None
    return feed, entries, bozo


def parse_fast(
    body: bytes, *, base_url: str, content_type: str | None, language_hint: str | None
) -> ParsedFeed | None:
    """Parse neutralised feed bytes without feedparser when the shape is fully understood, else None."""
    extracted = extract(body, base_url=base_url, content_type=content_type)
    if extracted is None:
        return None
    # Imported here because feed.py imports this module; the post-processing is shared, not copied.
    from monitor.parse.feed import build_parsed_feed

    feed, entries, bozo = extracted
    return build_parsed_feed(feed, entries, bozo, base_url=base_url, language_hint=language_hint)
