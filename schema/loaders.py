"""Per-request DataLoaders: nested fields cost one query per page, not one per row."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

from strawberry.dataloader import DataLoader

from core.models import Customer, ServiceRecord


class Loaders:
    def __init__(self, tenant_id: UUID | None) -> None:
        self.tenant_id = tenant_id
        self.service_records_by_customer = DataLoader(self._service_records_by_customer)
        self.customer = DataLoader(self._customers)

    async def _service_records_by_customer(self, customer_ids: list[UUID]) -> list[list[ServiceRecord]]:
        grouped: dict[UUID, list[ServiceRecord]] = defaultdict(list)
        # Sorted here, not in SQL: the (tenant_id, customer_id, ...) index then serves the lookup
        # whatever the planner's statistics say.
        rows = await ServiceRecord.filter(tenant_id=self.tenant_id, customer_id__in=customer_ids)
        rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        for row in rows:
            grouped[row.customer_id].append(row)
        return [grouped[cid] for cid in customer_ids]

    async def _customers(self, ids: list[UUID]) -> list[Customer | None]:
        found = {c.id: c for c in await Customer.filter(tenant_id=self.tenant_id, id__in=ids)}
        return [found.get(i) for i in ids]
