"""The chat and push channel: one message per alert or digest, sent through Apprise to ~150 services (docs/chat.md).

The subscriber's Apprise URL (`slack://…`, `msteams://…`, `tgram://…`, `ntfy://…`, `json://…`) holds tokens, so
subscribers.yaml names only the environment variable holding it (`notify: {url_env: NAME}`). Messages are
rendered from the Jinja2 templates in monitor/templates/chat/ (Markdown, with a plain-text fallback for
services that take no markup), overridable from `email.templates_dir` like the email ones.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import apprise
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from monitor.config.models import NotifyConfig, SubscriberConfig
from monitor.errors import DeliveryError, EndpointGone
from monitor.notify.channels.base import DeliveryKind, SendContext
from monitor.notify.content import DeliveryContent, DeliveryItem, SpikeContent
from monitor.notify.feed_health import feed_health_lines, feed_health_summary
from monitor.notify.render import format_local_time, plain_text, safe_url
from monitor.store.outbox_assembly import Grouping

PACKAGED_TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "chat"
DELIVERY_HEADER = "X-Monitor-Delivery"
DIGEST_TOP = 10
SPIKE_TOP = 5
"""Top stories a spike message lists (the spike tick stores five)."""
"""Articles a digest message lists; the rest are counted ("N more") and linked to the dashboard."""
_ALERT_GROUPING = Grouping(per_delivery=1, count_following=False)  # one message per article, as webhook alerts
# A digest period is one message; only past the outbox's 100-article cap does a second one follow,
# and each message counts only what it leaves out itself.
_DIGEST_GROUPING = Grouping(count_following=False)
_TITLE_MAX = 200
_SNIPPET_MAX = 280
_ERROR_MAX = 600
_MARK = re.compile(r"\[\[(.+?)\]\]", re.DOTALL)
_URL = re.compile(r"(https?://\S+)")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]])")
_SPACE = re.compile(r"\s+")
_STATUS = re.compile(r"\berror[=:]\s*(\d{3})\b")
_RETRYABLE_STATUS = {408, 425, 429}


# --------------------------------------------------------------- rendering


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


# --------------------------------------------------------------- sending


def apprise_url(config: NotifyConfig, env: dict[str, str] | Any) -> str:
    """The subscriber's Apprise URL, read from the variable `url_env` names (a permanent failure when unset)."""
    url = str(env.get(config.url_env, "") or "").strip()
    if not url:
        raise DeliveryError(f"notify: environment variable {config.url_env} is not set (it holds the Apprise URL)",
                            permanent=True)
    return url


def _scheme(url: str) -> str:
    # Only the scheme is ever shown: the rest of an Apprise URL is tokens.
    return urlsplit(url).scheme or url.partition(":")[0][:20]


def classify_failure(service: str, messages: list[str]) -> DeliveryError:
    """A DeliveryError from what Apprise logged about a failed send.

    Apprise reports only True/False; its services log the HTTP status as `error=<code>`. A status in
    4xx (but 408/425/429) is permanent (a revoked token, a deleted channel: retrying cannot help);
    410 disables the subscriber's endpoint like a webhook's; 5xx, 408/425/429, connection errors,
    timeouts and anything unrecognised are retried with backoff.
    """
    detail = " ".join(" ".join(messages).split()) or "the service refused the message (no reason logged)"
    detail = f"notify ({service}): {detail}"[:_ERROR_MAX]
    codes = [int(c) for c in _STATUS.findall(" ".join(messages))]
    status = codes[-1] if codes else None
    if status == 410:
        return EndpointGone(f"{detail} (endpoint gone: disabling it)")
    if status is not None and 400 <= status < 500 and status not in _RETRYABLE_STATUS:
        return DeliveryError(detail, permanent=True)
    return DeliveryError(detail, permanent=False)


class _Collect(logging.Handler):
    """Collects the messages Apprise logs during one send (the reason a send failed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def load_service(url: str, delivery_id: str) -> Any:
    """The Apprise service object of a URL, carrying the delivery id where it can (a permanent failure if unusable)."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise DeliveryError(f"notify: the Apprise URL ({_scheme(url)}://…) is not one Apprise can use; "
                            "see https://github.com/caronc/apprise/wiki for the service's URL form", permanent=True)
    # Apprise services whose request carries the caller's headers (`+Header=value` in the URL) expose
    # them as `headers`: json://, xml:// and form:// do. The others have no place for an id.
    headers = getattr(plugin, "headers", None)
    if isinstance(headers, dict):
        # Identical on every retry of the delivery, so a receiver can drop a duplicate (json://, xml://, form://).
        headers.setdefault(DELIVERY_HEADER, delivery_id)
        headers.setdefault("Idempotency-Key", delivery_id)
    return plugin


def body_limit(plugin: Any) -> int:
    """The message size to fit in: the service's limit as Apprise declares it, less room for its own markup."""
    declared = getattr(plugin, "body_maxlen", 0)
    # Apprise converts the Markdown to the service's markup (HTML for Telegram's html mode, Matrix),
    # which is longer: keep a tenth spare.
    return int(declared * 0.9) if isinstance(declared, int) and declared > 0 else 0


def notify_service(plugin: Any, *, title: str, body: str, markdown: bool) -> str:
    """Send one message through an Apprise service; returns "<service> accepted" or raises a classified DeliveryError."""
    service = str(getattr(plugin, "service_name", "") or type(plugin).__name__)
    sender = apprise.Apprise()
    sender.add(plugin)
    # A handler on Apprise's logger for this call: the reason of a failure is only ever logged.
    collect = _Collect()
    logger = logging.getLogger("apprise")
    level = logger.level
    if not logger.isEnabledFor(logging.WARNING):
        # A quieter logging configuration must not hide why a send failed (it decides retry or not).
        logger.setLevel(logging.WARNING)
    logger.addHandler(collect)
    try:
        ok = sender.notify(body=body, title=title,
                           body_format=apprise.NotifyFormat.MARKDOWN if markdown else apprise.NotifyFormat.TEXT)
    finally:
        logger.removeHandler(collect)
        logger.setLevel(level)
    if ok:
        return f"{service} accepted"
    raise classify_failure(service, collect.messages)


class ChatChannel:
    """Sends a delivery as one chat or push message through Apprise."""

    def grouping(self, kind: DeliveryKind) -> Grouping:
        """One message per article for alerts; one per period for a digest (its top items, "N more")."""
        return _ALERT_GROUPING if kind == "alert" else _DIGEST_GROUPING

    def _render(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext,
                markdown: bool, limit: int = 0) -> str:
        settings = context.config.settings
        return render_message(content, subscriber, base_url=settings.base_url,
                              templates_dir=settings.email.templates_dir, markdown=markdown, limit=limit)

    def send(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
        """Render the message and send it to the URL named by `notify.url_env`."""
        notify = subscriber.notify
        if notify is None:
            raise DeliveryError(f"subscriber {subscriber.id!r} has no notify settings", permanent=True)
        url = apprise_url(notify, context.env)
        markdown = notify.format == "markdown"
        plugin = load_service(url, content.delivery_id)
        body = self._render(content, subscriber, context, markdown, body_limit(plugin))
        # No separate title: the body starts with the headline as a link (or the digest's heading), and
        # services that show a title above the body would show it twice.
        return notify_service(plugin, title="", body=body, markdown=markdown)

    def preview(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
        """The message as it would be sent."""
        markdown = subscriber.notify is None or subscriber.notify.format == "markdown"
        return self._render(content, subscriber, context, markdown)

    def close(self) -> None:
        """Nothing held: an Apprise object is made per send (the URL is re-read from the environment each time)."""
