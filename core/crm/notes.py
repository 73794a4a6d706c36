"""Notes staff keep about a customer (a call, a visit, a promise), shown in the timeline and
followed by the change feed. A note is edited by its author, or by an admin (or owner); the audit
entry keeps keyed digests of the text before and after, never the text."""

from __future__ import annotations

from uuid import UUID

from seva_crm.core.common.enums import Role
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.validation import require_text
from seva_crm.core.customers.customers import get_customer
from seva_crm.core.models import CustomerNote
from seva_crm.core.platform import audit
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage.transactions import transaction

MAX_LENGTH = 5000


async def add_note(tenant: TenantScope, author_id: UUID | None, customer_id: UUID | None, body: str) -> CustomerNote:
    customer = await get_customer(tenant.id, customer_id, "customerId")
    text = require_text(body, "body", MAX_LENGTH)
    async with transaction():
        note = await CustomerNote.create(tenant_id=tenant.id, customer_id=customer.id, author_id=author_id, body=text)
        await audit.record(tenant.id, "customer.note_added", subject_type="customer", subject_id=customer.id,
                           changed=["note"], details={"note": str(note.id)})
        change_feed.record(tenant.id, ChangeType.NOTE, note.id, Op.CREATED)
    return note


async def edit_note(tenant: TenantScope, user_id: UUID | None, role: Role, note_id: UUID | None, body: str) -> CustomerNote:
    """Replace a note's text: its author may, and an admin or owner may edit anyone's."""
    note = await CustomerNote.get_or_none(tenant_id=tenant.id, id=note_id) if note_id else None
    if note is None:
        raise NotFound("note")
    if not (role.rank >= Role.ADMIN.rank or (user_id is not None and note.author_id == user_id)):
        raise DomainError.of("id", ErrorCode.FORBIDDEN, "only the note's author or an admin may edit it")
    text = require_text(body, "body", MAX_LENGTH)
    if text == note.body:
        return note
    async with transaction():
        before, note.body = note.body, text
        await note.save(update_fields=["body", "updated_at"])
        await audit.record(tenant.id, "customer.note_edited", subject_type="customer", subject_id=note.customer_id,
                           changed=["note"], details={"note": str(note.id), "before": audit.personal(before),
                                                      "after": audit.personal(text)})
        change_feed.record(tenant.id, ChangeType.NOTE, note.id, Op.UPDATED)
    return note
