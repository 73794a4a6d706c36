"""``seva billing run``: the periodic billing work for a given date, on demand: to catch up after
downtime, or (``dry_run``) to see what a run would do.

The run's instant is 12:00 UTC on the date given: the same calendar day in India (+05:30) and
Bangladesh (+06:00). Steps, in order: renewals (invoices and period roll-overs), overdue (past
due), suspensions, reminders; each is the scheduler's own idempotent job, so a second run for
the same date does nothing. A dry run does all of it in one transaction that is rolled back:
nothing is written, and nothing is sent or enqueued (those wait for a commit that never comes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from uuid import UUID

from seva_crm.core.billing.periodic import mark_overdue, run_renewals, suspend_after_grace
from seva_crm.core.billing.reminders import due_reminders
from seva_crm.core.storage.transactions import transaction


@dataclass(frozen=True)
class Done:
    step: str  # renewals, overdue, suspensions, reminders
    subject: str  # subscription or invoice
    id: UUID
    what: str  # invoiced, renewed, expired, past_due, suspended, due_soon, overdue


class _DryRun(Exception):
    pass


def instant(as_of: date) -> datetime:
    return datetime.combine(as_of, time(12), tzinfo=UTC)


async def _steps(now: datetime, tenant_id: UUID | None) -> list[Done]:
    done = [Done("renewals", "subscription", sid, what) for sid, what in await run_renewals(now, tenant_id)]
    done += [Done("overdue", "subscription", sid, "past_due") for sid in await mark_overdue(now, tenant_id)]
    done += [Done("suspensions", "subscription", sid, "suspended") for sid in await suspend_after_grace(now, tenant_id)]
    done += [Done("reminders", "invoice", iid, kind.value) for iid, kind in await due_reminders(now, tenant_id)]
    return done


async def billing_run(as_of: date, tenant_id: UUID | None = None, *, dry_run: bool = False) -> list[Done]:
    """What the run did (or, dry, would do) on ``as_of``, for one tenant or all."""
    now = instant(as_of)
    if not dry_run:
        return await _steps(now, tenant_id)
    found: list[Done] = []
    try:
        async with transaction():
            found = await _steps(now, tenant_id)
            raise _DryRun
    except _DryRun:
        pass
    return found
