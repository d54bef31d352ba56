"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1): a JSON object with `version` and `items`.

Detection: served as `application/feed+json`, or a body that is a JSON object naming a
`https://jsonfeed.org/version/` in its first bytes (servers often say `application/json` or
`text/plain`). The fields map onto RawEntry as RSS/Atom's do; everything shared (sanitising, plain
text, link policy, language, ids, caps) is done by monitor/parse/build.py.

A hostile document is refused before `json.loads` sees it: deeper than MAX_JSON_DEPTH (the C
decoder recurses per level and would raise RecursionError) or larger than MAX_JSON_BYTES gives a
parse_error. Wrong types are tolerated field by field, as the spec asks of readers: a field of the
wrong type counts as absent, an item that is not an object is skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from monitor.errors import ParseError
from monitor.parse.formats.base import Confidence, RawEntry, RawFeed, RawText, Sniff
from monitor.parse.websub import MAX_HUBS

__all__ = ["JSON_FEED", "MAX_JSON_BYTES", "MAX_JSON_DEPTH", "JsonFeedFormat"]

MAX_JSON_DEPTH = 64
"""Nesting of arrays/objects refused beyond this (a JSON Feed needs 4: feed, items, item, authors)."""
MAX_JSON_BYTES = 16 * 1024 * 1024
"""A JSON body larger than this is refused (the fetch cap, 15 MiB by default, normally comes first)."""

_VERSION_PREFIX = "https://jsonfeed.org/version/"
_SNIFF_BYTES = 4096
# A JSON string, escapes included; an unterminated one runs to the end of the body. Possessive, and
# every '"' starts a match: a failed match would be retried from each later quote (quadratic on
# `"\"\"\"...` without an end), so none may fail.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_OPEN_CLOSE = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, strings ignored (C-speed, no recursion)."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS).translate(_OPEN_CLOSE)
    # As signed bytes the openings are +1 and the closings -1: the running sum is the depth.
    return max(accumulate(memoryview(brackets).cast("b")), default=0)


def _looks_like_json_object(body: bytes) -> bool:
    return body[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


class JsonFeedFormat:
    """JSON Feed 1.0/1.1: sure of `application/feed+json` or a JSON object naming a jsonfeed.org version."""

    name = "json"

    def detect(self, sniff: Sniff) -> Confidence:
        """SURE for a JSON Feed, MAYBE for another JSON object served as JSON, else NO."""
        if not _looks_like_json_object(sniff.body):
            return Confidence.NO  # whatever the served type says (an RSS feed mislabelled feed+json)
        if sniff.media_type == "application/feed+json":
            return Confidence.SURE
        if _VERSION_PREFIX.encode() in sniff.body[:_SNIFF_BYTES].replace(b"\\/", b"/"):
            return Confidence.SURE
        # Other JSON served as JSON: ours to refuse with a clear message (not "no XML element").
        return Confidence.MAYBE if sniff.media_type.endswith(("/json", "+json")) else Confidence.NO

    def parse(self, sniff: Sniff) -> RawFeed:
        """The feed and its items; ParseError for invalid, hostile or non-JSON-Feed documents."""
        document = _load(sniff.body)
        if not isinstance(document, dict):
            raise ParseError("not_a_feed", "the JSON document is not an object; it is not a JSON Feed")
        version = document.get("version")
        if not isinstance(version, str) or not version.startswith(_VERSION_PREFIX):
            raise ParseError(
                "not_a_feed", f"the JSON document has no JSON Feed version (\"{_VERSION_PREFIX}1.1\"); check the feed URL"
            )
        items = document.get("items")
        if not isinstance(items, list):
            raise ParseError("parse_error", "the JSON Feed has no \"items\" array")
        return RawFeed(
            title=_string(document.get("title")),
            link=_string(document.get("home_page_url")) or None,
            language=_string(document.get("language")) or None,
            author=_authors(document),
            entries=tuple(_entry(item) for item in items if isinstance(item, dict)),
            format="json",
            hubs=_websub_hubs(document.get("hubs")),
            self_url=_string(document.get("feed_url")) or None,
        )


def _load(body: bytes) -> Any:
    """The decoded JSON, bounded in size and depth."""
    if len(body) > MAX_JSON_BYTES:
        raise ParseError("parse_error", f"the JSON document is larger than {MAX_JSON_BYTES} bytes")
    depth = _json_depth(body)
    if depth > MAX_JSON_DEPTH:
        raise ParseError("parse_error", f"the JSON document nests deeper than {MAX_JSON_DEPTH} levels ({depth})")
    # JSON Feed is UTF-8 (RFC 8259); a BOM is tolerated, a bad byte replaced rather than refused.
    text = body.decode("utf-8-sig", errors="replace")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError("parse_error", f"the JSON Feed is not valid JSON: {exc}") from exc


def _websub_hubs(value: Any) -> tuple[str, ...]:
    """The URLs of the feed's `hubs` whose type is WebSub (JSON Feed 1.1 section "hubs")."""
    if not isinstance(value, list):
        return ()
    return tuple(
        hub["url"] for hub in value[:MAX_HUBS]
        if isinstance(hub, dict) and isinstance(hub.get("url"), str)
        and _string(hub.get("type")).lower() in ("websub", "pubsubhubbub")
    )


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _authors(obj: Mapping[str, Any]) -> str:
    """`authors` (1.1) else `author` (1.0): the names, comma-separated."""
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj.get("author")]
    names = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str) and a["name"]]
    return ", ".join(names)


def _date(value: Any) -> datetime | None:
    """An RFC 3339 date as aware UTC (a date without zone is taken as UTC); None when absent or invalid."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _entry(item: Mapping[str, Any]) -> RawEntry:
    raw_id = item.get("id")
    # 1.0 feeds sometimes give a number; the spec asks readers to coerce it to a string.
    guid = raw_id if isinstance(raw_id, str) else str(raw_id) if isinstance(raw_id, int | float) else None
    url = item.get("url") if isinstance(item.get("url"), str) else item.get("external_url")
    content_html, content_text = _string(item.get("content_html")), _string(item.get("content_text"))
    content = (
        RawText(value=content_html, html=True) if content_html.strip()
        else RawText(value=content_text, html=False) if content_text.strip() else None
    )
    summary = _string(item.get("summary"))
    return RawEntry(
        guid=guid,
        link=url if isinstance(url, str) else None,
        title=_string(item.get("title")),
        summary=RawText(value=summary, html=False) if summary.strip() else None,
        content=content,
        published=_date(item.get("date_published")) or _date(item.get("date_modified")),
        author=_authors(item),
        language=_string(item.get("language")) or None,
    )


JSON_FEED = JsonFeedFormat()
"""The JSON Feed format (formats/__init__.py BUILT_IN)."""
