"""Staff send an invoice's PDF to its customer: by email as a MIME attachment through a real SMTP
server (aiosmtpd, read back), by WhatsApp as an uploaded document (the fake checks the upload and
the message naming it), never by SMS (refused with the reason); audited, and no PDF kept in the
outbox."""

from __future__ import annotations

import asyncio
import io
import json
import uuid

import pytest
from pypdf import PdfReader

from seva_crm.core import jobs
from seva_crm.core.billing import invoices
from seva_crm.core.common.enums import MessageStatus as S
from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.messaging import outbox
from seva_crm.core.models import AuditEvent, Message
from seva_crm.core.platform import webhook_tenants
from seva_crm.core.platform.plugin_settings import update_plugin_settings
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.plugins.email import hooks as email_plugin
from seva_crm.plugins.sms import hooks as sms_plugin
from seva_crm.plugins.whatsapp import hooks as whatsapp_plugin
from seva_crm.plugins.whatsapp.adapter import _paused
from seva_crm.plugins.whatsapp.client import document_payload
from seva_crm.plugins.whatsapp.fake import FakeWhatsApp
from seva_crm.plugin_api import Purpose, SendResult, record_inbound
from tests.billing_helpers import customer
from tests.channel_plugin import ChannelPlugin, NullChannel
from tests.jobs_support import fast_outbox, settle  # noqa: F401 - fixtures
from tests.smtp_support import free_port, smtp, smtp_certs  # noqa: F401 - fixtures

SEND = """mutation($id: ID!, $channel: String) { invoiceSend(id: $id, channel: $channel) {
  messageId errors { field code message } } }"""


@pytest.fixture
async def running(fast_outbox):
    """The outbox's jobs in-process; the test sets the plugins."""
    broker = jobs.setup_jobs("", namespace=f"seva-test-{uuid.uuid4().hex[:8]}")
    runner = await asyncio.to_thread(lambda: jobs.Runner(broker, threads=2).start())
    yield
    await asyncio.to_thread(runner.stop)
    set_plugins(None)
    jobs.reset_jobs()


@pytest.fixture
def wa_fake():
    fake = FakeWhatsApp(phone_number_id=str(uuid.uuid4().int)[:15]).start()
    fake.register("seva_invoice_document", "hi", 5, document_header=True)
    webhook_tenants.index.forget()
    _paused.clear()
    yield fake
    fake.stop()


async def hindi_invoice(tenant, **contact):
    c = await customer(tenant.scope, name="आशा देवी", language="hi", **contact)
    return await invoices.create_invoice(tenant.scope, {"customer_id": c.id, "lines": [
        {"description": "Annual plan", "unit_amount": 15000000, "tax_rate_bp": 1800, "hsn_sac": "998422"}]})


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def sent_by(api, invoice, channel=None) -> Message:
    result = (await api.ok(SEND, id=to_global_id("Invoice", invoice.id), channel=channel))["invoiceSend"]
    assert result["errors"] == [], result
    [row] = await settle(from_global_id(result["messageId"], "Message"))
    return row


async def test_a_viewer_emails_the_invoice_pdf_as_an_attachment(tenant, running, smtp):
    set_plugins(Plugins(discover=False, extra=(email_plugin,)))
    await update_plugin_settings(tenant.id, "email", enabled=True, settings=smtp.tenant_settings())
    invoice = await hindi_invoice(tenant, email="asha@example.com")
    viewer = await tenant.api_as(Role.VIEWER)

    row = await sent_by(viewer, invoice, "email")
    assert (row.status, row.channel) == (S.SENT, "email")
    [mail] = smtp.handler.to("asha@example.com")
    assert mail.get_content_type() == "multipart/mixed"
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{invoice.number}.pdf"
    text = pdf_text(attachment.get_content())
    assert "कर बीजक" in text and invoice.number in text and "₹1,77,000.00" in text
    body = mail.get_body(("plain",)).get_content()
    assert invoice.number in body and "संलग्न" in body  # the Hindi text of the message

    # the outbox holds a reference, not the document; the audit log has who sent it
    assert row.attachment == {"kind": "invoice_pdf", "id": str(invoice.id), "language": "hi"}
    [entry] = await AuditEvent.filter(tenant_id=tenant.id, action="invoice.sent")
    assert entry.actor_type == "user" and entry.details["number"] == invoice.number
    assert entry.details["channel"] == "email"


