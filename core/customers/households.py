"""Households: family members who share one phone.

The phone belongs to one customer, the household's *contact*; each other member points at the
contact (``Customer.household_contact``) and keeps no phone of its own, so the phone stays unique
per tenant (the database's constraint) and an unrelated person with the same phone is still a
duplicate. A member is added only explicitly (``join_household``, or ``customerCreate`` /
the CSV import with ``household``). Messages to a member go to the contact's phone, in the
member's name; replies from the phone are the contact's. A member given a phone of its own
leaves the household."""

from __future__ import annotations

from uuid import UUID

from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.customers.customers import get_customer
from seva_crm.core.models import Customer
from seva_crm.core.platform import audit
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.platform import events
from seva_crm.core.storage.transactions import transaction


async def contact_for_phone(tenant_id: UUID, phone: str | None) -> Customer | None:
    """The customer holding ``phone`` (E.164), the household's contact."""
    return await Customer.get_or_none(tenant_id=tenant_id, phone=phone) if phone else None


async def shared_phone(customer: Customer) -> str | None:
    """The phone a customer is reached on: its own, else its household contact's."""
    if customer.phone or not customer.household_contact_id:
        return customer.phone
    return await (Customer.filter(tenant_id=customer.tenant_id, id=customer.household_contact_id)
                  .first().values_list("phone", flat=True))


def reached_as(customer: Customer) -> UUID:
    """Whose phone (and conversation, and WhatsApp window) a customer is reached through."""
    return customer.household_contact_id or customer.id


async def members(tenant_id: UUID, contact_id: UUID) -> list[Customer]:
    return await Customer.filter(tenant_id=tenant_id, household_contact_id=contact_id, deleted_at__isnull=True).order_by("name")


async def join_household(tenant: TenantScope, customer_id: UUID | None, contact_id: UUID | None) -> Customer:
    """Make a customer a member of ``contact_id``'s household (the contact of a member's household
    if a member is named). Its own phone, if any, is given up."""
    customer = await get_customer(tenant.id, customer_id)
    contact = await get_customer(tenant.id, contact_id, "contactId")
    if contact.household_contact_id:
        contact = await get_customer(tenant.id, contact.household_contact_id, "contactId")
    if contact.id == customer.id:
        raise DomainError.of("contactId", ErrorCode.INVALID, "a customer cannot join its own household")
    if not contact.phone:
        raise DomainError.of("contactId", ErrorCode.INVALID, "the contact has no phone to share")
    if await Customer.filter(tenant_id=tenant.id, household_contact_id=customer.id).exists():
        raise DomainError.of("id", ErrorCode.INVALID, "this customer is the contact of a household; its members must leave first")
    if customer.household_contact_id == contact.id:
        return customer
    async with transaction():
        customer.household_contact_id, customer.phone = contact.id, None
        await customer.save(update_fields=["household_contact_id", "phone", "updated_at"])
        change_feed.record(tenant.id, ChangeType.CUSTOMER, customer.id, Op.UPDATED)  # its phone is now the contact's
        await audit.record(tenant.id, "customer.household_joined", subject_type="customer", subject_id=customer.id,
                           changed=["household_contact", "phone"], details={"contact": str(contact.id)})
        await events.emit(events.new_event(events.CUSTOMER_UPDATED, tenant.id, customer.id, fields=["household_contact", "phone"]))
    return customer


async def leave_household(tenant: TenantScope, customer_id: UUID | None) -> Customer:
    """A member stops sharing the contact's phone (it has none until given one)."""
    customer = await get_customer(tenant.id, customer_id)
    if not customer.household_contact_id:
        return customer
    async with transaction():
        contact_id, customer.household_contact_id = customer.household_contact_id, None
        await customer.save(update_fields=["household_contact_id", "updated_at"])
        change_feed.record(tenant.id, ChangeType.CUSTOMER, customer.id, Op.UPDATED)
        await audit.record(tenant.id, "customer.household_left", subject_type="customer", subject_id=customer.id,
                           changed=["household_contact"], details={"contact": str(contact_id)})
        await events.emit(events.new_event(events.CUSTOMER_UPDATED, tenant.id, customer.id, fields=["household_contact"]))
    return customer
