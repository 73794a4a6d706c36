"""Service record changes that tell the customer: creating or updating a record through these
queues the status rule's message (core.crm.status_rules) in the same transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from seva_crm.core.common.principal import TenantScope
from seva_crm.core.crm import status_rules
from seva_crm.core.customers import service_records
from seva_crm.core.models import ServiceRecord
from seva_crm.core.storage.transactions import transaction


async def create_service_record(tenant: TenantScope, customer_id: UUID | None, data: dict[str, Any]) -> ServiceRecord:
    async with transaction():
        record = await service_records.create_service_record(tenant, customer_id, data)
        await _notify(tenant, record)
    return record


async def update_service_record(tenant: TenantScope, record_id: UUID | None, changes: dict[str, Any]) -> ServiceRecord:
    async with transaction():
        before = (await service_records.get_service_record(tenant.id, record_id)).status
        record = await service_records.update_service_record(tenant, record_id, changes)
        if record.status != before:
            await _notify(tenant, record)
    return record


async def _notify(tenant: TenantScope, record: ServiceRecord) -> None:
    await status_rules.notify(tenant.id, status_rules.SERVICE_RECORD, record.status.value, record.customer_id, record.id,
                              {"service": record.service_name, "reference": record.reference_number})
