"""WebSub discovery in a feed document: the `<link rel="hub">` and `<link rel="self">` of its head.

WebSub (W3C Recommendation, section 4) has the subscriber look for Link headers first (the fetcher
reads those, monitor/fetch/websub.py) and, without them, for the link elements an XML feed embeds:
`<atom:link rel="hub" href="...">` in RSS, `<link rel="hub" href="...">` in Atom. Only the feed's
own head is read, up to its first entry: a link inside an entry's content is someone else's. JSON
Feed names its hubs in `hubs` (monitor/parse/formats/jsonfeed.py).
"""

from __future__ import annotations

import html
import re

__all__ = ["MAX_HUBS", "head_links"]

MAX_HUBS = 5
"""Hubs kept per document at most (the WebSub tick subscribes at up to three of them)."""
HEAD_BYTES = 256 * 1024
"""How far into the scrubbed document the head is looked for."""

# The first entry ends the feed's head: <item>, <entry>, prefixed or not.
_FIRST_ENTRY = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s>/]")
_LINK = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?link\b([^<>]*)>")
_ATTRIBUTE = re.compile(rb"""([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def head_links(body: bytes) -> tuple[tuple[str, ...], str | None]:
    """The hubs and the self URL the XML document's head names (unresolved), from its link elements."""
    head = body[:HEAD_BYTES]
    first = _FIRST_ENTRY.search(head)
    if first is not None:
        head = head[: first.start()]
    hubs: list[str] = []
    self_url: str | None = None
    for link in _LINK.finditer(head):
        attributes = {
            name.decode("ascii", "replace").lower().rsplit(":", 1)[-1]: double or single
            for name, double, single in _ATTRIBUTE.findall(link.group(1))
        }
        href = attributes.get("href")
        if not href:
            continue
        url = html.unescape(href.decode("utf-8", "replace")).strip()
        rels = html.unescape(attributes.get("rel", b"").decode("utf-8", "replace")).lower().split()
        if "hub" in rels and url not in hubs and len(hubs) < MAX_HUBS:
            hubs.append(url)
        if "self" in rels and self_url is None:
            self_url = url
    return tuple(hubs), self_url
