"""Whether WhatsApp can reach a customer (``WhatsAppContact``), and the plugin's part in
privacy requests for it (``seva_privacy_fanout``)."""

from __future__ import annotations

from uuid import UUID

from tortoise.exceptions import IntegrityError

from seva_crm.plugin_api import utcnow
from seva_crm.plugins.whatsapp.models import WhatsAppContact


async def is_unreachable(tenant_id: UUID, customer_id: UUID) -> bool:
    return await WhatsAppContact.filter(tenant_id=tenant_id, customer_id=customer_id).exists()


async def mark_unreachable(tenant_id: UUID, customer_id: UUID) -> None:
    """WhatsApp said the customer's number is not on WhatsApp (131026)."""
    now = utcnow()
    if not await WhatsAppContact.filter(tenant_id=tenant_id, customer_id=customer_id).update(unreachable_at=now):
        try:
            await WhatsAppContact.create(tenant_id=tenant_id, customer_id=customer_id, unreachable_at=now)
        except IntegrityError:  # marked at the same moment by another send
            pass


async def mark_reachable(tenant_id: UUID, customer_id: UUID) -> None:
    """They wrote to us on WhatsApp: reachable after all."""
    await WhatsAppContact.filter(tenant_id=tenant_id, customer_id=customer_id).delete()


class ContactsPrivacy:
    """Whether WhatsApp reached the customer is about them: exported, and erased (a cache with
    no retention duty)."""

    async def export(self, tenant_id: UUID, customer_id: UUID) -> dict:
        row = await WhatsAppContact.get_or_none(tenant_id=tenant_id, customer_id=customer_id)
        return {"not_on_whatsapp_since": row.unreachable_at.isoformat()} if row else {}

    async def erase(self, tenant_id: UUID, customer_id: UUID) -> dict:
        erased = await WhatsAppContact.filter(tenant_id=tenant_id, customer_id=customer_id).delete()
        return {"erased": erased, "kept": []}
