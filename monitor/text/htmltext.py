"""Feed HTML made safe (nh3) and made into plain text for matching."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import nh3

_ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "a", "em", "strong", "b", "i", "u", "s", "sub", "sup", "small", "mark",
        "abbr", "cite", "q", "time", "span", "div", "ul", "ol", "li", "dl", "dt", "dd",
        "blockquote", "code", "pre", "kbd", "samp", "h1", "h2", "h3", "h4", "h5", "h6",
        "img", "figure", "figcaption", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
    }
)  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "q": {"cite"},
    "blockquote": {"cite"},
    "time": {"datetime"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
# Tags whose content is never text a reader should see; everything else not allowed is unwrapped.
_DROP_CONTENT_TAGS = frozenset(
    {"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math", "head", "title"}
)
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_LINK_REL = "noopener noreferrer nofollow"
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Return `html` reduced to a safe subset; relative links are resolved against `base_url`."""
    if not html:
        return ""
    return _cleaner(base_url or "")(html).strip()


@functools.lru_cache(maxsize=64)
def _cleaner(base_url: str) -> Callable[[str], str]:
    """nh3's sanitiser with this module's rules for one base URL, built once for all the HTML of a feed.

    `nh3.clean` builds its sanitiser from the options on every call: ~7x the CPU of cleaning a
    typical feed item (a paragraph of ~1 KB). An `nh3.Cleaner` (nh3 >= 0.2.18) is built once with
    the same options, so it gives the same output; older nh3 builds it per call as before.
    """

    def _filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute in _URL_ATTRIBUTES:
            value = value.strip()
            if not value:
                return None  # an emptied href would otherwise resolve to the page itself
            if not base_url:
                return value
            try:
                return urljoin(base_url, value)
            except ValueError:
                return None
        return value

    options: dict[str, Any] = {
        "tags": set(_ALLOWED_TAGS),
        "clean_content_tags": set(_DROP_CONTENT_TAGS),
        "attributes": {tag: set(attrs) for tag, attrs in _ALLOWED_ATTRIBUTES.items()},
        "attribute_filter": _filter,
        "url_schemes": set(_URL_SCHEMES),
        "link_rel": _LINK_REL,
        "strip_comments": True,
    }
    cleaner = getattr(nh3, "Cleaner", None)
    if cleaner is None:
        return functools.partial(nh3.clean, **options)
    return cleaner(**options).clean  # type: ignore[no-any-return]


# Elements after which the text must break, so words of adjacent blocks never join.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot",
        "th", "thead", "tr", "ul", "title", "option", "legend", "fieldset", "summary", "details",
    }
)  # fmt: skip
_INVISIBLE_TAGS = frozenset(
    {"script", "style", "template", "noscript", "head", "svg", "math", "iframe", "object"}
)
_VOID_TAGS = frozenset(
    {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "wbr"}
)
_SPACES = re.compile(r"[ \t\f\v\u00a0\u200b\u3000\u2000-\u200a\u202f\u205f]+")


def _fold_spaces(line: str) -> str:
    """Each run of _SPACES as one space: a line of words between single spaces is returned as it is.

    The check is four scans in C; `sub` replaces every single space of a paragraph by another (~20x the CPU).
    """
    if line.isascii() and "  " not in line and "\t" not in line and "\f" not in line and "\v" not in line:
        return line  # the only ASCII characters of _SPACES are " ", \t, \f and \v
    return _SPACES.sub(" ", line)


class _TextExtractor(HTMLParser):
    """Collects visible text; `skip_tags` adds page furniture (nav, footer) to what is skipped."""

    def __init__(self, skip_tags: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self._skip = _INVISIBLE_TAGS | skip_tags
        self._skip_depth = 0
        self._skip_stack: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body" and "head" in self._skip_stack:
            # </head> is optional in HTML; <body> closes it implicitly.
            self._skip_stack.clear()
        if tag in self._skip and tag not in _VOID_TAGS:
            self._skip_stack.append(tag)
            return
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        elif tag == "img" and not self._skip_stack:
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f" {alt} ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_stack and tag in self._skip:
            # Pop back to the matching open tag; tolerate unbalanced markup.
            if tag in self._skip_stack:
                while self._skip_stack and self._skip_stack.pop() != tag:
                    pass
            return
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_stack:
            self.parts.append(data)

    def text(self) -> str:
        return _lines("".join(self.parts))


# The commonest feed HTML, text between bare tags ("<p>...</p>"), reduced without html.parser: a
# lowercase tag with no attribute, space or slash that is a block tag (one line break, as
# _TextExtractor) or an inline tag (nothing), and text with no '<' or '&' (no markup, no entity).
# Anything else returns None and goes through _TextExtractor; tests/parse/test_htmltext.py checks
# both give the same on every combination of edge pieces. <title> is left out: newer Pythons read
# its content as raw text.
_BARE_TAG = re.compile(r"<(/?)([a-z][a-z0-9]*)>")
_BARE_BLOCK_TAGS = _BLOCK_TAGS - {"title"}
_BARE_INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "cite", "code", "em", "i", "kbd", "mark", "q", "s", "samp", "small", "span",
     "strong", "sub", "sup", "time", "u"}
)  # fmt: skip


def _bare_markup_text(html: str) -> str | None:
    pieces = _BARE_TAG.split(html)  # text, "/" or "", tag name, text, ...
    raw: list[str] = []
    for k in range(0, len(pieces), 3):
        text = pieces[k]
        if "<" in text or "&" in text:
            return None
        raw.append(text)
        if k + 2 < len(pieces):
            tag = pieces[k + 2]
            if tag in _BARE_BLOCK_TAGS:
                raw.append("\n")
            elif tag not in _BARE_INLINE_TAGS:
                return None
    return _lines("".join(raw))


def _lines(raw: str) -> str:
    lines = (_fold_spaces(line).strip() for line in raw.replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def html_to_text(html: str, *, skip_tags: frozenset[str] = frozenset()) -> str:
    """Return the visible text of `html`: entities decoded, one line per block, no markup."""
    if not html:
        return ""
    if "<" not in html and "&" not in html:
        return "\n".join(line for line in (_fold_spaces(x).strip() for x in html.splitlines()) if line)
    if not skip_tags:
        text = _bare_markup_text(html)
        if text is not None:
            return text
    return _parsed_text(html, skip_tags)


def _parsed_text(html: str, skip_tags: frozenset[str]) -> str:
    parser = _TextExtractor(skip_tags)
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):
        # html.parser gives up on some pathological markup; keep what it read so far.
        pass
    return parser.text()


def plain_text(value: str) -> str:
    """Return `value` as one line of plain text (titles, author names): no markup, no entities."""
    return " ".join(html_to_text(value).split())
