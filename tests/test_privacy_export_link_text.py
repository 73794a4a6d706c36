"""The text that carries a data subject's export link says until when it works in the subject's
language, through the one Babel helper (``core.common.localise.moment``): Bengali digits and
months for a Bengali reader, Hindi months for a Hindi one, in the tenant's timezone."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from uuid import uuid4

from seva_crm.core.common import localise
from seva_crm.core.common.enums import Region
from seva_crm.core.messaging.sealed import unseal
from seva_crm.core.models import Message
from seva_crm.core.privacy import notify
from tests.billing_helpers import customer

EXPIRES = datetime(2026, 3, 18, 6, 30, tzinfo=UTC)  # 12:30 in Dhaka, 12:00 in India


async def sent_expiry(t, c) -> tuple[str, str]:
    request = SimpleNamespace(id=uuid4(), tenant_id=t.id, customer_id=c.id, export_expires_at=EXPIRES)
    await notify.send_subject_link(request, "email", c.email, "https://seva.example/privacy/exports/abc")
    row = await Message.get(tenant_id=t.id, template="privacy_export_ready")
    body, variables = unseal(t.id, row.id, row.body)
    return body, variables["expires"]


async def test_a_bengali_subject_reads_the_expiry_in_bengali(make_tenant):
    t = await make_tenant(region=Region.BD, name="Dhaka Net")
    c = await customer(t.scope, name="Karim", phone="01712345678", email="karim@example.com", language="bn")
    body, expires = await sent_expiry(t, c)
    assert expires == localise.moment(EXPIRES, "Asia/Dhaka", "bn", "BDT")
    assert "১৮ মার্চ, ২০২৬" in expires and "১২:৩০" in expires  # Bengali digits and month, Dhaka time
    assert expires in body and "2026" not in body


async def test_a_hindi_subject_reads_the_expiry_in_hindi(tenant):
    c = await customer(tenant.scope, name="Asha", phone="9876500301", email="asha@example.com", language="hi")
    body, expires = await sent_expiry(tenant, c)
    assert expires == localise.moment(EXPIRES, "Asia/Kolkata", "hi", "INR")
    assert "18 मार्च 2026" in expires and "12:00" in expires and expires in body
