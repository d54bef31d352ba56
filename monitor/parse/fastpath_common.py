"""Shared pieces of the feed fast path (fastpath.py): element naming, attribute and text rules.

Everything here replays one feedparser rule; fastpath_rss.py and fastpath_atom.py build on it, and
anything they cannot reproduce exactly raises Decline so fastpath.extract hands the feed back to
feedparser. The underscore names are internal to the fastpath modules.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

from monitor.parse.feedparser_internals import CP1252_REMAP, NAMESPACES, map_content_type, urljoin

Entry = dict[str, Any]

_XML_NS = "{http://www.w3.org/XML/1998/namespace}"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# URIs that feedparser's join returns exactly as written, whatever the base (when the base itself
# parses): an absolute http(s) URL of plain ASCII characters (its own scheme: urllib re-assembles
# the same string; another scheme: returned as is), or a urn:/tag: id (never joined). No ';' in the
# path (urllib would split and drop an empty parameter), no empty '?', no fragment, no brackets,
# spaces or controls (urllib strips or refuses them). tests/parse/test_fastpath.py checks it against
# feedparser's join on generated URIs.
_AS_WRITTEN = re.compile(
    r"(?:https?://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]+)?(?:/[A-Za-z0-9._~!$&'()*+,=:@%/-]*)?"
    r"(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]+)?"
    r"|(?:urn|tag):(?!//)[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)\Z"
)

# Namespaces the fast path knows; a declaration of any other makes it decline.
_KNOWN_PREFIXES = frozenset({"", "content", "dc", "sy", "wfw", "slash", "feedburner", "xml"})


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
    return value.translate(CP1252_REMAP)


class _Walker:
    """State shared while walking one document: the base URI and the element-name mapping."""

    def __init__(self, base: str) -> None:
        self.base = base
        try:
            urlsplit(base)
            self._base_parses = True
        except ValueError:  # then feedparser's join returns '' for every URI
            self._base_parses = False

    def name(self, element: ET.Element) -> str:
        """feedparser's name for an element: standard prefix + ':' + lowercased local name."""
        tag = element.tag
        if not isinstance(tag, str):
            raise Decline("comment or processing instruction node")
        if tag[0] == "{":
            uri, _, local = tag[1:].partition("}")
            prefix = NAMESPACES.get(uri.lower())
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
        """feedparser's join of `uri` to the base; the URIs it returns as written skip urllib's parse."""
        if self._base_parses and _AS_WRITTEN.match(uri):
            return uri
        return urljoin(self.base or "", uri)


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


def _detail(value: str, content_type: str, lang: str | None, base: str) -> dict[str, Any]:
    return {"type": content_type, "language": lang, "base": base, "value": value}


def _set_once(seen: set[str], key: str) -> None:
    if key in seen:
        raise Decline(f"repeated {key}")
    seen.add(key)


def _plain_text_once(w: _Walker, element: ET.Element, seen: set[str], key: str) -> str:
    """The cleaned text of an element that takes no attributes and may appear once per parent."""
    _set_once(seen, key)
    _attrs(element, frozenset())
    return _fp_text(w.text(element))


# Shared because RSS channels and items may carry atom:link elements, which feedparser handles alike.
def _atom_link(w: _Walker, element: ET.Element, target: Entry) -> None:
    """feedparser's _start_link for Atom: the last rel=alternate HTML link becomes `link`."""
    attrs = _attrs(element, frozenset({"rel", "type", "href", "hreflang", "title", "length"}))
    if len(element) or (element.text or "").strip():
        raise Decline("link with content")
    if "href" not in attrs:
        raise Decline("link without href")
    rel = attrs.get("rel", "alternate")
    default_type = "application/atom+xml" if rel == "self" else "text/html"
    content_type = map_content_type(attrs.get("type", default_type))
    if rel == "alternate" and content_type in _HTML_TYPES:
        target["link"] = w.resolve(attrs["href"])
