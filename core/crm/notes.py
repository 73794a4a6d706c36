"""Notes staff keep about a customer (a call, a visit, a promise), shown in the timeline."""

from __future__ import annotations

from uuid import UUID

from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.validation import require_text
from seva_crm.core.customers.customers import get_customer
from seva_crm.core.models import CustomerNote
from seva_crm.core.platform import audit
from seva_crm.core.storage.transactions import transaction


async def add_note(tenant: TenantScope, author_id: UUID | None, customer_id: UUID | None, body: str) -> CustomerNote:
    customer = await get_customer(tenant.id, customer_id, "customerId")
    text = require_text(body, "body", 5000)
    async with transaction():
        note = await CustomerNote.create(tenant_id=tenant.id, customer_id=customer.id, author_id=author_id, body=text)
        await audit.record(tenant.id, "customer.note_added", subject_type="customer", subject_id=customer.id,
                           changed=["note"], details={"note": str(note.id)})
    return note
