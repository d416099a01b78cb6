"""Outgoing mail through Flask-Mailman: ROLLCALL_SMTP_URL read as an SMTP server, one message sent, and whether a
failure is worth trying again (a server that is down or answers 4xx) or final (a 5xx refusal)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, current_app
from flask_mailman import EmailMultiAlternatives, Mail

mail = Mail()

DEFAULT_FROM = "rollcall@localhost"
TIMEOUT = 20  # seconds for one SMTP conversation


class MailNotConfigured(RuntimeError):
    """ROLLCALL_SMTP_URL is not set: nothing can be mailed."""


class SendFailed(RuntimeError):
    """The server did not take the message; `transient` says whether a later try may succeed."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    use_ssl: bool
    use_tls: bool


def parse_smtp_url(url: str) -> SmtpServer:
    """`smtp://user:pass@host:port` (plain, or STARTTLS with `?starttls=1`), `smtps://…` (TLS from the start)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"ROLLCALL_SMTP_URL must look like smtp://user:pass@host:port or smtps://…: {url!r}")
    secure = parts.scheme == "smtps"
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
    return SmtpServer(
        host=parts.hostname,
        port=parts.port or (465 if secure else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_ssl=secure,
        use_tls=starttls and not secure,
    )


def configured(config: Any = None) -> bool:
    """Whether this server can send mail."""
    config = current_app.config if config is None else config
    return bool(config.get("SMTP_URL") or config.get("MAIL_BACKEND") not in (None, "smtp"))


def sender(config: Any = None) -> str:
    config = current_app.config if config is None else config
    return config.get("MAIL_FROM") or DEFAULT_FROM


def init_app(app: Flask) -> None:
    app.config.setdefault("MAIL_BACKEND", "smtp")
    mail.init_app(app)


def _connection():
    config = current_app.config
    if config.get("MAIL_BACKEND", "smtp") != "smtp":
        return mail.get_connection()
    if not config.get("SMTP_URL"):
        raise MailNotConfigured("Mail is not set up on this server: set ROLLCALL_SMTP_URL.")
    server = parse_smtp_url(config["SMTP_URL"])
    return mail.get_connection(
        host=server.host,
        port=server.port,
        username=server.username or "",
        password=server.password or "",
        use_ssl=server.use_ssl,
        use_tls=server.use_tls,
        timeout=TIMEOUT,
    )


def send(to: str, subject: str, text: str, html: str | None = None) -> None:
    """Send one message; SendFailed when the server would not take it."""
    message = EmailMultiAlternatives(subject, text, sender(), [to], connection=_connection())
    if html:
        message.attach_alternative(html, "text/html")
    try:
        message.send()
    except smtplib.SMTPResponseException as exc:
        # 4xx: the server is busy or greylisting; 5xx: it refuses this message for good.
        raise SendFailed(f"The mail server answered {exc.smtp_code}.", transient=400 <= exc.smtp_code < 500) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise SendFailed("The mail server refused the address.", transient=all(400 <= c < 500 for c in codes)) from exc
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        raise SendFailed(f"Could not reach the mail server ({type(exc).__name__}).", transient=True) from exc
