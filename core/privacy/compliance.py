"""A tenant's compliance report: its duties and whether each is met, requests open and due,
consent coverage, disclosures by provider, and the last audit verification. The report is a list
of sections, each made by one function of ``SECTIONS``: add a function to add a section."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from math import ceil
from uuid import UUID

from seva_crm.core.models import BreachIncident, Consent, Customer, PrivacyRequest, SchedulerLease, Tenant
from seva_crm.core.platform import audit, audit_checkpoints
from seva_crm.core.privacy.audit_schedule import last_verification
from seva_crm.core.privacy.disclosures import tenant_disclosures_by_provider
from seva_crm.core.privacy.notices import latest_notice
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.privacy.profile import get_profile, purposes_of
from seva_crm.core.privacy.requests import OPEN

MET, NOT_MET, INFO, NOT_AVAILABLE = "met", "not_met", "info", "not_available"


@dataclass
class Item:
    label: str
    value: str
    status: str = INFO  # met, not_met or info
    detail: str = ""


@dataclass
class Section:
    key: str
    title: str
    items: list[Item] = field(default_factory=list)
    status: str = INFO  # not_met if any item is; not_available for a section that has no data source yet

    def close(self) -> Section:
        if self.status != NOT_AVAILABLE and any(i.status in (MET, NOT_MET) for i in self.items):
            self.status = NOT_MET if any(i.status == NOT_MET for i in self.items) else MET
        return self


def _yes(ok: bool) -> str:
    return MET if ok else NOT_MET


async def duties(tenant_id: UUID, now: datetime) -> Section:
    section = Section("duties", "Duties")
    profile = await get_profile(tenant_id)
    contact = bool(profile.contact_name and (profile.contact_email or profile.contact_phone))
    section.items.append(Item("Grievance contact published", "set" if contact else "missing", _yes(contact),
                              "privacyProfileUpdate(contactName, contactEmail or contactPhone)"))
    policy = await tenant_policy(tenant_id)
    for language in sorted(policy.notice_requirements().languages):
        notice = await latest_notice(tenant_id, language)
        section.items.append(Item(f"Consent notice in {language}", f"version {notice.version}" if notice else "none",
                                  _yes(notice is not None)))
    late = []
    for incident in await BreachIncident.filter(tenant_id=tenant_id):
        for duty in incident.obligations:
            due = datetime.fromisoformat(duty["due_at"])
            done = datetime.fromisoformat(duty["done_at"]) if duty.get("done_at") else None
            if (done or now) > due:
                late.append(duty["key"])
    section.items.append(Item("Breach notifications on time", f"{len(late)} late" if late else "all on time",
                              _yes(not late), ", ".join(late)))
    lease = await SchedulerLease.get_or_none(name="retention.kept_records")
    ran = lease is not None and lease.last_run_at is not None and now - lease.last_run_at <= timedelta(days=2)
    section.items.append(Item("Retention job ran (last 2 days)", lease.last_run_at.isoformat() if lease and lease.last_run_at
                              else "never", _yes(ran)))
    at = audit_checkpoints.last_checkpoint_at(audit.chain_of(tenant_id))
    recent = at is not None and now - at <= timedelta(days=1)
    section.items.append(Item("Audit log checkpointed (last day)", at.isoformat() if at else "never", _yes(recent)))
    return section.close()


async def requests(tenant_id: UUID, now: datetime) -> Section:
    section = Section("requests", "Privacy requests open")
    for r in await PrivacyRequest.filter(tenant_id=tenant_id, status__in=OPEN).order_by("due_at"):
        days = ceil((r.due_at - now).total_seconds() / 86400)
        section.items.append(Item(f"{r.kind} ({r.status})", f"{days} days left" if days >= 0 else f"{-days} days overdue",
                                  _yes(days >= 0), f"due {r.due_at.date().isoformat()}; {r.due_citation}"))
    if not section.items:
        section.items.append(Item("Open requests", "none"))
    return section.close()


async def consent_coverage(tenant_id: UUID, now: datetime) -> Section:
    section = Section("consent", "Consent coverage by purpose")
    total = await Customer.filter(tenant_id=tenant_id, deleted_at__isnull=True).count()
    newest: dict[tuple, bool] = {}
    for customer_id, purpose, granted in await Consent.filter(tenant_id=tenant_id).order_by("created_at", "id") \
            .values_list("customer_id", "purpose", "granted"):
        newest[(customer_id, purpose)] = granted  # the newest entry for each customer and purpose wins
    for purpose in await purposes_of(tenant_id):
        given = sum(1 for (c, p), g in newest.items() if p == purpose and g)
        section.items.append(Item(purpose, f"{given} of {total} customers"))
    return section.close()


async def disclosures(tenant_id: UUID, now: datetime) -> Section:
    """Disclosures by provider over the last year, from the disclosure ledger (what left through
    a plugin: messages, payment links, exports)."""
    section = Section("disclosures", "Disclosures by provider (last 12 months)")
    for found in await tenant_disclosures_by_provider(tenant_id, now - timedelta(days=365)):
        section.items.append(Item(found.recipient, f"{found.count} disclosures about {found.customers} customers",
                                  detail=f"{', '.join(found.categories)}; last {found.last_at.date().isoformat()}"))
    if not section.items:
        section.items.append(Item("Disclosures", "none"))
    return section.close()


async def audit_verification(tenant_id: UUID, now: datetime) -> Section:
    section = Section("audit", "Audit log verification")
    found = await last_verification(audit.chain_of(tenant_id))
    if found is None:
        section.items.append(Item("Last verification", "never", NOT_MET, "seva audit verify (daily: audit.verify)"))
    else:
        at, ok = found
        section.items.append(Item("Last verification", f"{at.isoformat()}: {'intact' if ok else 'BROKEN'}",
                                  _yes(ok and now - at <= timedelta(days=2))))
    return section.close()


SECTIONS: list[Callable[[UUID, datetime], Awaitable[Section]]] = [duties, requests, consent_coverage, disclosures,
                                                                   audit_verification]


async def report(tenant_id: UUID, now: datetime) -> list[Section]:
    return [await make(tenant_id, now) for make in SECTIONS]


def render_html(tenant: Tenant, sections: list[Section], now: datetime) -> str:
    """A printable page: inline CSS, no scripts, every value escaped."""
    e = escape
    marks = {MET: "✔ met", NOT_MET: "✘ not met", INFO: "", NOT_AVAILABLE: "not available"}
    body = "".join(
        f"<h2>{e(s.title)} <small>{e(marks[s.status])}</small></h2><table>"
        + "".join(f"<tr class={e(i.status)}><td>{e(i.label)}</td><td>{e(i.value)}</td><td>{e(marks[i.status])}</td>"
                  f"<td>{e(i.detail)}</td></tr>" for i in s.items) + "</table>"
        for s in sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Compliance report: {e(tenant.name)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;color:#222}}table{{width:100%;
border-collapse:collapse}}td{{padding:.3rem;border-bottom:1px solid #ddd}}.not_met td{{color:#a00}}</style></head><body>
<h1>Compliance report: {e(tenant.name)}</h1><p>As of {e(now.isoformat(timespec="minutes"))} (UTC)</p>
{body}
</body></html>
"""
