"""Status notifications: when a service record, a ticket or a subscription enters a status, the
tenant's rule for it sends a template to the customer through the outbox, with the outbox's usual
channel and consent rules. Service records and tickets call ``notify`` in the transaction of the
change (so a rollback sends nothing); subscriptions are billing's, so their rules listen to the
``subscription.*`` domain events billing emits in the transaction of each status change
(``subscription_entered``, an in-transaction listener), and queue the message in that transaction:
the message commits with the change, or neither does.

A built-in default applies until the tenant sets its own rule for that subject and status
(``set_rule``; ``enabled: false`` turns a default off). A rule's template must be a service
template whose variables the subject provides (``VARIABLES``), so a status change never fails
for want of a variable."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from seva_crm.core.common.enums import ServiceStatus, SubscriptionStatus, TicketStatus
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.messaging import outbox, templates
from seva_crm.core.models import Customer, Plan, StatusRule, Subscription, Tenant
from seva_crm.core.platform import audit, events
from seva_crm.core.platform.plugin_types import DomainEvent
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.storage.transactions import transaction

SERVICE_RECORD, TICKET, SUBSCRIPTION = "service_record", "ticket", "subscription"
TICKET_STATUSES = tuple(s.value for s in TicketStatus)
STATUSES: dict[str, tuple[str, ...]] = {
    SERVICE_RECORD: tuple(s.value for s in ServiceStatus),
    TICKET: TICKET_STATUSES,
    SUBSCRIPTION: tuple(s.value for s in SubscriptionStatus),
}
# what each subject gives a template, besides {name} (the customer's) and {centre} (the tenant's)
VARIABLES: dict[str, set[str]] = {
    SERVICE_RECORD: {"name", "centre", "service", "status", "reference"},
    TICKET: {"name", "centre", "ticket", "number", "status"},
    SUBSCRIPTION: {"name", "centre", "business", "plan", "status"},  # business: as billing's own templates call the centre
}
# billing's events that carry a subscription's new status (data: status, and previous when known)
SUBSCRIPTION_EVENTS = frozenset({"subscription.changed", "subscription.suspended", "subscription.reactivated"})
# a status as the customer reads it (the {status} variable), in their language
STATUS_WORDS: dict[str, dict[str, str]] = {
    "en": {"in_progress": "in progress", "past_due": "past due"},
    "hi": {"requested": "प्राप्त", "in_progress": "प्रगति पर", "ready": "तैयार", "delivered": "सौंपा गया",
           "cancelled": "रद्द", "open": "खुला", "waiting": "प्रतीक्षा में", "resolved": "हल हो गया", "closed": "बंद",
           "trialing": "परीक्षण पर", "active": "चालू", "past_due": "बकाया", "suspended": "निलंबित", "paused": "रुका हुआ",
           "expired": "समाप्त"},
    "bn": {"requested": "গৃহীত", "in_progress": "চলমান", "ready": "প্রস্তুত", "delivered": "হস্তান্তরিত",
           "cancelled": "বাতিল", "open": "খোলা", "waiting": "অপেক্ষমাণ", "resolved": "সমাধান হয়েছে", "closed": "বন্ধ",
           "trialing": "পরীক্ষামূলক", "active": "চালু", "past_due": "বকেয়া", "suspended": "স্থগিত", "paused": "বিরতিতে",
           "expired": "মেয়াদোত্তীর্ণ"},
}
DEFAULTS: dict[tuple[str, str], str] = {
    (SERVICE_RECORD, "ready"): "document_ready",
    (TICKET, "in_progress"): "ticket_status",
    (TICKET, "resolved"): "ticket_status",
}


async def rules(tenant_id: UUID) -> list[dict[str, Any]]:
    """Every rule in force or switched off: the tenant's, and the defaults it has not replaced."""
    own = {(r.subject, r.status): r for r in await StatusRule.filter(tenant_id=tenant_id)}
    out = [{"subject": r.subject, "status": r.status, "template": r.template, "enabled": r.enabled, "default": False}
           for r in own.values()]
    out += [{"subject": s, "status": st, "template": t, "enabled": True, "default": True}
            for (s, st), t in DEFAULTS.items() if (s, st) not in own]
    return sorted(out, key=lambda r: (r["subject"], STATUSES[r["subject"]].index(r["status"])))


