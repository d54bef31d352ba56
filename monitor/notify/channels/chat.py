"""The chat and push channel: one message per alert or digest, sent through Apprise to ~150 services (docs/chat.md).

The subscriber's Apprise URL (`slack://…`, `msteams://…`, `tgram://…`, `ntfy://…`, `json://…`) holds tokens, so
subscribers.yaml names only the environment variable holding it (`notify: {url_env: NAME}`). Messages are
rendered from the Jinja2 templates in monitor/templates/chat/ (Markdown, with a plain-text fallback for
services that take no markup), overridable from `email.templates_dir` like the email ones.
"""

from __future__ import annotations

from monitor.config.models import SubscriberConfig
from monitor.errors import DeliveryError
from monitor.notify.channels.base import DeliveryKind, SendContext
from monitor.notify.channels.chat_message import render_message
from monitor.notify.channels.chat_transport import apprise_url, body_limit, load_service, notify_service
from monitor.notify.content import DeliveryContent
from monitor.store.outbox_assembly import Grouping

_ALERT_GROUPING = Grouping(per_delivery=1, count_following=False)  # one message per article, as webhook alerts
# A digest period is one message; only past the outbox's 100-article cap does a second one follow,
# and each message counts only what it leaves out itself.
_DIGEST_GROUPING = Grouping(count_following=False)


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
