"""The audit log's periodic work: checkpoint every chain's head hourly (``audit_checkpoints``)
and verify every chain daily, recording each verification on the platform chain so that owners
see when their log was last checked (the compliance report)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from seva_crm.core.jobs.schedule import DAY, HOUR, periodic
from seva_crm.core.models import AuditEvent
from seva_crm.core.platform import audit, audit_checkpoints

VERIFIED = "audit.verified"


@periodic("audit.checkpoint", every_seconds=HOUR)
async def checkpoint(now: datetime, path: Path | None = None) -> list[audit_checkpoints.Checkpoint]:
    return await audit_checkpoints.checkpoint(now, path)


@periodic("audit.verify", every_seconds=DAY)
async def verify_and_record(now: datetime | None = None, chain: str | None = None,
                            path: Path | None = None) -> audit.Verification:
    """Verify every chain (or one), then record the outcome on the platform chain."""
    result = await audit.verify(chain, checkpoints=path)
    await audit.record(None, VERIFIED, details={"chains": result.chains, "events": result.events, "ok": result.ok,
                                                "scope": chain or "all",
                                                "broken": sorted({b.chain for b in result.breaks})})
    return result


async def last_verification(chain: str) -> tuple[datetime, bool] | None:
    """When ``chain`` was last verified (alone or with all the others) and whether it was intact."""
    for event in await AuditEvent.filter(chain=audit.PLATFORM, action=VERIFIED).order_by("-seq").limit(50):
        if event.details.get("scope") in ("all", chain):
            return event.at, chain not in event.details.get("broken", [])
    return None