async def set_rule(tenant: TenantScope, subject: str, status: str, template: str, enabled: bool = True) -> dict[str, Any]:
    errors: list[FieldError] = []
    if subject not in STATUSES:
        raise DomainError.of("subject", ErrorCode.INVALID, f"one of {', '.join(STATUSES)}")
    if status not in STATUSES[subject]:
        errors.append(FieldError("status", ErrorCode.INVALID, f"one of {', '.join(STATUSES[subject])}"))
    found = await templates.find_template(tenant.id, template)
    if found is None:
        errors.append(FieldError("template", ErrorCode.NOT_FOUND, "no such template"))
    elif found.purpose is not Purpose.SERVICE:
        errors.append(FieldError("template", ErrorCode.INVALID, "status notifications are service messages: "
                                 "a marketing template needs consent"))
    elif missing := sorted(set(found.variables) - VARIABLES[subject]):
        errors.append(FieldError("template", ErrorCode.MISSING_VARIABLE,
                                 f"a {subject} cannot fill {', '.join(missing)}; it gives {', '.join(sorted(VARIABLES[subject]))}"))
    if errors:
        raise DomainError(*errors)
    async with transaction():
        row, _ = await StatusRule.update_or_create(
            {"template": template, "enabled": enabled}, tenant_id=tenant.id, subject=subject, status=status)
        await audit.record(tenant.id, "status_rule.set", subject_type="status_rule", subject_id=row.id,
                           changed=["template", "enabled"],
                           details={"subject": subject, "status": status, "template": template, "enabled": enabled})
    return {"subject": subject, "status": status, "template": template, "enabled": enabled, "default": False}


async def notify(tenant_id: UUID, subject: str, status: str, customer_id: UUID | None, subject_id: UUID,
                 variables: dict[str, Any], occurrence: str = "") -> None:
    """Queue the rule's message for a subject that entered ``status`` (call inside the change's
    ``transaction()``). Nothing if no rule is in force or the customer is gone. ``occurrence``
    tells one entry into a status from the next, for subjects that may enter it again."""
    row = await StatusRule.get_or_none(tenant_id=tenant_id, subject=subject, status=status)
    key = (row.template if row.enabled else None) if row else DEFAULTS.get((subject, status))
    if key is None or customer_id is None:
        return
    customer = await Customer.get_or_none(tenant_id=tenant_id, id=customer_id, deleted_at__isnull=True)
    template = await templates.find_template(tenant_id, key)
    if customer is None or template is None or template.purpose is not Purpose.SERVICE:
        return
    centre = await Tenant.filter(id=tenant_id).first().values_list("name", flat=True)
    language = customer.language.value
    word = STATUS_WORDS.get(language, {}).get(status) or STATUS_WORDS["en"].get(status, status)
    given = {"centre": centre, "business": centre, **variables, "name": customer.name, "status": word}
    if set(template.variables) - set(given):  # a tenant's template changed since the rule was set
        return
    body = templates.render(template, given, language)
    await outbox.queue_message(tenant_id, customer.id, purpose=Purpose.SERVICE, template=template.key, body=body,
                               variables={k: v for k, v in given.items() if k in template.variables},
                               idempotency_key=f"status-{subject_id.hex}-{status}{'-' + occurrence if occurrence else ''}")


@events.listen_in_transaction(SUBSCRIPTION_EVENTS)
async def subscription_entered(event: DomainEvent) -> None:
    """A subscription's status changed (billing's event, inside the change's transaction): apply
    the tenant's rule for the status it entered. Billing emits one event per change, so each entry
    is told once; a status entered again later (active after a suspension) is told again."""
    status = event.data.get("status")
    if event.name not in SUBSCRIPTION_EVENTS or status not in STATUSES[SUBSCRIPTION] or event.data.get("previous") == status:
        return
    sub = await Subscription.get_or_none(tenant_id=event.tenant_id, id=event.subject_id).only("id", "customer_id", "plan_id")
    if sub is None:
        return
    plan = await Plan.filter(tenant_id=event.tenant_id, id=sub.plan_id).first().values_list("name", flat=True)
    occurrence = f"{event.occurred_at.timestamp():.6f}"
    await notify(event.tenant_id, SUBSCRIPTION, status, sub.customer_id, sub.id, {"plan": plan or ""}, occurrence)
