"""Build the email message of one delivery (DESIGN §5): multipart/alternative, stable ids, RFC 8058."""

from __future__ import annotations

import hashlib
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from monitor.config.models import EmailSettings, SubscriberConfig
from monitor.errors import DeliveryError
from monitor.notify.content import DeliveryContent, SpikeContent, format_usual
from monitor.notify.feed_health import feed_health_sections, feed_health_summary
from monitor.notify.render import (
    inline_css,
    plain_text,
    render_email_html,
    render_email_text,
    safe_url,
    subject_line,
    template_environment,
)
from monitor.notify.unsubscribe import unsubscribe_token

DELIVERY_HEADER = "X-Monitor-Delivery"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def safe_id(delivery_id: str) -> str:
    """A delivery id reduced to characters safe in a Message-ID local part and a file name."""
    return _ID_UNSAFE.sub("-", delivery_id).strip(".") or "delivery"


def _from_domain(from_: str) -> str:
    _, addr = parseaddr(from_)
    local, at, domain = addr.rpartition("@")
    return domain.strip() if at and local and domain.strip() else "monitor.local"


def message_id(delivery_id: str, from_: str) -> str:
    """The Message-ID of a delivery: the same on every retry so clients and servers de-duplicate."""
    return f"<{safe_id(delivery_id)}@{_from_domain(from_)}>"


def unsubscribe_url(subscriber: SubscriberConfig, settings: EmailSettings, base_url: str, secret: bytes) -> str:
    """The unsubscribe link: the configured URL, else the dashboard's signed per-subscriber endpoint."""
    token = unsubscribe_token(secret, subscriber.id, subscriber.email or "")
    if settings.unsubscribe_url:
        return settings.unsubscribe_url.replace("{subscriber}", subscriber.id).replace("{token}", token)
    return f"{base_url.rstrip('/')}/unsubscribe/{subscriber.id}/{token}"


def build_email(
    content: DeliveryContent, subscriber: SubscriberConfig, settings: EmailSettings, *, base_url: str,
    unsubscribe_secret: bytes,
) -> EmailMessage:
    """The complete message of one delivery to one email subscriber."""
    if not subscriber.email:
        raise DeliveryError(f"subscriber {subscriber.id!r} has no email address", permanent=True)
    unsubscribe = unsubscribe_url(subscriber, settings, base_url, unsubscribe_secret)
    text = render_email_text(content, subscriber, settings, unsubscribe_url=unsubscribe, base_url=base_url)
    html = render_email_html(content, subscriber, settings, unsubscribe_url=unsubscribe, base_url=base_url)

    return _message(content, subscriber, settings, subject_line(content, subscriber), unsubscribe, text, html)


def _message(content: DeliveryContent, subscriber: SubscriberConfig, settings: EmailSettings, subject: str,
             unsubscribe: str, text: str, html: str) -> EmailMessage:
    """A delivery's message with the headers every one carries (alerts, digests, spikes, feed health)."""
    assert subscriber.email  # the builders refuse a subscriber without one first
    msg = EmailMessage()
    msg["From"] = settings.from_
    to_name = subscriber.name
    msg["To"] = Address(display_name=to_name, addr_spec=subscriber.email) if to_name else subscriber.email
    msg["Subject"] = subject
    # The delivery's creation time, not "now": a retried or re-written message stays byte-identical.
    msg["Date"] = format_datetime(content.created_at)
    msg["Message-ID"] = message_id(content.delivery_id, settings.from_)
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies
    msg[DELIVERY_HEADER] = content.delivery_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    # A boundary derived from the delivery (not random) keeps a rebuilt message byte-identical;
    # "=_" cannot occur in quoted-printable or base64 bodies.
    msg.set_boundary("=_monitor_" + hashlib.sha256(content.delivery_id.encode()).hexdigest()[:32])
    return msg


# ---------------------------------------------------------------- spike alerts (docs/spikes.md)


