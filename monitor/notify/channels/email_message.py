"""Build the email message of one delivery (DESIGN §5): multipart/alternative, stable ids, RFC 8058."""

from __future__ import annotations

import hashlib
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from monitor.config.models import EmailSettings, SubscriberConfig
from monitor.errors import DeliveryError
from monitor.notify.content import DeliveryContent
from monitor.notify.render import render_email_html, render_email_text, subject_line
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

    msg = EmailMessage()
    msg["From"] = settings.from_
    to_name = subscriber.name
    msg["To"] = Address(display_name=to_name, addr_spec=subscriber.email) if to_name else subscriber.email
    msg["Subject"] = subject_line(content, subscriber)
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
