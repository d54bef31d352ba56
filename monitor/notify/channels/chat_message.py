"""The chat message of a delivery: Markdown or plain text rendered from the Jinja2 templates in
monitor/templates/chat/ (overridable from `<email.templates_dir>/chat/`), fitted to the service's size (docs/chat.md).

Feed-health messages are not templates: their lines come from monitor/notify/feed_health.py, as the email's do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from monitor.config.models import SubscriberConfig
from monitor.errors import DeliveryError
from monitor.notify.content import DeliveryContent, DeliveryItem, SpikeContent
from monitor.notify.feed_health import feed_health_lines, feed_health_summary
from monitor.notify.render import format_local_time, plain_text, safe_url

PACKAGED_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "chat"
DIGEST_TOP = 10
"""Articles a digest message lists; the rest are counted ("N more") and linked to the dashboard."""
SPIKE_TOP = 5
"""Top stories a spike message lists (the spike tick stores five)."""
_TITLE_MAX = 200
_SNIPPET_MAX = 280
_MARK = re.compile(r"\[\[(.+?)\]\]", re.DOTALL)
_URL = re.compile(r"(https?://\S+)")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]])")
_SPACE = re.compile(r"\s+")


def md_escape(text: str) -> str:
    """Text with Markdown's punctuation escaped, so a headline's `*` or `[` is shown, not interpreted."""
    return _MD_SPECIAL.sub(r"\\\1", _SPACE.sub(" ", text))


def md_url(url: str) -> str:
    """A URL safe inside a Markdown link's parentheses (its own parentheses and spaces percent-encoded)."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def mark_md(snippet: str) -> str:
    """A snippet escaped for Markdown, its [[...]] marks made **bold**."""
    text = _clip(plain_text(snippet), _SNIPPET_MAX)
    out, pos = [], 0
    for m in _MARK.finditer(text):
        out.append(md_escape(text[pos : m.start()]))
        out.append(f"**{md_escape(m.group(1))}**")
        pos = m.end()
    out.append(md_escape(text[pos:]))
    return "".join(out)


def mark_plain(snippet: str) -> str:
    """A snippet for the plain-text message, its marks in «guillemets» (no markup to rely on)."""
    return _MARK.sub(lambda m: f"«{m.group(1)}»", _clip(plain_text(snippet), _SNIPPET_MAX))


@dataclass(frozen=True, slots=True)
class EntryLine:
    """One matched entry of an article: its name, its watchlist and the snippet with the marked words."""

    name: str
    watchlist: str
    snippet: str


@dataclass(frozen=True, slots=True)
class ChatItem:
    """One article as a chat message shows it, every text field plain (escaped by the template's filter)."""

    title: str
    url: str
    source: str
    time: str
    also_reported_by: tuple[str, ...]
    entries: tuple[EntryLine, ...]
    dashboard_url: str
    more_entries: int = 0  # entries left out to fit the service's message size


def dashboard_link(base_url: str, path: str, query: dict[str, str] | None = None) -> str:
    """A dashboard URL under `base_url`, or "" when no dashboard address is configured."""
    base = safe_url(base_url)
    if not base:
        return ""
    return base.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")


def chat_item(item: DeliveryItem, content: DeliveryContent, subscriber: SubscriberConfig, base_url: str,
              max_entries: int | None = None) -> ChatItem:
    """The view of one delivered article (at most `max_entries` of its entries, the others counted)."""
    a = item.article
    matches = item.matches[:max_entries]
    return ChatItem(
        title=plain_text(a.title) or "(untitled)",
        url=safe_url(a.url),
        source=plain_text(a.source.name) or a.source.id,
        time=format_local_time(a.published_at, subscriber.zone),
        also_reported_by=tuple(plain_text(s.name) for s in a.also_reported_by),
        # Every entry the article matched, in configuration order: the reader sees why it arrived.
        entries=tuple(EntryLine(plain_text(m.name), content.watchlist_names.get(m.watchlist, m.watchlist), m.snippet)
                      for m in matches),
        dashboard_url=dashboard_link(base_url, "/articles/" + quote(a.id, safe="")),
        more_entries=len(item.matches) - len(matches),
    )