async def test_whatsapp_uploads_the_pdf_then_sends_it_as_a_document(tenant, running, wa_fake, plugin_env):
    plugin_env(SEVA_WHATSAPP_BASE_URL=wa_fake.url)
    plugins = Plugins(discover=False, extra=(whatsapp_plugin,))
    set_plugins(plugins)
    await update_plugin_settings(tenant.id, "whatsapp", enabled=True, plugins=plugins, settings={
        "phoneNumberId": wa_fake.phone_number_id, "accessToken": wa_fake.token, "appSecret": wa_fake.app_secret,
        "verifyToken": "verify-token", "apiVersion": wa_fake.version})
    invoice = await hindi_invoice(tenant, phone="9876543210")

    # outside the 24-hour window: the template, its DOCUMENT header naming the uploaded media
    row = await sent_by(tenant.api, invoice)
    assert (row.status, row.channel) == (S.SENT, "whatsapp")
    [(payload, code)] = wa_fake.tries("+919876543210")
    assert code == 0 and payload["type"] == "template"
    header, body = payload["template"]["components"]
    [param] = header["parameters"]
    content, filename, media_type = wa_fake.media[param["document"]["id"]]
    assert (filename, media_type) == (f"{invoice.number}.pdf", "application/pdf")
    assert param["document"]["filename"] == filename
    assert invoice.number in pdf_text(content)
    assert invoice.number in [p["text"] for p in body["parameters"]]

    # inside the window: a document message with the text as its caption
    wa_fake.customer_writes("919876543210", "invoice please")  # the fake's window, and ours:
    await record_inbound(tenant.id, "whatsapp", sender="+919876543210", provider_id="wamid.IN1", body="invoice please")
    await sent_by(tenant.api, invoice)
    payload, code = wa_fake.tries("+919876543210")[-1]
    assert code == 0 and payload["type"] == "document"
    assert invoice.number in payload["document"]["caption"]
    assert invoice.number in pdf_text(wa_fake.media[payload["document"]["id"]][0])


async def test_the_fake_refuses_a_document_nobody_uploaded(wa_fake):
    status, body = wa_fake.handle(f"/{wa_fake.version}/{wa_fake.phone_number_id}/messages",
                                  {"Authorization": f"Bearer {wa_fake.token}"},
                                  json.dumps(document_payload("919876543210", "123", "x.pdf", "hi", "ref")).encode())
    assert status == 400 and body["error"]["code"] == 131053


async def test_sms_cannot_carry_the_pdf_and_says_so(tenant, running):
    set_plugins(Plugins(discover=False, extra=(sms_plugin,)))
    await update_plugin_settings(tenant.id, "sms", enabled=True, settings={
        "gateway": "msg91", "apiToken": "token", "sender": "SEVAIN", "entityId": "1201159100000000000"})
    invoice = await hindi_invoice(tenant, phone="9876543210")
    gid = to_global_id("Invoice", invoice.id)

    named = (await tenant.api.ok(SEND, id=gid, channel="sms"))["invoiceSend"]
    assert named["messageId"] is None
    assert [(e["field"], e["code"]) for e in named["errors"]] == [("channel", "INVALID")]
    assert "cannot carry a document" in named["errors"][0]["message"]
    unnamed = (await tenant.api.ok(SEND, id=gid, channel=None))["invoiceSend"]
    assert [(e["field"], e["code"]) for e in unnamed["errors"]] == [("channel", "UNAVAILABLE")]
    assert await Message.filter(tenant_id=tenant.id).count() == 0
    assert await AuditEvent.filter(tenant_id=tenant.id, action="invoice.sent").count() == 0


async def test_another_tenants_invoice_is_not_found(tenant, make_tenant, running):
    set_plugins(Plugins(discover=False, extra=(email_plugin,)))
    other = await make_tenant()
    invoice = await hindi_invoice(other, email="asha@example.com")
    result = (await tenant.api.ok(SEND, id=to_global_id("Invoice", invoice.id)))["invoiceSend"]
    assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]
    assert await Message.filter(tenant_id=other.id).count() == 0


class Keeper:
    """A channel that carries documents and keeps what it is given."""

    name = kind = "keeper"
    attachments = True

    def __init__(self) -> None:
        self.kept = []

    def can_reach(self, recipient) -> bool:
        return True

    async def send(self, message, settings):
        self.kept.append(message)
        return SendResult(provider_id=f"kept-{message.id.hex}")


async def test_the_outbox_gives_a_document_only_to_a_channel_that_carries_it(tenant, running):
    keeper = Keeper()
    set_plugins(Plugins(discover=False, extra=(ChannelPlugin([keeper, NullChannel("sms")]),)))
    invoice = await hindi_invoice(tenant, phone="9876543210")
    reference = {"kind": "invoice_pdf", "id": str(invoice.id), "language": "en"}
    on_sms = await outbox.queue_message(tenant.id, invoice.customer_id, purpose=Purpose.SERVICE, template="invoice_document",
                                        body="Invoice", only_channel="sms", attachment=reference)
    anywhere = await outbox.queue_message(tenant.id, invoice.customer_id, purpose=Purpose.SERVICE,
                                          template="invoice_document", body="Invoice", attachment=reference)
    gone = await outbox.queue_message(tenant.id, invoice.customer_id, purpose=Purpose.SERVICE, template="invoice_document",
                                      body="Invoice", attachment={**reference, "id": str(uuid.uuid4())})
    on_sms, anywhere, gone = await settle(on_sms.id, anywhere.id, gone.id)
    assert on_sms.status is S.FAILED and "no channel that sends documents" in on_sms.last_error
    assert (anywhere.status, anywhere.channel) == (S.SENT, "keeper")
    assert gone.status is S.FAILED and "cannot be made" in gone.last_error
    [sent] = keeper.kept
    assert sent.id == anywhere.id and sent.attachment.filename == f"{invoice.number}.pdf"
    assert invoice.number in pdf_text(sent.attachment.content) and "Tax Invoice" in pdf_text(sent.attachment.content)
