"""Templates and the filters that turn stored text into safe HTML (escape first, then mark)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import nh3
from jinja2 import FileSystemLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from monitor.clock import Clock, relative_time, system_clock
from monitor.parse.urls import http_link

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "web"
STATIC = TEMPLATES / "static"
_MARK = re.compile(r"\[\[(.+?)\]\]", re.S)


def marked_snippet(snippet: str | None) -> Markup:
    """A stored snippet with its [[marks]] as <mark>; everything else escaped."""
    escaped = str(escape(snippet or ""))
    # Escaping leaves "[" and "]" alone, so the marks survive it and nothing else can become a tag.
    return Markup(_MARK.sub(lambda m: f"<mark>{m.group(1)}</mark>", escaped))


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans merged, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight_text(text: str, highlights: Iterable[Mapping[str, Any]], field: str) -> Markup:
    """The text of one field with the highlights of that field marked; spans that no longer fit are skipped."""
    spans = []
    for h in highlights:
        try:
            start, end = int(h["start"]), int(h["end"])
        except (KeyError, TypeError, ValueError):
            continue
        # A span recorded against an older version of the article would mark the wrong words.
        if h.get("field") == field and 0 <= start < end <= len(text) and text[start:end] == h.get("text", text[start:end]):
            spans.append((start, end))
    pieces, pos = [], 0
    for start, end in merge_spans(spans):
        pieces += [str(escape(text[pos:start])), "<mark>", str(escape(text[start:end])), "</mark>"]
        pos = end
    pieces.append(str(escape(text[pos:])))
    return Markup("".join(pieces))


# No images from feeds in the dashboard: they would tell the feed's server who reads what (and the CSP,
# img-src 'self', would refuse them anyway).
_DISPLAY_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}


def sanitized(html: str | None) -> Markup:
    """Feed HTML cleaned again at display time (it was cleaned on the way in; a second pass costs little)."""
    return Markup(nh3.clean(html or "", tags=_DISPLAY_TAGS, link_rel="noopener noreferrer nofollow"))


class Renderer:
    """The dashboard's Jinja2 environment: autoescaping and sandboxed, templates only from the package."""

    def __init__(self, timezone: str = "UTC", clock: Clock = system_clock) -> None:
        self.zone = ZoneInfo(timezone)
        self.clock = clock
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(TEMPLATES)),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(
            marked=marked_snippet, when=self.when, ago=self.ago, sanitized=sanitized, highlight=highlight_text,
            # Only http(s) links become an href; any other stored link (rows from before 13.4) shows as text.
            http_link=http_link,
            ms=lambda v: "-" if v is None else f"{v:.0f} ms",
        )

    def render(self, name: str, **context: Any) -> str:
        """Render one template from templates/web/ (never a string from a request)."""
        return self.env.get_template(name).render(**context)

    def when(self, value: datetime | None) -> str:
        """A time in the configured zone, e.g. 2024-11-19 08:00 UTC."""
        if value is None:
            return "never"
        return value.astimezone(self.zone).strftime("%Y-%m-%d %H:%M %Z")

    def ago(self, value: datetime | None, now: datetime | None = None) -> str:
        """How long ago (or in how long) a time is on the app's clock, e.g. 5m ago, in 2h."""
        return relative_time(value, now or self.clock())