def chat_title(content: DeliveryContent) -> str:
    """The heading of a message: the headline of an alert, the period and count of a digest."""
    if content.kind == "alert" and content.items:
        return _clip(plain_text(content.items[0].article.title) or "(untitled)", _TITLE_MAX)
    count = len(content.items) + content.more_items
    noun = "article" if count == 1 else "articles"
    return f"{content.period_label or 'Digest'}: {count} new {noun}"


@lru_cache(maxsize=8)
def template_environment(templates_dir: Path | None = None) -> SandboxedEnvironment:
    """The sandboxed environment of the chat templates; an operator's `<templates_dir>/chat/` overrides them."""
    loaders = []
    if templates_dir is not None and (templates_dir / "chat").is_dir():
        loaders.append(FileSystemLoader(str(templates_dir / "chat")))
    loaders.append(FileSystemLoader(str(PACKAGED_TEMPLATES)))
    # No autoescape: the output is Markdown or plain text, escaped field by field with `md`.
    env = SandboxedEnvironment(loader=ChoiceLoader(loaders), autoescape=False, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True)
    env.filters["md"] = md_escape
    env.filters["md_url"] = md_url
    env.filters["mark_md"] = mark_md
    env.filters["mark_plain"] = mark_plain
    return env


def render_message(content: DeliveryContent, subscriber: SubscriberConfig, *, base_url: str,
                   templates_dir: Path | None = None, markdown: bool = True, limit: int = 0) -> str:
    """The message body of a delivery, Markdown (`<kind>.md`) or plain text (`<kind>.txt`).

    With a `limit` (the service's message size), the message is made to fit by listing fewer entries
    per article, then (digests) fewer articles, the rest counted ("N more"); never fewer than one.
    A spike message lists fewer top stories, then clips their titles, then lists none.
    """
    if content.kind == "feed_health":
        return _feed_health_message(content, subscriber, markdown)
    body = ""
    for top, max_entries in _FITTINGS[content.kind] if limit > 0 else _FITTINGS[content.kind][:1]:
        body = _render(content, subscriber, base_url, templates_dir, markdown, top, max_entries)
        if limit <= 0 or len(body) <= limit:
            break
    return body


_FITTINGS: dict[str, tuple[tuple[int, int | None], ...]] = {
    "alert": ((1, None), (1, 5), (1, 3), (1, 1)),
    "digest": ((DIGEST_TOP, None), (DIGEST_TOP, 1), (7, 1), (5, 1), (3, 1), (2, 1), (1, 1)),
    # A spike: its top stories (as many as were stored, five), then fewer, then their titles clipped
    # (the second number), then none: the count against the usual and the entry's link always fit.
    "spike": ((SPIKE_TOP, None), (3, None), (3, 80), (1, 80), (0, None)),
}


@dataclass(frozen=True, slots=True)
class SpikeStoryLine:
    """One top story of a surge as a chat message shows it (plain text; the template escapes)."""

    title: str
    url: str
    outlets: int
    time: str


@dataclass(frozen=True, slots=True)
class SpikeWindowLine:
    """One window that spiked: "42 stories in the last hour, usually 3" and its span in the reader's zone."""

    headline: str
    start: str
    end: str


FEED_HEALTH_SHOWN = 10
"""Feeds a chat message of a feed-health delivery lists (a mass outage says "N more" and links the Feeds page)."""


