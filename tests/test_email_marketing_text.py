"""Marketing email does not tell the customer to "Reply STOP" (inbound mail is not read): the
built-in offer's reply-to-stop sentence is left out, in every language, and the one-click
unsubscribe link stands in its place. SMS keeps it."""

from __future__ import annotations

import pytest

from seva_crm.core.messaging import messages
from seva_crm.core.platform.channels import Purpose
from seva_crm.plugins.email.adapter import without_reply_stop
from tests.jobs_support import fast_outbox, settle  # noqa: F401 - fixtures
from tests.smtp_support import smtp, smtp_certs  # noqa: F401 - fixtures
from tests.test_email import consent_to_marketing, customer, email_jobs, parts, use_tenant_server  # noqa: F401


@pytest.mark.parametrize("language, kept", [("en", "10% off"), ("hi", "10% off"), ("bn", "10% off")])
async def test_the_offer_by_email_has_no_reply_stop(tenant, email_jobs, smtp, language, kept):  # noqa: F811
    await use_tenant_server(tenant, smtp)
    address = f"offer-{language}@example.com"
    asha = await customer(tenant, email=address, language=language)
    await consent_to_marketing(tenant, asha)
    queued = await messages.send_template(tenant.scope, asha.id, "offer", {"offer": "10% off on Diwali"}, Purpose.MARKETING)
    assert "STOP" in queued.body  # the outbox keeps the template's text (SMS says it)
    [row] = await settle(queued.id)
    assert row.channel == "email"
    [mail] = smtp.handler.to(address)
    text = parts(mail)["text/plain"]
    assert "STOP" not in text and kept in text and "/webhooks/email/u/" in text
    assert "STOP" not in parts(mail)["text/html"]


def test_only_the_reply_stop_sentence_goes():
    assert without_reply_stop("Hello Asha, your bill is ready.") == "Hello Asha, your bill is ready."
    assert without_reply_stop("Hello Asha, 10% off. Reply STOP to stop these messages.") == "Hello Asha, 10% off."
