"""File and SMTP transports against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest

from monitor.config.models import SmtpSettings
from monitor.errors import DeliveryError
from monitor.notify.channels.email_message import build_email
from monitor.notify.channels.email_transports import FileTransport, SmtpTransport, Transport

BASE = "https://monitor.example.org"


@pytest.fixture
def message(digest_content, subscriber, email_settings):
    return build_email(digest_content, subscriber, email_settings, base_url=BASE,
                       unsubscribe_secret=b"test-unsubscribe-secret")


# --------------------------------------------------------------- file


def test_file_transport_writes_eml_and_html(tmp_path: Path, message) -> None:
    transport: Transport = FileTransport(tmp_path / "outbox")
    description = transport.send(message)
    eml = tmp_path / "outbox" / "20241119T043000Z-dlv-2024-11-19-mena-desk.eml"
    assert description == f"wrote {eml}"
    assert eml.is_file() and eml.with_suffix(".html").is_file()
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in eml.read_bytes()
    assert "<mark" in eml.with_suffix(".html").read_text(encoding="utf-8")


def test_file_transport_is_idempotent(tmp_path: Path, message) -> None:
    transport = FileTransport(tmp_path)
    first = transport.write(message)
    second = transport.write(message)
    assert first == second
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.with_suffix(".eml").name,
                                                          first.with_suffix(".html").name]


def test_file_transport_disk_full_is_temporary(tmp_path: Path, message, monkeypatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DeliveryError) as err:
        FileTransport(tmp_path).send(message)
    assert not err.value.permanent
    assert "disk full" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no half-written files left behind


def test_file_transport_unwritable_dir_is_permanent(tmp_path: Path, message) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DeliveryError) as err:
        FileTransport(blocker / "outbox").send(message)
    assert err.value.permanent


# --------------------------------------------------------------- smtp


def test_smtp_sends_both_parts_and_headers(smtp_server, message, part_text) -> None:
    description = SmtpTransport(smtp_server.settings, {}).send(message)
    assert "sent via SMTP 127.0.0.1" in description
    [received] = smtp_server.handler.received
    assert smtp_server.handler.envelopes == [("monitor@example.org", ["mena-desk@example.org"])]
    assert [p.get_content_type() for p in received.iter_parts()] == ["text/plain", "text/html"]
    for header in ("Subject", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "X-Monitor-Delivery"):
        # A long List-Unsubscribe is folded on the wire (RFC 5322); Python's parser keeps the space it folded at.
        assert received[header].strip() == message[header]
    assert "İbrahim Kalın" in part_text(received, "html")
    assert "*İbrahim Kalın*" in part_text(received, "plain")


def test_smtp_421_is_temporary_then_250_succeeds(smtp_server, message) -> None:
    smtp_server.handler.data_replies.append("421 4.3.2 Service not available, try later")
    transport = SmtpTransport(smtp_server.settings, {})
    with pytest.raises(DeliveryError) as err:
        transport.send(message)
    assert not err.value.permanent
    assert "421" in str(err.value) and "try later" in str(err.value)
    transport.send(message)
    assert len(smtp_server.handler.received) == 1


def test_smtp_550_recipient_is_permanent(smtp_server, message) -> None:
    smtp_server.handler.refuse_rcpt["mena-desk@example.org"] = "550 5.1.1 No such user"
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(smtp_server.settings, {}).send(message)
    assert err.value.permanent
    assert "550" in str(err.value) and "No such user" in str(err.value)


def test_smtp_550_data_is_permanent(smtp_server, message) -> None:
    smtp_server.handler.data_replies.append("550 5.7.1 Message rejected as spam")
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(smtp_server.settings, {}).send(message)
    assert err.value.permanent and "rejected as spam" in str(err.value)


def test_smtp_login_with_password_from_env(smtp_server, message, smtp_credentials) -> None:
    user, password = smtp_credentials
    settings = smtp_server.settings.model_copy(update={"username": user, "password_env": "T_SMTP_PW"})
    SmtpTransport(settings, {"T_SMTP_PW": password}).send(message)
    assert len(smtp_server.handler.received) == 1


def test_smtp_bad_password_is_permanent_and_not_leaked(smtp_server, message, caplog, smtp_credentials) -> None:
    user = smtp_credentials[0]
    caplog.set_level(logging.DEBUG)
    settings = smtp_server.settings.model_copy(update={"username": user, "password_env": "T_SMTP_PW"})
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(settings, {"T_SMTP_PW": "wrong-Secret-123"}).send(message)
    assert err.value.permanent and "535" in str(err.value)
    assert "wrong-Secret-123" not in str(err.value) and "wrong-Secret-123" not in caplog.text


def test_smtp_missing_password_env_names_the_variable(smtp_server, message, smtp_credentials) -> None:
    user = smtp_credentials[0]
    settings = smtp_server.settings.model_copy(update={"username": user, "password_env": "MONITOR_SMTP_PASSWORD"})
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(settings, {}).send(message)
    assert err.value.permanent and "MONITOR_SMTP_PASSWORD" in str(err.value)
    assert smtp_server.handler.received == []


def test_smtp_connection_refused_is_temporary(message, closed_port) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=closed_port, starttls=False, timeout=2)  # type: ignore[arg-type]
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(settings, {}).send(message)
    assert not err.value.permanent and "refused" in str(err.value)


def test_smtp_timeout_is_temporary(silent_server, message) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=silent_server, starttls=False, timeout=0.5)  # type: ignore[arg-type]
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(settings, {}).send(message)
    assert not err.value.permanent and "timed out" in str(err.value)


def test_smtp_starttls_unsupported_is_permanent(smtp_server, message) -> None:
    settings = smtp_server.settings.model_copy(update={"starttls": True})
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(settings, {}).send(message)
    assert err.value.permanent and "starttls" in str(err.value).lower()
