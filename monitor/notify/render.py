"""Render a delivery as email HTML and text from Jinja2 templates (DESIGN §5)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import css_inline
import nh3
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from monitor.config.models import EmailSettings, SubscriberConfig
from monitor.model import Match
from monitor.notify.content import DeliveryContent, ItemArticle

# Path(__file__)-relative so it works from a wheel / non-editable install (package-data
# "templates/**/*" in pyproject.toml ships the files next to the modules).
PACKAGED_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"

_MARK = re.compile(r"\[\[(.+?)\]\]", re.DOTALL)
_SUBJECT_TITLE_MAX = 90
_SUBJECT_TOP_TITLE_MAX = 70  # a digest's subject carries the count and the watchlists too
_SUBJECT_WATCHLISTS_MAX = 3


def plain_text(value: str) -> str:
    """Strip any markup left in text that should be plain (defence in depth), keeping the characters."""
    # Text fields are supposed to be plain already; feeds sometimes double-escape markup, so
    # strip-and-unescape until stable (bounded) so "&lt;script&gt;" cannot come back as "<script>".
    text = value
    for _ in range(3):
        cleaned = html.unescape(nh3.clean(text, tags=set()))
        if cleaned == text:
            break
        text = cleaned
    else:
        text = nh3.clean(text, tags=set())  # still changing: keep the escaped (inert) form
    return text


def safe_url(value: str) -> str:
    """The URL if it is http(s), else "" (javascript:, data: and friends never become links)."""
    url = value.strip()
    if urlsplit(url).scheme.lower() in ("http", "https") and urlsplit(url).netloc:
        return url
    return ""


def mark_html(snippet: str) -> Markup:
    """Escape a snippet and turn its [[...]] marks into <mark> elements."""
    text = plain_text(snippet)
    out: list[str] = []
    pos = 0
    for m in _MARK.finditer(text):
        # Escape every piece first; only our own <mark> tags are literal markup.
        out.append(str(escape(text[pos : m.start()])))
        out.append(f"<mark>{escape(m.group(1))}</mark>")
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def mark_text(snippet: str) -> str:
    """Turn a snippet's [[...]] marks into *...* for the plain-text part."""
    return _MARK.sub(lambda m: f"*{m.group(1)}*", plain_text(snippet))


def format_local_time(value: datetime, zone: str | ZoneInfo) -> str:
    """A UTC time as the subscriber reads it, e.g. "19 Nov 2024, 11:00 +03"."""
    tz = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
    local = value.astimezone(tz)
    return f"{local.day} {local:%b %Y, %H:%M} {local:%Z}"


@pass_context
def _localtime_filter(ctx: Context, value: datetime) -> str:
    return format_local_time(value, ctx.get("timezone", "UTC"))


# --------------------------------------------------------------- view model


@dataclass(frozen=True, slots=True)
class MatchView:
    """One entry a story matched, with its watchlist and the marked words that made it match."""

    watchlist: str
    name: str
    kind: str
    snippet: str


@dataclass(frozen=True, slots=True)
class ItemView:
    """One story under its first entry, with everything the templates show already made safe."""

    title: str
    url: str
    source: str
    published_at: datetime
    snippet: str
    also_reported_by: tuple[str, ...]
    cluster_size: int
    also_matched: tuple[str, ...] = ()
    matched: tuple[MatchView, ...] = ()
    """Every entry the story matched for this subscriber (the first one included), with its marked words."""
    page_url: str = ""
    """The story's dashboard article page (`{base_url}/articles/{id}`), or "" when no base_url is set."""


@dataclass(slots=True)
class EntryView:
    """A watchlist entry (actor or topic) and the articles that matched it."""

    id: str
    name: str
    kind: str
    items: list[ItemView] = field(default_factory=list)


@dataclass(slots=True)
class WatchlistView:
    """A watchlist and its entries, in the order they first appear in the delivery."""

    id: str
    name: str
    entries: list[EntryView] = field(default_factory=list)


def article_page_url(base_url: str, article_id: str) -> str:
    """The dashboard page of an article (why it matched, the story's other outlets), or "" without a base_url."""
    base = safe_url(base_url)
    return f"{base.rstrip('/')}/articles/{quote(article_id, safe='')}" if base else ""


def _item_view(
    article: ItemArticle, match: Match, also_matched: tuple[str, ...] = (), matched: tuple[MatchView, ...] = (),
    base_url: str = "",
) -> ItemView:
    return ItemView(
        title=plain_text(article.title) or "(untitled)",
        url=safe_url(article.url),
        source=plain_text(article.source.name),
        published_at=article.published_at,
        snippet=match.snippet,
        also_reported_by=tuple(plain_text(s.name) for s in article.also_reported_by),
        cluster_size=article.cluster_size,
        also_matched=tuple(plain_text(name) for name in also_matched),
        matched=matched,
        page_url=article_page_url(base_url, article.id),
    )


def group_items(content: DeliveryContent, base_url: str = "") -> list[WatchlistView]:
    """Items grouped by watchlist, then entry; each story shows once in the delivery.

    A story that matched several entries (the §1 story matches a dozen, across watchlists) is listed
    under the first entry it matched (in configuration order) and shows every entry it matched with
    its marked words, so a reader does not scroll past the same story again and again.
    """
    groups: dict[str, WatchlistView] = {}
    for item in content.items:
        if not item.matches:
            continue
        primary = item.matches[0]  # configuration order: the analyst lists what matters first
        wl = groups.get(primary.watchlist)
        if wl is None:
            name = content.watchlist_names.get(primary.watchlist, primary.watchlist)
            wl = groups[primary.watchlist] = WatchlistView(primary.watchlist, name)
        entry = next((e for e in wl.entries if e.id == primary.id), None)
        if entry is None:
            entry = EntryView(primary.id, primary.name, primary.kind)
            wl.entries.append(entry)
        others = tuple(m.name for m in item.matches if m is not primary)
        matched = tuple(
            MatchView(plain_text(content.watchlist_names.get(m.watchlist, m.watchlist)), plain_text(m.name), m.kind, m.snippet)
            for m in item.matches
        )
        entry.items.append(_item_view(item.article, primary, others, matched, base_url))
    return list(groups.values())


