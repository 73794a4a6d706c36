"""Records kept after an erasure (tax records, consent proof, traffic logs, request records) are
kept only until the date the law names: this daily job runs each erased customer's erasure again
with today's date, so the policy now decides ERASE for whatever has passed its date, and the
sources delete it. Erasure is idempotent, so records still within their period stay as they are."""

from __future__ import annotations

from datetime import datetime

from seva_crm.core.jobs.schedule import DAY, periodic
from seva_crm.core.models import Customer
from seva_crm.core.platform import audit
from seva_crm.core.privacy.erasure import erase_core
from seva_crm.core.privacy.policy import tenant_policy


@periodic("retention.kept_records", every_seconds=DAY)
async def erase_expired(now: datetime) -> list[dict]:
    """Erase the kept records of erased customers whose legal date has passed; one audit entry
    per customer that lost any (tables and counts, no personal data)."""
    done = []
    today = now.date()
    for tenant_id, customer_id in await Customer.filter(erased_at__isnull=False).order_by("tenant_id", "id") \
            .values_list("tenant_id", "id"):
        entries = await erase_core(tenant_id, customer_id, await tenant_policy(tenant_id), today)
        # what an earlier pass erased is gone: any ERASE now is a record whose date has passed
        erased = {e["table"]: e["count"] for e in entries if e["disposition"] == "erase" and e["count"]}
        if erased:
            await audit.record(tenant_id, "retention.kept_records_erased", subject_type="customer", subject_id=customer_id,
                               details={"erased": erased, "on": today.isoformat()})
            done.append({"tenant_id": tenant_id, "customer_id": customer_id, "erased": erased})
    return done

