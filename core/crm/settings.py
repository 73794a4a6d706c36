"""A tenant's CRM settings: the ticket SLA by priority and the lead pipeline's stages."""

from __future__ import annotations

from uuid import UUID

from seva_crm.core.common.enums import TicketPriority
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.models import CrmSettings
from seva_crm.core.platform import audit
from seva_crm.core.storage.transactions import transaction

P = TicketPriority
# minutes to the first response and to resolution, by priority, until the tenant sets its own
DEFAULT_SLA: dict[str, dict[str, int]] = {
    P.URGENT: {"first_response": 60, "resolution": 4 * 60},
    P.HIGH: {"first_response": 4 * 60, "resolution": 24 * 60},
    P.NORMAL: {"first_response": 8 * 60, "resolution": 3 * 24 * 60},
    P.LOW: {"first_response": 24 * 60, "resolution": 7 * 24 * 60},
}
DEFAULT_STAGES = ["new", "contacted", "qualified", "proposal", "won", "lost"]
MAX_MINUTES = 90 * 24 * 60


async def _row(tenant_id: UUID) -> CrmSettings | None:
    return await CrmSettings.get_or_none(tenant_id=tenant_id)


async def sla(tenant_id: UUID) -> dict[str, dict[str, int]]:
    row = await _row(tenant_id)
    return {p.value: {**DEFAULT_SLA[p], **((row.sla if row else {}).get(p.value) or {})} for p in P}


async def lead_stages(tenant_id: UUID) -> list[str]:
    row = await _row(tenant_id)
    return list(row.lead_stages) if row and row.lead_stages else list(DEFAULT_STAGES)


async def set_sla(tenant: TenantScope, priority: TicketPriority, first_response: int, resolution: int) -> dict[str, dict[str, int]]:
    errors = [FieldError(name, ErrorCode.INVALID, f"between 1 and {MAX_MINUTES} minutes")
              for name, value in (("firstResponseMinutes", first_response), ("resolutionMinutes", resolution))
              if not 1 <= value <= MAX_MINUTES]
    if not errors and resolution < first_response:
        errors.append(FieldError("resolutionMinutes", ErrorCode.INVALID, "cannot be sooner than the first response"))
    if errors:
        raise DomainError(*errors)
    await _update(tenant, "sla", lambda row: {**row.sla, P(priority).value: {"first_response": first_response, "resolution": resolution}})
    return await sla(tenant.id)


async def set_lead_stages(tenant: TenantScope, stages: list[str]) -> list[str]:
    cleaned = [s.strip().lower() for s in stages if s and s.strip()]
    if not 2 <= len(cleaned) <= 20 or len(set(cleaned)) != len(cleaned) or any(len(s) > 50 for s in cleaned):
        raise DomainError.of("stages", ErrorCode.INVALID, "2 to 20 distinct stages of at most 50 characters, in order")
    await _update(tenant, "lead_stages", lambda row: cleaned)
    return cleaned


async def _update(tenant: TenantScope, field: str, change) -> None:
    async with transaction():
        row, _ = await CrmSettings.get_or_create(tenant_id=tenant.id)
        before = getattr(row, field)
        setattr(row, field, change(row))
        await row.save(update_fields=[field, "updated_at"])
        await audit.record(tenant.id, f"crm_settings.{field}", subject_type="crm_settings", subject_id=row.id, changed=[field],
                           details={"before": before, "after": getattr(row, field)})