def watchlist_names(content: DeliveryContent, subscriber: SubscriberConfig | None = None) -> list[str]:
    """Display names of the watchlists in the delivery (or the subscriber's when it is empty)."""
    ids: list[str] = []
    for item in content.items:
        for match in item.matches:
            if match.watchlist not in ids:
                ids.append(match.watchlist)
    if not ids and subscriber is not None:
        ids = [w.split("/", 1)[0] for w in subscriber.watchlists]
        ids = list(dict.fromkeys(ids))
    return [content.watchlist_names.get(i, i) for i in ids]


def _short_title(content: DeliveryContent, limit: int) -> str:
    title = " ".join(plain_text(content.items[0].article.title).split()) or "(untitled)"
    return title[: limit - 1].rstrip() + "…" if len(title) > limit else title


def subject_line(content: DeliveryContent, subscriber: SubscriberConfig | None = None) -> str:
    """The Subject: the headline of a one-story alert, else the count and the top headline; then the watchlists.

    "[monitor] Alert: <headline> — <watchlist>", "[monitor] 3 new articles: <top headline> — <watchlists>",
    "[monitor] 7 more alerts: <top headline> — <watchlists>" (the overflow of `max_alerts_per_hour`).
    """
    names = watchlist_names(content, subscriber)
    shown = ", ".join(names[:_SUBJECT_WATCHLISTS_MAX])
    if len(names) > _SUBJECT_WATCHLISTS_MAX:
        shown += f" +{len(names) - _SUBJECT_WATCHLISTS_MAX} more"
    suffix = f" — {shown}" if shown else ""
    count = len(content.items)
    if content.kind == "alert" and count == 1:
        return f"[monitor] Alert: {_short_title(content, _SUBJECT_TITLE_MAX)}{suffix}"
    if count == 0:
        return f"[monitor] No new articles{suffix}"
    top = _short_title(content, _SUBJECT_TOP_TITLE_MAX)
    if content.overflow:
        total = count + content.more_items
        return f"[monitor] {total} more alert{'' if total == 1 else 's'}: {top}{suffix}"
    noun = "article" if count == 1 else "articles"
    prefix = "Alert: " if content.kind == "alert" else ""
    return f"[monitor] {prefix}{count} new {noun}: {top}{suffix}"


# --------------------------------------------------------------- environment


@lru_cache(maxsize=8)
def template_environment(templates_dir: Path | None = None) -> SandboxedEnvironment:
    """The sandboxed, autoescaping Jinja2 environment; an operator's directory overrides packaged files."""
    loaders = []
    if templates_dir is not None:
        # Accept either the email template directory itself or a templates/ root holding email/.
        own = templates_dir / "email" if (templates_dir / "email").is_dir() else templates_dir
        loaders.append(FileSystemLoader(str(own)))
    loaders.append(FileSystemLoader(str(PACKAGED_TEMPLATES)))
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        # HTML is escaped; the .txt part must not be (it would show "&amp;" to readers).
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["mark_html"] = mark_html
    env.filters["mark_text"] = mark_text
    env.filters["localtime"] = _localtime_filter
    env.filters["safe_url"] = safe_url
    return env


def inline_css(page: str) -> str:
    """A rendered HTML email with its <style> rules moved into style attributes (mail clients drop <style>)."""
    return css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False).inline(page)


def _context(
    content: DeliveryContent, subscriber: SubscriberConfig, unsubscribe_url: str | None, base_url: str = ""
) -> dict[str, Any]:
    return {
        "subject": subject_line(content, subscriber),
        "kind": content.kind,
        "delivery_id": content.delivery_id,
        "period_label": content.period_label,
        "created_at": content.created_at,
        "count": len(content.items),
        "more_items": content.more_items,
        "groups": group_items(content, base_url),
        "overflow": content.overflow,
        "subscriber_name": subscriber.name or subscriber.id,
        "timezone": subscriber.timezone,
        "unsubscribe_url": safe_url(unsubscribe_url or ""),
    }


def _render(name: str, content: DeliveryContent, subscriber: SubscriberConfig,
            settings: EmailSettings, unsubscribe_url: str | None, base_url: str = "") -> str:
    env = template_environment(settings.templates_dir)
    # An operator may add alert.html/alert.txt; otherwise the digest template renders both kinds.
    template = env.select_template([f"{content.kind}.{name}", f"digest.{name}"])
    return template.render(_context(content, subscriber, unsubscribe_url, base_url))


def render_email_html(
    content: DeliveryContent, subscriber: SubscriberConfig, settings: EmailSettings,
    *, unsubscribe_url: str | None = None, base_url: str = "",
) -> str:
    """The HTML part, CSS inlined for mail clients that drop <style>; items link to the dashboard when `base_url` is set."""
    return inline_css(_render("html", content, subscriber, settings, unsubscribe_url, base_url))


def render_email_text(
    content: DeliveryContent, subscriber: SubscriberConfig, settings: EmailSettings,
    *, unsubscribe_url: str | None = None, base_url: str = "",
) -> str:
    """The plain-text part; items link to the dashboard when `base_url` is set."""
    return _render("txt", content, subscriber, settings, unsubscribe_url, base_url)
