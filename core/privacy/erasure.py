"""Erasure: for each record the policy decides erase, anonymise, or retain (masked) until a date
under a named law; plugins erase what they hold. Safe to re-run: a second pass finds nothing
new to delete and masks what is already masked."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from seva_crm.core.customers import identifiers
from seva_crm.core.models import Customer, PrivacyRequest
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.platform.personal_data import Redactor
from seva_crm.core.storage.transactions import transaction
from seva_crm.core.platform.plugin_types import Disposition, RegionPolicy
from seva_crm.core.platform.tenant_plugins import privacy_fanouts
from seva_crm.core.privacy.fanout import plugin_name
from seva_crm.core.privacy.sources import all_sources


# tables the change feed follows: an erased row is a deletion there, a masked one an update
FEED_TYPES = {"service_record": ChangeType.SERVICE_RECORD, "message": ChangeType.MESSAGE, "billing_invoice": ChangeType.INVOICE,
              "billing_payment": ChangeType.PAYMENT, "billing_subscription": ChangeType.SUBSCRIPTION,
              "customer_note": ChangeType.NOTE, "ticket": ChangeType.TICKET, "lead": ChangeType.LEAD}


async def erase_core(tenant_id: UUID, customer_id: UUID, policy: RegionPolicy, today: date) -> list[dict[str, Any]]:
    """Apply the policy's decision to every record of the customer, then remove their details
    from the free text of what was kept, in one transaction; one entry per table and decision.
    The change feed shows the customer as deleted."""
    async with transaction():
        return await _erase_core(tenant_id, customer_id, policy, today)


async def _erase_core(tenant_id: UUID, customer_id: UUID, policy: RegionPolicy, today: date) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    redactor = await redactor_for(tenant_id, customer_id)
    for source in all_sources():
        refs = await source.plan(tenant_id, customer_id)
        decisions = [(ref, policy.retention(ref, today)) for ref in refs]
        await source.apply(tenant_id, customer_id, decisions)
        if source.table == "customer" and decisions:
            change_feed.record(tenant_id, ChangeType.CUSTOMER, customer_id, Op.DELETED)
        elif kind := FEED_TYPES.get(source.table):
            for ref, d in decisions:
                change_feed.record(tenant_id, kind, UUID(ref.record_id), Op.DELETED if d.disposition is Disposition.ERASE else Op.UPDATED)
        if redactor is not None and (redact := getattr(source, "redact", None)):
            await redact(tenant_id, customer_id, redactor)
        groups: dict[tuple, int] = defaultdict(int)
        for _, d in decisions:
            groups[(d.disposition.value, d.basis, d.citation, d.retain_until.isoformat() if d.retain_until else None)] += 1
        for (disposition, basis, citation, until), count in groups.items():
            entries.append({"table": source.table, "disposition": disposition, "count": count, "basis": basis,
                            "citation": citation, "retain_until": until})
    return entries


async def redactor_for(tenant_id: UUID, customer_id: UUID) -> Redactor | None:
    """The customer's details as they were before erasure (None once the stub is anonymised:
    the first pass already removed them)."""
    customer = await Customer.get_or_none(tenant_id=tenant_id, id=customer_id)
    if customer is None or customer.erased_at is not None:
        return None
    return Redactor(customer.name, customer.phone, customer.email, await identifier_values(tenant_id, customer_id))


async def identifier_values(tenant_id: UUID, customer_id: UUID) -> list[str]:
    """The customer's identity numbers: they too may have been typed into free text."""
    return [identifiers.plaintext(r) for r in await identifiers.identifiers_of(tenant_id, customer_id)]


async def erase_plugins(tenant_id: UUID, customer_id: UUID) -> list[dict[str, Any]]:
    """Ask every plugin enabled for the tenant to erase what it holds (processors erase too: DPDP s.8(7))."""
    entries = []
    for offer in await privacy_fanouts(tenant_id):
        plugin_id = offer.plugin_id
        outcome = await offer.adapter.erase(tenant_id, customer_id) or {}
        kept = outcome.get("kept") or []
        entries.append({"table": f"plugin:{plugin_id}", "disposition": "erase", "count": int(outcome.get("erased", 0)),
                        "basis": f"erased by {plugin_name(plugin_id)}", "citation": "", "retain_until": None})
        for item in kept:  # a plugin that must keep something says what and why
            entries.append({"table": f"plugin:{plugin_id}", "disposition": "retain", "count": int(item.get("count", 1)),
                            "basis": str(item.get("basis", "")), "citation": str(item.get("citation", "")),
                            "retain_until": item.get("retain_until")})
    return entries


async def purge_exports(tenant_id: UUID, customer_id: UUID) -> int:
    """Delete earlier export files of the customer: their links stop working."""
    removed = 0
    for request in await PrivacyRequest.filter(tenant_id=tenant_id, customer_id=customer_id).exclude(export_path=""):
        Path(request.export_path).unlink(missing_ok=True)
        await PrivacyRequest.filter(id=request.id).update(export_path="", export_expires_at=None)
        removed += 1
    return removed


def kept(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in entries if e["disposition"] == Disposition.RETAIN.value and e["count"]]
