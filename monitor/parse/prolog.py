"""Neutralise the XML prolog (DOCTYPE, ENTITY declarations) before feedparser sees the bytes."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# A root element starts with '<' and a name start character; anything >= 0x80 may begin a non-ASCII name.
_NAME_START = re.compile(rb"<[A-Za-z_:\x80-\xff]")
_XML_DECL = re.compile(rb"\A(\xef\xbb\xbf)?\s*<\?xml\b[^>]*\?>", re.IGNORECASE)
_ENCODING_ATTR = re.compile(rb"""encoding\s*=\s*["'][^"']*["']""", re.IGNORECASE)
_ROOT_NAME = re.compile(rb"<([A-Za-z_:\x80-\xff][^\s/>]*)")

# UTF-16/32 documents are detected by BOM or by the NUL pattern of '<' (XML 1.0 appendix F),
# because byte-level scanning for '<!DOCTYPE' does not work on them.
_WIDE_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE_PATTERNS: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)


@dataclass(frozen=True, slots=True)
class Prolog:
    """The body with its prolog neutralised, plus what the scan learnt about it."""

    body: bytes
    root: str | None  # local name of the root element, lowercased; None when no element was found
    transcoded: bool  # True when a UTF-16/32 body was re-encoded as UTF-8


def _wide_encoding(body: bytes) -> tuple[str, int] | None:
    for bom, name in _WIDE_BOMS:
        if body.startswith(bom):
            return name, len(bom)
    for pattern, name in _WIDE_PATTERNS:
        if body.startswith(pattern):
            return name, 0
    return None


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


def _find_root(body: bytes) -> int:
    """Index of the root element's '<', skipping PIs, comments and declarations; -1 when none."""
    i = 0
    n = len(body)
    while i < n:
        lt = body.find(b"<", i)
        if lt < 0:
            return -1
        if body.startswith(b"<?", lt):
            end = body.find(b"?>", lt + 2)
            i = n if end < 0 else end + 2
        elif body.startswith(b"<!--", lt):
            end = body.find(b"-->", lt + 4)
            i = n if end < 0 else end + 3
        elif body.startswith(b"<!", lt):
            i = _skip_declaration(body, lt)
        elif _NAME_START.match(body, lt):
            return lt
        else:
            i = lt + 1
    return -1


def neutralise_prolog(body: bytes) -> Prolog:
    """Drop everything between the XML declaration and the root element (DOCTYPE, ENTITY, comments, PIs).

    feedparser's loose parser expands internal entities without limit, and its own DOCTYPE scrubber
    is a regex that also matches inside comments; dropping the whole prolog removes both risks.
    Nothing a feed needs lives there: feedparser discards the DOCTYPE itself.
    """
    transcoded = False
    wide = _wide_encoding(body)
    if wide is not None:
        name, skip = wide
        text = body[skip:].decode(name, errors="replace")
        body = text.encode("utf-8")
        transcoded = True
    root_at = _find_root(body)
    if root_at < 0:
        return Prolog(body=body, root=None, transcoded=transcoded)
    decl = _XML_DECL.match(body)
    head = decl.group(0) if decl and decl.end() <= root_at else b""
    if transcoded and head:
        # The declaration may still say utf-16; the bytes are UTF-8 now.
        head = _ENCODING_ATTR.sub(b'encoding="utf-8"', head)
    name_match = _ROOT_NAME.match(body, root_at)
    root = None
    if name_match:
        raw = name_match.group(1).decode("utf-8", errors="replace").lower()
        root = raw.rsplit(":", 1)[-1]
    separator = b"\n" if head else b""
    return Prolog(body=head + separator + body[root_at:], root=root, transcoded=transcoded)
