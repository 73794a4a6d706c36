"""The CRM's personal data answers privacy requests: notes, tickets with their comments and the
lead a customer was are exported, and erased (or stripped of their text) on erasure."""

from seva_crm.core.common.security import utcnow
from seva_crm.core.crm import leads, notes, tickets
from seva_crm.core.customers import customers
from seva_crm.core.models import CustomerNote, Lead, Ticket, TicketComment
from seva_crm.core.privacy import erasure, export
from seva_crm.core.privacy.policy import tenant_policy


async def test_notes_tickets_and_leads_are_exported_and_erased(tenant):
    lead = await leads.create_lead(tenant.scope, {"name": "Asha Devi", "phone": "9876500401", "notes": "met at the fair"})
    lead = await leads.convert_lead(tenant.scope, lead.id)
    cid = lead.customer_id
    await notes.add_note(tenant.scope, None, cid, "Lives behind the temple")
    ticket = await tickets.create_ticket(tenant.scope, cid, {"subject": "Aadhaar address wrong"})
    await tickets.comment(tenant.scope, None, ticket.id, "We will call you at 9876500401", internal=False)

    data = await export.collect(tenant.id, cid)
    text = repr(data)
    assert "Lives behind the temple" in text and "Aadhaar address wrong" in text and "met at the fair" in text

    await erasure.erase_core(tenant.id, cid, await tenant_policy(tenant.id), utcnow().date())
    assert not await CustomerNote.filter(tenant_id=tenant.id, body__contains="temple").exists()
    assert not await Ticket.filter(tenant_id=tenant.id, subject__contains="Aadhaar").exists()
    assert not await TicketComment.filter(tenant_id=tenant.id, body__contains="9876500401").exists()
    assert not await Lead.filter(tenant_id=tenant.id, name="Asha Devi").exists()
    assert (await customers.get_customer(tenant.id, cid)).name_key == ""
