"""Reading the disclosure ledger (``core.platform.disclosures`` writes it): what a subject's
access summary says was shared and with whom, and per provider for a compliance report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from seva_crm.core.common.principal import TenantScope
from seva_crm.core.models import Disclosure


@dataclass(frozen=True)
class ProviderDisclosures:
    provider: str  # the plugin id
    recipient: str  # its name
    count: int  # entries since the given instant
    customers: int  # distinct customers whose data went to it
    categories: list[str]
    first_at: datetime
    last_at: datetime


async def disclosures_by_provider(scope: TenantScope, since: datetime) -> list[ProviderDisclosures]:
    """The tenant's disclosures since ``since``, one summary per provider (by provider id)."""
    return await tenant_disclosures_by_provider(scope.id, since)


async def tenant_disclosures_by_provider(tenant_id: UUID, since: datetime) -> list[ProviderDisclosures]:
    rows = await Disclosure.filter(tenant_id=tenant_id, disclosed_at__gte=since).order_by("disclosed_at")
    grouped: dict[str, list[Disclosure]] = {}
    for row in rows:
        grouped.setdefault(row.provider, []).append(row)
    return [ProviderDisclosures(provider=p, recipient=items[-1].recipient, count=len(items),
                                customers=len({i.customer_id for i in items if i.customer_id}),
                                categories=sorted({c for i in items for c in i.categories}),
                                first_at=items[0].disclosed_at, last_at=items[-1].disclosed_at)
            for p, items in sorted(grouped.items())]


async def shared_with(tenant_id: UUID, customer_id: UUID) -> list[dict[str, Any]]:
    """For the subject's access summary: each recipient of their data, what and how often, with
    the first and last time (UTC, ISO 8601)."""
    rows = await Disclosure.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("disclosed_at")
    grouped: dict[str, list[Disclosure]] = {}
    for row in rows:
        grouped.setdefault(row.provider, []).append(row)
    out = []
    for provider, items in sorted(grouped.items()):
        kinds = sorted({i.subject_type for i in items})
        categories = sorted({c for i in items for c in i.categories})
        out.append({"recipient": items[-1].recipient, "plugin": provider,
                    "what": f"{len(items)} × {', '.join(kinds)}: {', '.join(categories)}",
                    "categories": categories, "count": len(items),
                    "first_at": items[0].disclosed_at.isoformat(), "last_at": items[-1].disclosed_at.isoformat()})
    return out
