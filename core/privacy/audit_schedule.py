"""The audit log's periodic work: checkpoint every chain's head hourly (``audit_checkpoints``),
tell each tenant's active owners the head of their chain by email with every checkpoint, and
verify every chain daily, recording each verification on the platform chain so that owners see
when their log was last checked (the compliance report).

The checkpoint file is signed with a key the database does not hold; the owners' mail is a second
copy held outside the instance altogether: once sent, nothing a database writer (or the operator
of the data directory) does changes what the owners hold, and the entry count and hash in it are
the ones ``seva audit verify`` compares the chain with."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from uuid import UUID

from seva_crm.core.common.enums import Role
from seva_crm.core.jobs.schedule import DAY, HOUR, periodic
from seva_crm.core.messaging.channel_registry import channel_of_kind
from seva_crm.core.messaging.outbox import queue_message
from seva_crm.core.messaging.templates import get_template, render, render_subject
from seva_crm.core.models import AuditEvent, Tenant, User
from seva_crm.core.platform import audit, audit_checkpoints
from seva_crm.core.platform.channels import Purpose
from seva_crm.core.privacy.notify import local_datetime
from seva_crm.core.storage.transactions import transaction

log = logging.getLogger("seva.audit")
VERIFIED = "audit.verified"
TEMPLATE = "audit_checkpoint"  # its text and mail subject, in every language: core.messaging.templates


@periodic("audit.checkpoint", every_seconds=HOUR)
async def checkpoint(now: datetime, path: Path | None = None, chain: str | None = None) -> list[audit_checkpoints.Checkpoint]:
    """Checkpoint every chain that grew (or one) to the signed file, then mail each tenant's
    owners the head of theirs."""
    made = await audit_checkpoints.checkpoint(now, path, chain)
    for entry in made:
        if entry.chain == audit.PLATFORM:
            continue  # no tenant, no owners: the file holds it
        try:
            await tell_owners(entry)
        except Exception:  # noqa: BLE001 - one tenant's mail does not stop the others'; the file holds its head
            log.exception("audit checkpoint of chain %s not mailed to its owners", entry.chain)
    return made


async def tell_owners(entry: audit_checkpoints.Checkpoint) -> list[UUID]:
    """Queue one message to each active owner of the tenant whose chain ``entry`` checkpointed,
    by email, in the tenant's language, under the business's name: the entry count, the last
    entry's hash and when. Returns the messages' ids."""
    tenant = await Tenant.get_or_none(id=UUID(entry.chain)).only("id", "name", "locale")
    if tenant is None:
        return []
    template = await get_template(tenant.id, TEMPLATE)
    language = tenant.locale.split("-", 1)[0]
    values = {"business": tenant.name, "count": str(entry.seq), "hash": entry.hash,
              "at": await local_datetime(tenant.id, entry.at, language)}
    values["subject"] = render_subject(template, values, language)
    owners = await User.filter(tenant_id=tenant.id, is_active=True, role=Role.OWNER).exclude(email="").order_by("id")
    if owners and await channel_of_kind(tenant.id, "email") is None:
        # no email channel (the email plugin off): a message would only fail; the file holds the head
        await audit.record(None, "audit.checkpoint_unsent", subject_type="tenant", subject_id=tenant.id, actor=audit.SYSTEM,
                           details={"seq": entry.seq, "hash": entry.hash, "at": entry.at.isoformat(),
                                    "reason": "the tenant has no email channel"})
        return []
    ids = []
    async with transaction():
        for owner in owners:
            message = await queue_message(tenant.id, None, user_id=owner.id, purpose=Purpose.SERVICE, template=template.key,
                                          body=render(template, values, language), variables=values, only_channel="email",
                                          idempotency_key=f"audit-checkpoint:{entry.chain}:{entry.seq}:{entry.hash[:16]}:{owner.id}")
            ids.append(message.id)
        if ids:  # on the platform chain: an entry on the tenant's would make it grow, and be mailed, every run
            await audit.record(None, "audit.checkpoint_sent", subject_type="tenant", subject_id=tenant.id,
                               details={"seq": entry.seq, "hash": entry.hash, "at": entry.at.isoformat(),
                                        "recipients": [str(o.id) for o in owners], "messages": [str(i) for i in ids]},
                               actor=audit.SYSTEM)
    return ids


@periodic("audit.verify", every_seconds=DAY)
async def verify_daily(now: datetime) -> int:
    """The daily job: every chain verified and recorded; returns how many chains (a periodic job
    returns a count, see ``core.jobs.schedule.periodic``)."""
    return (await verify_and_record(now)).chains


async def verify_and_record(now: datetime | None = None, chain: str | None = None,
                            path: Path | None = None) -> audit.Verification:
    """Verify every chain (or one), then record the outcome on the platform chain."""
    result = await audit.verify(chain, checkpoints=path)
    await audit.record(None, VERIFIED, details={"chains": result.chains, "events": result.events, "ok": result.ok,
                                                "scope": chain or "all",
                                                "broken": sorted({b.chain for b in result.breaks})})
    return result


async def last_verification(chain: str) -> tuple[datetime, bool] | None:
    """When ``chain`` was last verified (alone or with all the others) and whether it was intact.
    Only a verification recorded after the chain's first entry counts: one of every chain that
    ran before a tenant existed says nothing of the tenant's log (entry ids follow insertion)."""
    first = await AuditEvent.filter(chain=chain).order_by("seq").first().values_list("id", flat=True)
    if first is None:
        return None  # nothing logged, nothing verified
    for event in await AuditEvent.filter(chain=audit.PLATFORM, action=VERIFIED, id__gt=first).order_by("-seq").limit(50):
        if event.details.get("scope") in ("all", chain):
            return event.at, chain not in event.details.get("broken", [])
    return None
