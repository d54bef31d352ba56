"""The outage tests reuse the notify fixtures: a real aiosmtpd server and a signature-verifying webhook receiver."""

from tests.notify.conftest import smtp_server, webhook_receiver

__all__ = ["smtp_server", "webhook_receiver"]
