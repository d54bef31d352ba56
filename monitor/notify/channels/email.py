"""The email channel: one message per delivery, sent by the transport monitor.yaml names (SMTP or the file outbox).

The file transport is how this channel sends when `email.transport: file` (the default, and the demo's):
subscribers still configure `email:` and their deliveries are email deliveries, written as .eml files.
"""

from __future__ import annotations

from email.message import EmailMessage

from monitor.config.models import SubscriberConfig
from monitor.notify.channels.base import DeliveryKind, SendContext
from monitor.notify.channels.email_message import build_email, build_feed_health_email, build_spike_email
from monitor.notify.channels.email_transports import FileTransport, SmtpTransport, Transport
from monitor.notify.content import DeliveryContent
from monitor.store.outbox_assembly import Grouping

_GROUPING = Grouping()  # an immediate subscriber gets one email per cycle (up to MAX_ITEMS_PER_DELIVERY articles)


class EmailChannel:
    """Sends a delivery as one multipart email (DESIGN §5)."""

    def grouping(self, kind: DeliveryKind) -> Grouping:
        """One email per assembly and per digest period, each of at most MAX_ITEMS_PER_DELIVERY articles."""
        return _GROUPING

    def transport(self, context: SendContext) -> Transport:
        """The email transport the settings ask for."""
        email = context.config.settings.email
        if email.transport == "smtp":
            return SmtpTransport(email.smtp, context.env)
        return FileTransport(email.outbox_dir)

    def send(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
        """Build the message and hand it to the transport."""
        return self.transport(context).send(self._message(content, subscriber, context))

    def preview(self, content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> str:
        """The subject and the plain-text part."""
        message = self._message(content, subscriber, context)
        body = message.get_body(("plain",))
        return f"Subject: {message['Subject']}\n\n{body.get_content() if body else ''}"

    @staticmethod
    def _message(content: DeliveryContent, subscriber: SubscriberConfig, context: SendContext) -> EmailMessage:
        settings = context.config.settings
        build = {"spike": build_spike_email, "feed_health": build_feed_health_email}.get(content.kind, build_email)
        return build(content, subscriber, settings.email, base_url=settings.base_url,
                     unsubscribe_secret=context.unsubscribe_secret())

    def close(self) -> None:
        """Nothing to release: a transport is made per send."""
