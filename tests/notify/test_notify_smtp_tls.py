"""SMTP transport over real TLS (STARTTLS and implicit TLS) against a local aiosmtpd with a throwaway certificate."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller

from monitor.config.models import EmailSettings, SmtpSettings, SubscriberConfig
from monitor.errors import DeliveryError
from monitor.notify.channels.email_message import build_email
from monitor.notify.channels.email_transports import SmtpTransport
from monitor.notify.content import DeliveryContent
from tests.notify.conftest import ScriptedHandler, SmtpServer, free_port

# The transport connects to (and verifies the certificate against) `email.smtp.host` as written,
# so the servers listen on 127.0.0.1 and the settings say host 127.0.0.1: the test certificate
# carries that address as an IP subjectAltName.
HOST = "127.0.0.1"

Mode = Literal["starttls", "smtps", "plain"]


@dataclass(frozen=True)
class CertPair:
    """A self-signed certificate (which is also its own CA) and its private key, as PEM files."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting this certificate."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this certificate (hostname checking stays on)."""
        return ssl.create_default_context(cafile=str(self.cert))


def _self_signed(directory: Path, name: str, common_name: str, san: str) -> CertPair:
    pair = CertPair(directory / f"{name}.crt", directory / f"{name}.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={common_name}", "-addext", f"subjectAltName={san}",
         "-keyout", str(pair.key), "-out", str(pair.cert)],
        check=True, capture_output=True,
    )
    return pair


@dataclass(frozen=True)
class Certs:
    """`local` is valid for 127.0.0.1/localhost; `elsewhere` only for mail.example.org."""

    local: CertPair
    elsewhere: CertPair


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """Self-signed certificates made with the openssl command line (once per module: RSA keygen is slow)."""
    if shutil.which("openssl") is None:
        pytest.skip("the `openssl` command is not installed; it is needed to make a test TLS certificate")
    directory = tmp_path_factory.mktemp("smtp-tls")
    return Certs(
        local=_self_signed(directory, "local", "localhost", f"IP:{HOST},DNS:localhost"),
        elsewhere=_self_signed(directory, "elsewhere", "mail.example.org", "DNS:mail.example.org"),
    )


@dataclass
class TlsRecordingHandler(ScriptedHandler):
    """ScriptedHandler that also notes, per DATA, the TLS version of the connection and STARTTLS state."""

    tls_versions: list[str | None] = field(default_factory=list)  # None: the DATA came in plaintext
    starttls_sessions: list[bool] = field(default_factory=list)  # aiosmtpd sets session.ssl after STARTTLS

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        ssl_object = server.transport.get_extra_info("ssl_object")
        self.tls_versions.append(ssl_object.version() if ssl_object is not None else None)
        self.starttls_sessions.append(session.ssl is not None)
        return await super().handle_DATA(server, session, envelope)


StartServer = Callable[..., SmtpServer]


@pytest.fixture
def start_server(certs: Certs) -> Iterator[StartServer]:
    """Start a real aiosmtpd on 127.0.0.1: "starttls" (STARTTLS required), "smtps" (implicit TLS) or "plain".

    Returns the server with settings that match its mode; pass `cert=` to present another certificate.
    """
    controllers: list[Controller] = []

    def start(mode: Mode, cert: CertPair | None = None) -> SmtpServer:
        server_ctx = (cert or certs.local).server_context()
        kwargs: dict[str, Any] = {}
        if mode == "starttls":
            kwargs = {"tls_context": server_ctx, "require_starttls": True}
        elif mode == "smtps":
            kwargs = {"ssl_context": server_ctx}
        handler = TlsRecordingHandler()
        port = free_port()
        controller = Controller(handler, hostname=HOST, port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        settings = SmtpSettings(host=HOST, port=port, starttls=mode == "starttls", tls=mode == "smtps")
        return SmtpServer(handler, settings)

    try:
        yield start
    finally:
        for controller in controllers:
            controller.stop()


@pytest.fixture
def message(digest_content: DeliveryContent, subscriber: SubscriberConfig,
            email_settings: EmailSettings) -> EmailMessage:
    return build_email(digest_content, subscriber, email_settings, base_url="https://monitor.example.org",
                      unsubscribe_secret=b"test-unsubscribe-secret")


def handler_of(server: SmtpServer) -> TlsRecordingHandler:
    assert isinstance(server.handler, TlsRecordingHandler)
    return server.handler


# --------------------------------------------------------------- delivery over TLS


def test_starttls_delivers_over_an_encrypted_session(start_server: StartServer, certs: Certs,
                                                     message: EmailMessage) -> None:
    server = start_server("starttls")
    assert server.settings.starttls and not server.settings.tls
    description = SmtpTransport(server.settings, {}, ssl_context=certs.local.client_context()).send(message)
    assert description == f"sent via SMTP {HOST}:{server.settings.port} to {message['To']}"
    handler = handler_of(server)
    [received] = handler.received
    assert received["Message-ID"] == message["Message-ID"]
    assert handler.envelopes == [("monitor@example.org", ["mena-desk@example.org"])]
    [version] = handler.tls_versions
    assert version is not None and version.startswith("TLS")
    assert handler.starttls_sessions == [True]


def test_implicit_tls_delivers(start_server: StartServer, certs: Certs, message: EmailMessage) -> None:
    server = start_server("smtps")
    settings = server.settings
    assert settings.tls
    SmtpTransport(settings, {}, ssl_context=certs.local.client_context()).send(message)
    handler = handler_of(server)
    assert [m["Message-ID"] for m in handler.received] == [message["Message-ID"]]
    [version] = handler.tls_versions
    assert version is not None and version.startswith("TLS")
    assert handler.starttls_sessions == [False]  # encrypted from the first byte, no STARTTLS


def test_implicit_tls_ignores_the_starttls_flag(start_server: StartServer, certs: Certs,
                                                message: EmailMessage) -> None:
    # starttls defaults to true; with tls: true the connection is TLS from the start and no STARTTLS is sent
    server = start_server("smtps")
    settings = server.settings.model_copy(update={"starttls": True})
    SmtpTransport(settings, {}, ssl_context=certs.local.client_context()).send(message)
    assert len(handler_of(server).received) == 1


# --------------------------------------------------------------- certificate verification


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_untrusted_certificate_is_permanent_and_nothing_is_sent(start_server: StartServer, mode: Mode,
                                                                message: EmailMessage) -> None:
    server = start_server(mode)
    # No ssl_context: the transport's default context trusts only the system CAs, not our self-signed cert.
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(server.settings, {}).send(message)
    assert err.value.permanent
    assert f"SMTP {HOST}:{server.settings.port}: TLS certificate not trusted" in str(err.value)
    assert isinstance(err.value.__cause__, ssl.SSLCertVerificationError)
    assert handler_of(server).received == []


@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_certificate_for_another_host_is_not_trusted(start_server: StartServer, certs: Certs, mode: Mode,
                                                     message: EmailMessage) -> None:
    # The client trusts the certificate itself, but it names mail.example.org, not 127.0.0.1.
    server = start_server(mode, cert=certs.elsewhere)
    transport = SmtpTransport(server.settings, {}, ssl_context=certs.elsewhere.client_context())
    with pytest.raises(DeliveryError) as err:
        transport.send(message)
    assert err.value.permanent
    assert "TLS certificate not trusted" in str(err.value)
    assert "mismatch" in str(err.value).lower()
    assert handler_of(server).received == []


# --------------------------------------------------------------- TLS settings that do not match the server


def test_starttls_required_but_not_offered_is_permanent(start_server: StartServer, certs: Certs,
                                                        message: EmailMessage) -> None:
    server = start_server("plain")
    settings = server.settings.model_copy(update={"starttls": True})
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(settings, {}, ssl_context=certs.local.client_context()).send(message)
    assert err.value.permanent
    assert "does not support" in str(err.value) and "check email.smtp.starttls / tls" in str(err.value)
    assert handler_of(server).received == []  # no fallback to plaintext


def test_plaintext_to_a_server_requiring_starttls_is_refused(start_server: StartServer,
                                                             message: EmailMessage) -> None:
    server = start_server("starttls")
    settings = server.settings.model_copy(update={"starttls": False})
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(settings, {}).send(message)
    assert err.value.permanent
    assert "530" in str(err.value) and "STARTTLS" in str(err.value)
    assert handler_of(server).received == []


def test_implicit_tls_against_a_starttls_port_says_which_setting_to_change(
    start_server: StartServer, certs: Certs, message: EmailMessage
) -> None:
    server = start_server("starttls")
    settings = server.settings.model_copy(update={"tls": True})
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(settings, {}, ssl_context=certs.local.client_context()).send(message)
    assert err.value.permanent, "a setting to fix, not a server to wait for"
    assert "does not speak TLS on connect" in str(err.value) and "email.smtp.tls: false" in str(err.value)
    assert handler_of(server).received == []


def test_starttls_against_an_implicit_tls_port_says_which_setting_to_change(
    start_server: StartServer, certs: Certs, message: EmailMessage
) -> None:
    server = start_server("smtps")
    # The server waits for a TLS handshake that never comes; the greeting wait ends at the timeout.
    settings = server.settings.model_copy(update={"tls": False, "starttls": True, "timeout": timedelta(seconds=1)})
    with pytest.raises(DeliveryError) as err:
        SmtpTransport(settings, {}, ssl_context=certs.local.client_context()).send(message)
    assert not err.value.permanent
    assert "no SMTP greeting" in str(err.value) and "email.smtp.tls: true" in str(err.value)
    assert handler_of(server).received == []
