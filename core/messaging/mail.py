"""Sending email over SMTP (aiosmtplib): the instance's server from ``SEVA_SMTP_*`` (staff mail,
and tenants without their own server) or a tenant's (plugins/email). Classifies failures the
way the outbox needs them. Logs never carry addresses, passwords or bodies."""

from __future__ import annotations

import html
import logging
import re
import ssl
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from uuid import uuid4

import aiosmtplib

from seva_crm.core.common.settings import SmtpSecurity, get_settings
from seva_crm.core.platform.channels import Attachment

log = logging.getLogger("seva.mail")


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: SmtpSecurity
    username: str
    password: str = field(repr=False)
    from_name: str
    from_address: str
    timeout: float
    ca_file: str = ""
    source: str = "instance"  # "instance" or "tenant" (for logs and alerts)


def instance_server() -> SmtpServer | None:
    """The instance's SMTP server (``SEVA_SMTP_*``), or None if SEVA_SMTP_HOST is empty."""
    s = get_settings()
    if not s.smtp_host:
        return None
    return SmtpServer(s.smtp_host, s.smtp_port, SmtpSecurity(s.smtp_security), s.smtp_username, s.smtp_password.get_secret_value(),
                      s.smtp_from_name, s.smtp_from_address, s.smtp_timeout_seconds, s.smtp_ca_file, "instance")


def tls_context(server: SmtpServer) -> ssl.SSLContext:
    """The system's trusted CAs, plus ``SEVA_SMTP_CA_FILE`` if set; certificates are verified."""
    context = ssl.create_default_context()
    ca_file = server.ca_file or get_settings().smtp_ca_file
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


class MailError(Exception):
    """A failed send. ``kind``: "bounce" (the server refused the recipient for good), "retry"
    (try again later), "auth" (the server refused our login: a configuration problem) or
    "permanent". ``reason`` carries SMTP codes only, never the server's text (it may quote the
    address)."""

    def __init__(self, kind: str, code: str, reason: str) -> None:
        super().__init__(f"{kind} {code}: {reason}")
        self.kind, self.code, self.reason = kind, code, reason


_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def _status(code: int, message: str) -> str:
    """"550 5.1.1": the reply code and the enhanced status code, without the server's text."""
    found = _ENHANCED.search(message or "")
    return f"{code} {found.group(1)}" if found else str(code)


def classify(exc: Exception) -> MailError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refusals = exc.recipients or []
        codes = [r.code for r in refusals]
        status = ", ".join(_status(r.code, r.message) for r in refusals) or "refused"
        if codes and all(c >= 500 for c in codes):
            return MailError("bounce", "bounced", f"the server refused the recipient ({status})")
        return MailError("retry", "recipient_deferred", f"the server deferred the recipient ({status})")
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return MailError("auth", "smtp_auth", f"the SMTP server refused the login ({_status(exc.code, exc.message)})")
    if isinstance(exc, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected,
                        TimeoutError, ConnectionError)):
        return MailError("retry", "smtp_unavailable", f"the SMTP server could not be reached ({type(exc).__name__})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        status = _status(exc.code, exc.message)
        if 400 <= exc.code < 500:
            return MailError("retry", "smtp_deferred", f"the SMTP server said try later ({status})")
        return MailError("permanent", "smtp_refused", f"the SMTP server refused the message ({status})")
    if isinstance(exc, ssl.SSLError):
        return MailError("permanent", "smtp_tls", f"TLS with the SMTP server failed ({type(exc).__name__})")
    return MailError("retry", "smtp_error", f"sending failed ({type(exc).__name__})")


async def send_mail(server: SmtpServer, message: EmailMessage) -> None:
    """Deliver ``message`` through ``server``; raise MailError on failure. An "auth" failure is
    logged as a configuration alert (host and source only)."""
    tls = server.security is not SmtpSecurity.NONE
    try:
        await aiosmtplib.send(
            message, hostname=server.host, port=server.port,
            username=server.username or None, password=(server.password or None) if server.username else None,
            use_tls=server.security is SmtpSecurity.TLS, start_tls=server.security is SmtpSecurity.STARTTLS,
            tls_context=tls_context(server) if tls else None, timeout=server.timeout,
        )
    except Exception as exc:  # noqa: BLE001 - every failure is classified for the caller
        error = classify(exc)
        if error.kind == "auth":
            log.error("configuration alert: the %s SMTP server %s:%d refused our login (%s): check the username "
                      "and password", server.source, server.host, server.port, error.reason)
        raise error from None


def sender(server: SmtpServer, name: str | None = None) -> Address:
    local, _, domain = server.from_address.partition("@")
    return Address(display_name=name if name is not None else server.from_name, username=local, domain=domain)


def html_from_text(text: str, footer: str = "") -> str:
    """A simple, escaped HTML rendering of a plain-text body: paragraphs and line breaks."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    body = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return ("<!doctype html>\n<html><body style=\"font-family: sans-serif; line-height: 1.5\">\n"
            f"{body}\n{footer}</body></html>\n")


def compose(server: SmtpServer, *, to: Address, subject: str, text: str, message_id: str,
            from_name: str | None = None, headers: dict[str, str] | None = None, html_footer: str = "",
            text_footer: str = "", attachments: tuple[Attachment, ...] = ()) -> EmailMessage:
    """A multipart/alternative message: ``text`` as it is, and an escaped HTML rendering of it;
    with ``attachments``, multipart/mixed with each document after them."""
    message = EmailMessage()
    message["From"] = sender(server, from_name)
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text.rstrip() + "\n" + (f"\n{text_footer}\n" if text_footer else ""))
    message.add_alternative(html_from_text(text, html_footer), subtype="html")
    for document in attachments:
        maintype, _, subtype = document.media_type.partition("/")
        message.add_attachment(document.content, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=document.filename)
    return message


def message_id_for(server: SmtpServer, key: str) -> str:
    """A Message-ID from our own id (the same on every retry: a duplicate is recognisable)."""
    return f"<seva.{key}@{server.from_address.partition('@')[2] or 'seva.invalid'}>"


async def send_staff_mail(to: str, subject: str, text: str) -> bool:
    """Mail to a staff member through the instance's server; False if none is configured."""
    server = instance_server()
    if server is None:
        return False
    local, _, domain = to.partition("@")
    await send_mail(server, compose(server, to=Address(username=local, domain=domain), subject=subject, text=text,
                                    message_id=message_id_for(server, uuid4().hex)))
    return True
