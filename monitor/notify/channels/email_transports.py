"""Email transports: the file outbox (the default) and SMTP, with failures classified for retry."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import smtplib
import ssl
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol

from monitor.config.models import SmtpSettings
from monitor.errors import DeliveryError
from monitor.notify.channels.email_message import DELIVERY_HEADER, safe_id

log = logging.getLogger(__name__)

# errno values where waiting (and freeing space) can help; anything else needs an operator.
_TEMPORARY_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.EINTR}


class Transport(Protocol):
    """Something that sends an email message and says briefly what it did."""

    def send(self, msg: EmailMessage) -> str:
        """Send the message; raise DeliveryError (permanent or temporary) on failure."""
        ...


# --------------------------------------------------------------- file


def _stamp(msg: EmailMessage) -> str:
    # From the Date header (the delivery's creation time) so a re-send of the same delivery
    # lands on the same file name and overwrites it.
    try:
        when = parsedate_to_datetime(str(msg["Date"]))
    except (TypeError, ValueError):
        when = datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _file_id(msg: EmailMessage) -> str:
    delivery = msg[DELIVERY_HEADER]
    if delivery:
        return safe_id(str(delivery))
    return hashlib.sha256(str(msg["Message-ID"] or msg.as_string()).encode()).hexdigest()[:16]


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class FileTransport:
    """Writes each message as `<timestamp>-<delivery-id>.eml` plus its HTML part as `.html`."""

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = Path(outbox_dir)

    def write(self, msg: EmailMessage) -> Path:
        """Write the message atomically and return the .eml path (same delivery → same file)."""
        stem = f"{_stamp(msg)}-{_file_id(msg)}"
        eml = self.outbox_dir / f"{stem}.eml"
        html_part = msg.get_body(preferencelist=("html",))
        try:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            if isinstance(html_part, EmailMessage):
                _atomic_write(eml.with_suffix(".html"), str(html_part.get_content()).encode("utf-8"))
            # The .eml is written last: its presence means the pair is complete.
            _atomic_write(eml, msg.as_bytes(policy=policy.SMTP))
        except OSError as exc:
            where = exc.filename or self.outbox_dir
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DeliveryError(
                    f"file outbox {self.outbox_dir}: disk full writing {where} ({exc.strerror}); "
                    "free space and the delivery will be retried",
                    permanent=False,
                ) from exc
            raise DeliveryError(
                f"file outbox {self.outbox_dir}: cannot write {where}: {exc.strerror or exc}",
                permanent=exc.errno not in _TEMPORARY_ERRNOS,
            ) from exc
        return eml

    def send(self, msg: EmailMessage) -> str:
        """Write the message to the outbox directory; returns "wrote <path>"."""
        return f"wrote {self.write(msg)}"


# --------------------------------------------------------------- smtp


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


def _classified(code: int, reply: bytes | str, what: str, where: str) -> DeliveryError:
    # RFC 5321: 4yz is a transient negative reply, 5yz permanent.
    permanent = not 400 <= code < 500
    kind = "permanent" if permanent else "temporary"
    return DeliveryError(f"SMTP {where}: {what} refused ({kind}): {code} {_reply_text(reply)}", permanent=permanent)


class SmtpTransport:
    """Sends through an SMTP server (STARTTLS or implicit TLS), the password read from the environment."""

    def __init__(self, settings: SmtpSettings, env: Mapping[str, str],
                 *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self._env = env
        self._ssl_context = ssl_context

    def _password(self) -> str | None:
        s = self.settings
        if not s.username:
            return None
        if not s.password_env:
            raise DeliveryError(
                f"SMTP username {s.username!r} is set but email.smtp.password_env is not; "
                "name the environment variable that holds the password",
                permanent=True,
            )
        password = self._env.get(s.password_env)
        if password is None:
            raise DeliveryError(
                f"SMTP password: environment variable {s.password_env} is not set", permanent=True
            )
        return password

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        timeout = s.timeout.total_seconds()
        context = self._ssl_context or ssl.create_default_context()
        where = f"{s.host}:{s.port}"
        if s.tls:
            try:
                return smtplib.SMTP_SSL(s.host, s.port, timeout=timeout, context=context)
            except ssl.SSLError as exc:
                if exc.reason != "WRONG_VERSION_NUMBER":
                    raise
                # The server answered in plain text: a STARTTLS or plain port (587, 25) given as implicit TLS.
                raise DeliveryError(
                    f"SMTP {where}: the server does not speak TLS on connect; for a STARTTLS port (usually "
                    "587) set email.smtp.tls: false and starttls: true", permanent=True,
                ) from exc
        try:
            smtp = smtplib.SMTP(s.host, s.port, timeout=timeout)
        except (smtplib.SMTPServerDisconnected, TimeoutError) as exc:
            # An implicit-TLS port (465) waits for our TLS handshake and never sends the SMTP greeting.
            raise DeliveryError(
                f"SMTP {where}: no SMTP greeting within {timeout:g}s ({exc}); if this port expects implicit "
                "TLS (usually 465), set email.smtp.tls: true", permanent=False,
            ) from exc
        if s.starttls:
            try:
                smtp.ehlo()
                smtp.starttls(context=context)
                smtp.ehlo()
            except BaseException:
                smtp.close()
                raise
        return smtp

    def send(self, msg: EmailMessage) -> str:
        """Send the message; 4xx, refused connections and timeouts are temporary, 5xx permanent."""
        s = self.settings
        where = f"{s.host}:{s.port}"
        password = self._password()  # before connecting: a missing variable is a config error
        try:
            with self._connect() as smtp:
                if s.username and password is not None:
                    smtp.login(s.username, password)
                refused = smtp.send_message(msg)
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"SMTP {where}: server does not support what was asked ({exc}); "
                                "check email.smtp.starttls / tls", permanent=True) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = "; ".join(f"{rcpt}: {code} {_reply_text(r)}" for rcpt, (code, r) in exc.recipients.items())
            permanent = not all(400 <= c < 500 for c in codes)
            raise DeliveryError(f"SMTP {where}: recipient refused ({'permanent' if permanent else 'temporary'}): "
                                f"{detail}", permanent=permanent) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise _classified(exc.smtp_code, exc.smtp_error, f"login as {s.username!r}", where) from exc
        except smtplib.SMTPSenderRefused as exc:
            raise _classified(exc.smtp_code, exc.smtp_error, f"sender {exc.sender}", where) from exc
        except smtplib.SMTPDataError as exc:
            raise _classified(exc.smtp_code, exc.smtp_error, "message", where) from exc
        except smtplib.SMTPConnectError as exc:
            raise _classified(exc.smtp_code, exc.smtp_error, "connection", where) from exc
        except smtplib.SMTPResponseException as exc:
            raise _classified(exc.smtp_code, exc.smtp_error, "command", where) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise DeliveryError(f"SMTP {where}: server disconnected: {exc}", permanent=False) from exc
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(f"SMTP {where}: TLS certificate not trusted: {exc.verify_message}",
                                permanent=True) from exc
        except TimeoutError as exc:
            raise DeliveryError(f"SMTP {where}: timed out after {s.timeout.total_seconds():g}s",
                                permanent=False) from exc
        except ConnectionRefusedError as exc:
            raise DeliveryError(f"SMTP {where}: connection refused", permanent=False) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP {where}: {type(exc).__name__}: {exc}", permanent=False) from exc
        if refused:  # some recipients accepted, some not: we send to one, so this is unusual
            detail = "; ".join(f"{rcpt}: {code} {_reply_text(r)}" for rcpt, (code, r) in refused.items())
            raise DeliveryError(f"SMTP {where}: recipient refused: {detail}", permanent=True)
        log.debug("smtp %s accepted %s", where, msg["Message-ID"])
        return f"sent via SMTP {where} to {msg['To']}"
