"""The CRM's tables as privacy sources (``core.common.personal_data``; ``core.privacy`` collects
them): notes about the customer, their tickets with comments, and the lead they were. Notes and
tickets are service history; the lead is profile data. What erasure keeps (a region's policy may
keep service history) loses its free text."""

from __future__ import annotations

from seva_crm.core.models import CustomerNote, Lead, Ticket, TicketComment
from seva_crm.core.platform.personal_data import Source, record_ids as _ids, row_dict
from seva_crm.core.platform.plugin_types import Disposition, RecordCategory, RecordRef

KEEP = (Disposition.RETAIN, Disposition.ANONYMISE)


class Notes:
    table, label = "customer_note", "notes staff kept about you"

    async def export(self, tenant_id, customer_id):
        rows = await CustomerNote.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("created_at")
        return [row_dict(r) for r in rows]

    async def plan(self, tenant_id, customer_id):
        rows = await CustomerNote.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(RecordCategory.SERVICE_HISTORY, self.table, str(r.id), r.created_at) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await CustomerNote.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()
        if keep := _ids(decisions, *KEEP):
            await CustomerNote.filter(tenant_id=tenant_id, id__in=keep).update(body="")


class Tickets:
    table, label = "ticket", "your support requests and our answers"

    async def export(self, tenant_id, customer_id):
        out = []
        for t in await Ticket.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("created_at"):
            comments = await TicketComment.filter(tenant_id=tenant_id, ticket_id=t.id, internal=False).order_by("created_at")
            out.append({**row_dict(t), "comments": [{"body": c.body, "at": c.created_at.isoformat()} for c in comments]})
        return out

    async def plan(self, tenant_id, customer_id):
        rows = await Ticket.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(RecordCategory.SERVICE_HISTORY, self.table, str(r.id), r.created_at) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await Ticket.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()  # comments cascade
        if keep := _ids(decisions, *KEEP):
            await Ticket.filter(tenant_id=tenant_id, id__in=keep).update(subject="")
            await TicketComment.filter(tenant_id=tenant_id, ticket_id__in=keep).update(body="")


class Leads:
    table, label = "lead", "what you told us before you became a customer"

    async def export(self, tenant_id, customer_id):
        return [row_dict(r) for r in await Lead.filter(tenant_id=tenant_id, customer_id=customer_id)]

    async def plan(self, tenant_id, customer_id):
        rows = await Lead.filter(tenant_id=tenant_id, customer_id=customer_id)
        return [RecordRef(RecordCategory.PROFILE, self.table, str(r.id), r.created_at) for r in rows]

    async def apply(self, tenant_id, customer_id, decisions):
        await Lead.filter(tenant_id=tenant_id, id__in=_ids(decisions, Disposition.ERASE)).delete()
        if keep := _ids(decisions, *KEEP):
            await Lead.filter(tenant_id=tenant_id, id__in=keep).update(name="", phone=None, email=None, notes="", next_action="")


SOURCES: list[Source] = [Notes(), Tickets(), Leads()]
