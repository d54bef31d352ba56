"""Decode a feed the way feedparser does, then take every markup declaration out of it.

feedparser's loose parser expands the internal entities it finds before the first `<\\w` without
limit (a 90 KB feed became a 600 MB article), and expat expands the ones of an internal DTD subset.
So no parser may ever see a DOCTYPE or ENTITY declaration, wherever it sits and however it is
spelled or encoded:

1. the body is decoded once, by feedparser's own `convert_to_utf8` (BOMs, UTF-16/32, EBCDIC, the
   declared or served charset, its fallbacks), and every parser is handed the resulting UTF-8 with
   `charset=utf-8`: what is scrubbed below is exactly what they read;
2. everything between the XML declaration and the root element is dropped (DOCTYPE, comments, PIs,
   stray tags' neighbours);
3. from the root on, comments, processing instructions and `<!...>` declarations are dropped, and a
   `<!` inside a CDATA section is split across two sections (`<]]><![CDATA[!`): same text, no `<!`;
4. last, whatever a malformed document still hides (in an attribute value, an unterminated
   construct) is defanged: any `<!` followed by DOCTYPE or ENTITY in any case, with or without
   white space in between, becomes the text `&lt;!`.

With no declaration left, an entity reference (`&a;`) is never longer once expanded than a
character reference, so the parsed text is bounded by a small multiple of the body (docs/security.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from monitor.parse.feedparser_internals import convert_to_utf8

# A root element starts with '<' and a name start character; anything >= 0x80 may begin a non-ASCII name.
_NAME_START = re.compile(rb"<[A-Za-z_:\x80-\xff]")
_ROOT_NAME = re.compile(rb"<([A-Za-z_:\x80-\xff][^\s/>]*)")
# The only constructs the scrubber acts on: comments, CDATA, declarations and PIs all start so.
_MARKUP_START = re.compile(rb"<[!?]")
# The last line of defence: a declaration keyword after '<!' in any case, white space allowed.
_DECLARATION = re.compile(rb"<!(?=\s*(?:doctype|entity))", re.IGNORECASE)

XML_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>"
"""What the scrubbed body starts with: it is UTF-8 whatever the feed was sent in."""
UTF8_XML = "application/xml; charset=utf-8"
"""The content type every parser is given for the scrubbed body (the charset is the one that counts)."""


@dataclass(frozen=True, slots=True)
class Prolog:
    """The scrubbed UTF-8 body, plus what the scan learnt about it."""

    body: bytes
    root: str | None  # local name of the root element, lowercased; None when no element was found
    encoding_problem: str | None = None  # feedparser's note on the encoding (served as text/html, ...)


def decode_like_feedparser(body: bytes, *, base_url: str, content_type: str | None) -> tuple[bytes, str | None]:
    """The body as UTF-8, decoded by feedparser's own rules, and feedparser's note on its encoding if any."""
    result: dict[str, Any] = {}
    # Without a type feedparser flags every feed bozo; XML's own declaration then decides the encoding.
    headers = {"content-location": base_url, "content-type": content_type or "application/xml"}
    data = convert_to_utf8(headers, body, result)
    problem = (str(result.get("bozo_exception") or "") or "bozo feed") if result.get("bozo") else None
    return data, problem


def _skip_declaration(body: bytes, start: int) -> int:
    """Return the index just past a '<!...>' declaration, honouring quotes and an internal subset."""
    depth = 0
    quote = 0
    i = start + 2
    n = len(body)
    while i < n:
        c = body[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):  # " or '
            quote = c
        elif c == 0x5B:  # [
            depth += 1
        elif c == 0x5D:  # ]
            depth = max(0, depth - 1)
        elif c == 0x3E and depth == 0:  # >
            return i + 1
        i += 1
    return n


def _end_of(body: bytes, start: int, opening: bytes, closing: bytes) -> int:
    """Index just past the `closing` of a construct that starts with `opening` at `start` (or the end)."""
    end = body.find(closing, start + len(opening))
    return len(body) if end < 0 else end + len(closing)


def _find_root(body: bytes) -> int:
    """Index of the root element's '<', skipping PIs, comments and declarations; -1 when none."""
    i = 0
    n = len(body)
    while i < n:
        lt = body.find(b"<", i)
        if lt < 0:
            return -1
        if body.startswith(b"<?", lt):
            i = _end_of(body, lt, b"<?", b"?>")
        elif body.startswith(b"<!--", lt):
            i = _end_of(body, lt, b"<!--", b"-->")
        elif body.startswith(b"<!", lt):
            i = _skip_declaration(body, lt)
        elif _NAME_START.match(body, lt):
            return lt
        else:
            i = lt + 1
    return -1


def _scrub(body: bytes, start: int) -> bytes:
    """`body[start:]` without comments, PIs and declarations, CDATA kept with every `<!` split out."""
    out = bytearray()
    i = start
    n = len(body)
    while i < n:
        found = _MARKUP_START.search(body, i)
        if found is None:
            out += body[i:]
            break
        at = found.start()
        out += body[i:at]
        if body.startswith(b"<![CDATA[", at):
            i = _end_of(body, at, b"<![CDATA[", b"]]>")
            # Same characters for the parser, but no '<!' for anyone to read as a declaration.
            out += b"<![CDATA[" + body[at + 9 : i].replace(b"<!", b"<]]><![CDATA[!")
        elif body.startswith(b"<!--", at):
            i = _end_of(body, at, b"<!--", b"-->")
        elif body.startswith(b"<?", at):
            i = _end_of(body, at, b"<?", b"?>")
        else:
            i = _skip_declaration(body, at)
    return bytes(out)


def scrub_declarations(data: bytes) -> bytes:
    """Defang any `<!DOCTYPE`/`<!ENTITY` (any case, white space allowed) left in `data` as text."""
    return _DECLARATION.sub(b"&lt;!", data)


def neutralise_prolog(body: bytes, *, base_url: str = "", content_type: str | None = None) -> Prolog:
    """Decode `body` like feedparser, then drop the prolog and every declaration (see the module docstring).

    Nothing a feed needs lives in them: feedparser discards the DOCTYPE itself, and comments and
    processing instructions carry no feed data.
    """
    data, problem = decode_like_feedparser(body, base_url=base_url, content_type=content_type)
    root_at = _find_root(data)
    if root_at < 0:
        return Prolog(body=scrub_declarations(data), root=None, encoding_problem=problem)
    name_match = _ROOT_NAME.match(data, root_at)
    root = None
    if name_match:
        raw = name_match.group(1).decode("utf-8", errors="replace").lower()
        root = raw.rsplit(":", 1)[-1]
    scrubbed = scrub_declarations(_scrub(data, root_at))
    return Prolog(body=XML_DECLARATION + b"\n" + scrubbed, root=root, encoding_problem=problem)
