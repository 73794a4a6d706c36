"""The email channel adapter for the outbox."""

from __future__ import annotations

import html
import logging
import re
from email.headerregistry import Address
from urllib.parse import quote

from seva_crm.plugin_api import (
    MailError,
    OutgoingMessage,
    Purpose,
    Recipient,
    SendError,
    SendResult,
    SmtpServer,
    compose_mail,
    instance_smtp_server,
    mail_message_id,
    send_mail,
)
from seva_crm.plugins.email.settings import EmailSettings
from seva_crm.plugins.email.suppression import is_suppressed, suppress
from seva_crm.plugins.email.webhooks import make_token, unsubscribe_url

log = logging.getLogger("seva.email")


def server_for(settings: EmailSettings | None) -> SmtpServer | None:
    """The tenant's own server, or the instance's (under the tenant's from name, if set)."""
    if settings is not None and settings.host:
        password = settings.password.get_secret_value() if settings.password else ""
        instance = instance_smtp_server()
        return SmtpServer(settings.host, settings.port, settings.security, settings.username, password,
                               settings.from_name, str(settings.from_address),
                               instance.timeout if instance else 20.0, "", "tenant")
    server = instance_smtp_server()
    if server is not None and settings is not None and settings.from_name:
        server = SmtpServer(**{**server.__dict__, "from_name": settings.from_name})
    return server


# the last sentence of a text when it offers opting out by replying STOP (the built-in "offer"
# template in en, hi, bn): inbound mail is not read, so email says nothing of it (the one-click
# unsubscribe link stands in its place)
REPLY_STOP = re.compile(r"\s*[^.।!?]*\bSTOP\b[^.।!?]*[.।!?]?\s*$")


def without_reply_stop(text: str) -> str:
    return REPLY_STOP.sub("", text)


def subject_of(message: OutgoingMessage) -> str:
    subject = message.binding.get("subject") or message.variables.get("subject")
    return str(subject or message.template.replace("_", " ").capitalize())[:200]


class EmailChannel:
    name = "email"
    kind = "email"
    attachments = True  # a document goes as a MIME attachment

    def can_reach(self, recipient: Recipient) -> bool:
        return bool(recipient.email)

    def settings_when_unconfigured(self) -> EmailSettings | None:
        """A tenant that enabled email without its own server sends through the instance's."""
        return EmailSettings() if instance_smtp_server() is not None else None

    async def send(self, message: OutgoingMessage, settings: EmailSettings | None) -> SendResult:
        server = server_for(settings)
        if server is None:
            raise SendError("not_configured", "no SMTP server is configured", retryable=False, fallback=True)
        address = message.recipient.email or ""
        if await is_suppressed(message.tenant_id, address):
            raise SendError("suppressed", "the address bounced before: no email goes to it", retryable=False,
                            fallback=True)

        headers: dict[str, str] = {}
        text_footer = html_footer = ""
        customer_id = message.recipient.customer_id
        if message.purpose is Purpose.MARKETING and customer_id is not None:
            url = unsubscribe_url(message.tenant_id, customer_id)
            token = make_token(message.tenant_id, customer_id)
            mailto = f"mailto:{server.from_address}?subject={quote('unsubscribe ' + token)}"
            headers = {"List-Unsubscribe": f"<{url}>, <{mailto}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
            text_footer = f"--\nTo stop these emails: {url}"
            html_footer = f'<p style="font-size: small; color: #666"><a href="{html.escape(url)}">Unsubscribe</a></p>\n'

        local, _, domain = address.partition("@")
        message_id = mail_message_id(server, message.id.hex)
        email = compose_mail(server, to=Address(display_name=message.recipient.name, username=local, domain=domain),
                             subject=subject_of(message), message_id=message_id, headers=headers,
                             text=without_reply_stop(message.body) if message.purpose is Purpose.MARKETING else message.body,
                             text_footer=text_footer, html_footer=html_footer,
                             attachments=(message.attachment,) if message.attachment else ())
        try:
            await send_mail(server, email)
        except MailError as exc:
            if exc.kind == "bounce":
                await suppress(message.tenant_id, address, reason="bounce", detail=exc.reason, message_id=message.id,
                               customer_id=customer_id)
                raise SendError(exc.code, exc.reason, retryable=False, fallback=True) from None
            raise SendError(exc.code, exc.reason, retryable=exc.kind == "retry") from None
        return SendResult(provider_id=message_id, detail={"server": server.source})