def _feed_health_message(content: DeliveryContent, subscriber: SubscriberConfig, markdown: bool) -> str:
    """Feed-health alerts: per feed its heading (bold in Markdown) and lines (notify/feed_health.py); at most ten."""
    alerts = content.feed_health
    if not alerts:
        raise DeliveryError(f"delivery {content.delivery_id} is a feed-health alert without its alerts", permanent=True)
    sections = [feed_health_lines(a, subscriber.zone) for a in alerts[:FEED_HEALTH_SHOWN]]
    if len(alerts) > 1:
        sections.insert(0, [feed_health_summary(alerts).removeprefix("[monitor] ")])
    more = len(alerts) - FEED_HEALTH_SHOWN
    if more > 0:
        sections.append([f"{more} more: {alerts[0].feeds_url}".rstrip(": ")])
    if not markdown:
        return "\n\n".join("\n".join(lines) for lines in sections) + "\n"
    return "\n\n".join(
        "\n".join([f"**{md_escape(lines[0])}**", *(_md_line(line) for line in lines[1:])]) for lines in sections
    ) + "\n"


def _md_line(line: str) -> str:
    """A line of plain text in Markdown: text escaped, its http(s) URLs left as they are (escaping would break them)."""
    return "".join(md_url(part) if n % 2 else md_escape(part) for n, part in enumerate(_URL.split(line)))


def spike_heading(spike: SpikeContent) -> str:
    """The first line of a spike message: "Spike: Hakan Fidan" ("Spike growing:" when it doubled)."""
    growing = "Spike growing" if spike.reason == "grew" else "Spike"
    return f"{growing}: {_clip(plain_text(spike.name) or spike.entry_id, _TITLE_MAX)}"


def _spike_context(content: DeliveryContent, subscriber: SubscriberConfig, top: int,
                   title_max: int | None) -> dict[str, Any]:
    spike = content.spike
    if spike is None:
        raise DeliveryError(f"delivery {content.delivery_id} is a spike without its spike", permanent=True)
    stories = [SpikeStoryLine(_clip(plain_text(s.title) or "(untitled)", title_max or _TITLE_MAX), safe_url(s.url),
                              s.outlets, format_local_time(s.published_at, subscriber.zone))
               for s in spike.top_stories]
    return {
        "title": spike_heading(spike),
        "watchlist": plain_text(spike.watchlist_name) or spike.watchlist,
        "reason": spike.reason,
        "windows": [SpikeWindowLine(w.headline, format_local_time(w.start, subscriber.zone),
                                    format_local_time(w.end, subscriber.zone)) for w in spike.windows],
        "articles": spike.articles,
        "stories": stories[:top],
        "more_stories": len(stories) - len(stories[:top]),
        # build_spike_content sets it only when base_url is configured.
        "entry_url": safe_url(spike.entry_url),
    }


def _render(content: DeliveryContent, subscriber: SubscriberConfig, base_url: str, templates_dir: Path | None,
            markdown: bool, top: int, max_entries: int | None) -> str:
    ext = "md" if markdown else "txt"
    if content.kind == "spike":
        spike_context = {**_spike_context(content, subscriber, top, max_entries), "kind": content.kind,
                         "delivery_id": content.delivery_id, "subscriber_name": subscriber.name or subscriber.id,
                         "timezone": subscriber.timezone}
        return template_environment(templates_dir).get_template(f"spike.{ext}").render(spike_context).strip() + "\n"
    items = [chat_item(i, content, subscriber, base_url, max_entries) for i in content.items]
    shown = items if content.kind == "alert" else items[:top]
    watchlists = list(dict.fromkeys(m.watchlist for i in content.items for m in i.matches))
    query = {"watchlist": watchlists[0]} if len(watchlists) == 1 else None
    context: dict[str, Any] = {
        "kind": content.kind,
        "title": chat_title(content),
        "period_label": content.period_label,
        "items": shown,
        "more": len(items) - len(shown),
        "more_url": dashboard_link(base_url, "/matches", query),
        "dashboard_url": dashboard_link(base_url, "/"),
        "delivery_id": content.delivery_id,
        "subscriber_name": subscriber.name or subscriber.id,
        "timezone": subscriber.timezone,
    }
    template = template_environment(templates_dir).get_template(f"{content.kind}.{ext}")
    return template.render(context).strip() + "\n"
