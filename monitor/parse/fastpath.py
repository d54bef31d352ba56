"""A fast path for plain RSS 2.0 and Atom 1.0 feeds that yields exactly what feedparser yields.

feedparser (SAX over expat, then a Python handler per event) is most of parse_feed's cost. For the
common, well-formed shapes this module walks an ElementTree (the same expat, C-accelerated) and
rebuilds the few feedparser fields parse_feed reads, replaying feedparser's own rules: its encoding
detection (`convert_to_utf8`), its date parser, its URI joining, its text clean-up (strip, the
"UTF-8 read as Latin-1" repair, the cp1252 remap) and its order-dependent dictionary updates.
Anything outside the shapes it fully understands makes it decline (return None) so feedparser
decides; the equivalence test over feedparser's own corpus (tests/parse/test_fastpath.py) holds
it to that. The tree can also come from lxml (XML_BACKEND, opt-in): the same walks, the same
declines, the same corpus test, but not faster (benchmarks/parse_bench.py).

This module is the entry point (encoding, well-formedness, namespaces, dispatch); the walks live in
fastpath_rss.py and fastpath_atom.py, on the shared rules in fastpath_common.py. It returns
feedparser-shaped dicts only: the RSS/Atom/RDF format (formats/syndication.py) turns them, like
feedparser's own result, into the raw feed that the shared post-processing (build.py) finishes.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from typing import Any

from monitor.parse.fastpath_atom import _atom
from monitor.parse.fastpath_common import _KNOWN_PREFIXES, Decline, Entry, _Walker
from monitor.parse.fastpath_rss import _rss
from monitor.parse.feedparser_internals import NAMESPACES, convert_to_utf8, make_safe_absolute_uri
from monitor.parse.prolog import UTF8_XML

# Which XML parser builds the tree the walks read: "expat" (ElementTree, the default) or "lxml"
# (libxml2, opt-in: it parses twice as fast but the walk over its element proxies costs more than
# that saves; benchmarks/README.md "Parse: expat or lxml" has the figures).
XML_BACKEND = "expat"

_STANDARD_PREFIXES = frozenset(p for p in NAMESPACES.values() if p)
_ATOM_NS = "http://www.w3.org/2005/atom"


def _check_namespaces(declarations: list[tuple[str, str]]) -> None:
    """Decline on unknown namespaces and on prefixes feedparser would remap."""
    for prefix, uri in declarations:
        standard = NAMESPACES.get(uri.lower())
        if standard is None or standard not in _KNOWN_PREFIXES:
            raise Decline(f"namespace {uri}")
        if standard == "" and uri.lower() != _ATOM_NS:
            raise Decline(f"core namespace {uri}")  # RSS 1.0, Atom 0.3, userland: other formats
        if prefix and prefix != standard and prefix.lower() in _STANDARD_PREFIXES:
            raise Decline(f"prefix {prefix} bound to {uri}")


def _expat_tree(data: bytes) -> tuple[Any, list[tuple[str, str]]] | None:
    """The root element and every namespace declaration, through ElementTree (expat); None if not well-formed."""
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
    return None if root is None else (root, declarations)


_LOCAL = threading.local()


def _lxml_parser() -> Any:
    """This thread's libxml2 parser (a parser serves one thread): no DTD, entity, network or huge tree."""
    parser = getattr(_LOCAL, "parser", None)
    if parser is None:
        from lxml import etree  # an optional dependency (the dev and bench extras), loaded on first use

        # The prolog scrubber already removed every declaration; these make libxml2 refuse them anyway.
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
            dtd_validation=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _LOCAL.parser = parser
    return parser


def _lxml_tree(data: bytes) -> tuple[Any, list[tuple[str, str]]] | None:
    """The root element and every namespace declaration, through lxml (libxml2); None if not well-formed."""
    from lxml import etree

    try:
        root = etree.fromstring(data, _lxml_parser())
    except etree.XMLSyntaxError:  # not well-formed, or past libxml2's limits (depth 256, 10 MB text)
        return None
    declared = root.nsmap  # the root's own declarations: it has no parent to inherit from
    if data.count(b"xmlns") != len(declared):
        # Some declaration sits below the root (or "xmlns" is text): every element's in-scope map
        # holds its own declarations, so their union is every declaration, as expat reports them.
        pairs = {(prefix or "", uri) for element in root.iter(etree.Element) for prefix, uri in element.nsmap.items()}
        return root, sorted(pairs)
    return root, [(prefix or "", uri) for prefix, uri in declared.items()]


def extract(
    body: bytes, *, base_url: str, content_type: str | None = UTF8_XML
) -> tuple[Entry, list[Entry], str | None] | None:
    """Return (feed, entries, bozo message) as feedparser would build them, or None to decline."""
    result: dict[str, Any] = {}
    # The same header feedparser gets from parse_feed (the scrubbed body is UTF-8, served as such).
    headers = {"content-location": base_url, "content-type": content_type or "application/xml"}
    data = convert_to_utf8(headers, body, result)
    if not result.get("encoding"):
        return None
    bozo = (str(result.get("bozo_exception") or "") or "bozo feed") if result.get("bozo") else None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return None  # neutralise_prolog removed every declaration; never let expat see one
    tree = _lxml_tree(data) if XML_BACKEND == "lxml" else _expat_tree(data)
    if tree is None:
        return None
    root, declarations = tree
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