def spike_subject(spike: SpikeContent) -> str:
    """E.g. "[monitor] Spike: Hakan Fidan — 42 stories in the last hour (usually 3)"."""
    name = " ".join(plain_text(spike.name).split())
    if not spike.windows:
        return f"[monitor] Spike: {name}"
    first = spike.windows[0]
    noun = "story" if first.stories == 1 else "stories"
    growing = "Spike growing" if spike.reason == "grew" else "Spike"
    return f"[monitor] {growing}: {name} — {first.stories} {noun} in {first.span} (usually {format_usual(first.usual)})"


def render_spike(content: DeliveryContent, subscriber: SubscriberConfig, settings: EmailSettings,
                 unsubscribe: str) -> tuple[str, str]:
    """The plain-text and HTML parts of a spike alert (templates spike.txt and spike.html, an operator's first)."""
    spike = content.spike
    if spike is None:
        raise DeliveryError(f"delivery {content.delivery_id} is a spike without its spike", permanent=True)
    stories = [
        {"title": plain_text(s.title), "url": safe_url(s.url), "outlets": s.outlets, "published_at": s.published_at}
        for s in spike.top_stories
    ]
    context = {
        "subject": spike_subject(spike), "spike": spike, "stories": stories, "created_at": content.created_at,
        "entry_url": safe_url(spike.entry_url), "timezone": subscriber.timezone,
        "unsubscribe_url": safe_url(unsubscribe), "subscriber_name": subscriber.name or subscriber.id,
    }
    return _render_parts(settings, "spike", context)


def _render_parts(settings: EmailSettings, name: str, context: dict[str, object]) -> tuple[str, str]:
    """The plain-text and HTML parts of template `name` (`name.txt`, `name.html`, an operator's first), CSS inlined."""
    env = template_environment(settings.templates_dir)
    return env.get_template(f"{name}.txt").render(context), inline_css(env.get_template(f"{name}.html").render(context))


def build_spike_email(
    content: DeliveryContent, subscriber: SubscriberConfig, settings: EmailSettings, *, base_url: str,
    unsubscribe_secret: bytes,
) -> EmailMessage:
    """The message of one spike alert to one email subscriber (the same headers as every delivery's)."""
    if not subscriber.email or content.spike is None:
        raise DeliveryError(f"subscriber {subscriber.id!r} has no email address", permanent=True)
    unsubscribe = unsubscribe_url(subscriber, settings, base_url, unsubscribe_secret)
    text, html = render_spike(content, subscriber, settings, unsubscribe)
    return _message(content, subscriber, settings, spike_subject(content.spike), unsubscribe, text, html)


# ---------------------------------------------------------------- feed-health alerts (README, "Feed-health alerts")


def render_feed_health(content: DeliveryContent, subscriber: SubscriberConfig, settings: EmailSettings,
                       unsubscribe: str) -> tuple[str, str]:
    """The plain-text and HTML parts of a feed-health delivery (templates feed_health.txt and .html, an operator's first)."""
    alerts = content.feed_health
    context = {
        "subject": feed_health_summary(alerts),
        # Several feeds: the counts head the message and each feed has its own heading; one feed: its heading.
        "summary": feed_health_summary(alerts).removeprefix("[monitor] ") if len(alerts) > 1 else "",
        "alerts": feed_health_sections(alerts, subscriber.zone), "delivery_id": content.delivery_id,
        "created_at": content.created_at, "timezone": subscriber.timezone,
        "unsubscribe_url": safe_url(unsubscribe), "subscriber_name": subscriber.name or subscriber.id,
    }
    return _render_parts(settings, "feed_health", context)


def build_feed_health_email(
    content: DeliveryContent, subscriber: SubscriberConfig, settings: EmailSettings, *, base_url: str,
    unsubscribe_secret: bytes,
) -> EmailMessage:
    """The message of one feed-health delivery (one tick's alerts) to one operator (the same headers as every delivery's)."""
    alerts = content.feed_health
    if not subscriber.email or not alerts:
        raise DeliveryError(f"subscriber {subscriber.id!r} has no email address", permanent=True)
    unsubscribe = unsubscribe_url(subscriber, settings, base_url, unsubscribe_secret)
    text, html = render_feed_health(content, subscriber, settings, unsubscribe)
    return _message(content, subscriber, settings, feed_health_summary(alerts), unsubscribe, text, html)
