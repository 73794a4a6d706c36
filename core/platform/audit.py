"""The audit log: who did what to whose data. Append-only and hash-chained per tenant.

Each entry's hash is an HMAC (key derived from the instance secret) over a canonical JSON form
of the entry and the previous entry's hash, so changing, removing or reordering a row breaks
every later link, and the chain cannot be re-forged without the secret. Writers lock the
chain's head row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises transactions), so
concurrent writers of one tenant append one at a time. Personal values never enter the log:
only field names, non-personal values, and keyed digests (``personal``)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from seva_crm.core.models.audit import AuditEvent, AuditHead
from seva_crm.core.platform import audit_checkpoints
from seva_crm.core.platform.audit_checkpoints import Checkpoint
from seva_crm.core.common.security import derive_key, digest, utcnow

PLATFORM = "platform"
GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff ``user``, an ``api_key``, the ``system`` (jobs, CLI), a data ``subject``
    on the public endpoints, or a signed ``link``."""

    type: str
    id: str = ""
    ip: str = ""
    user_agent: str = ""


SYSTEM = Actor("system")
_actor: ContextVar[Actor] = ContextVar("seva_audit_actor", default=SYSTEM)


def set_actor(actor: Actor) -> Token:
    """Attribute the audit entries of the current request (or job) to ``actor``."""
    return _actor.set(actor)


def reset_actor(token: Token) -> None:
    _actor.reset(token)


def current_actor() -> Actor:
    return _actor.get()


def actor_for(principal: Any, ip: str = "", user_agent: str = "") -> Actor:
    """The actor behind a core.principal.Principal (or an anonymous caller)."""
    if principal is None:
        return Actor("anonymous", "", ip, user_agent[:300])
    if principal.api_key_id is not None:
        return Actor("api_key", str(principal.api_key_id), ip, user_agent[:300])
    return Actor("user", str(principal.user_id or ""), ip, user_agent[:300])


def personal(value: object) -> str:
    """A keyed digest standing in for a personal value (comparable, not reversible)."""
    return "h:" + digest("" if value is None else str(value), "audit")[:32]


SECRET_CHANGED = "changed"


def setting_changes(before: dict[str, Any], after: dict[str, Any], *, secrets: Iterable[str] = (),
                    personal_keys: Iterable[str] = ()) -> tuple[list[str], dict[str, Any]]:
    """The names of the settings that differ and ``{"before": ..., "after": ...}`` for an audit
    entry: plain values as they are, ``personal_keys`` as keyed digests, ``secrets`` (compared by
    the caller, given as True when changed) only as "changed"."""
    secrets, personal_keys = set(secrets), set(personal_keys)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))

    def show(key: str, value: Any) -> Any:
        if key in secrets:
            return SECRET_CHANGED
        return personal(value) if key in personal_keys and value not in (None, "") else value

    return changed, {"before": {k: show(k, before.get(k)) for k in changed if k not in secrets},
                     "after": {k: show(k, after.get(k)) for k in changed}}


@lru_cache(maxsize=1)
def _chain_key() -> bytes:
    return derive_key("audit-chain")


def _canonical(e: AuditEvent | dict) -> bytes:
    get = e.get if isinstance(e, dict) else lambda k: getattr(e, k)
    at: datetime = get("at")
    body = {
        "chain": get("chain"),
        "seq": int(get("seq")),
        "tenant_id": str(get("tenant_id")) if get("tenant_id") else None,
        "at": at.astimezone(timezone.utc).isoformat(timespec="microseconds"),
        "actor_type": get("actor_type"),
        "actor_id": get("actor_id"),
        "action": get("action"),
        "subject_type": get("subject_type"),
        "subject_id": get("subject_id"),
        "changed": list(get("changed")),
        "details": get("details"),
        "ip": get("ip"),
        "user_agent": get("user_agent"),
        "prev_hash": get("prev_hash"),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def event_hash(e: AuditEvent | dict) -> str:
    return hmac.new(_chain_key(), _canonical(e), hashlib.sha256).hexdigest()


def chain_of(tenant_id: UUID | None) -> str:
    return str(tenant_id) if tenant_id else PLATFORM


async def record(
    tenant_id: UUID | None,
    action: str,
    *,
    subject_type: str = "",
    subject_id: object = "",
    changed: Iterable[str] = (),
    details: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEvent:
    """Append one entry to the tenant's chain (the platform's when ``tenant_id`` is None).
    Inside a caller's transaction it commits or rolls back with the change it records."""
    actor = actor or current_actor()
    chain = chain_of(tenant_id)
    await AuditHead.get_or_create(chain=chain, defaults={"seq": 0, "hash": GENESIS})
    async with in_transaction():
        head = await AuditHead.filter(chain=chain).select_for_update().get()
        values = {
            "chain": chain,
            "seq": head.seq + 1,
            "tenant_id": tenant_id,
            "at": utcnow(),
            "actor_type": actor.type,
            "actor_id": actor.id,
            "action": action,
            "subject_type": subject_type,
            "subject_id": str(subject_id or ""),
            "changed": sorted(changed),
            "details": details or {},
            "ip": actor.ip,
            "user_agent": actor.user_agent,
            "prev_hash": head.hash,
        }
        values["hash"] = event_hash(values)
        event = await AuditEvent.create(**values)
        await AuditHead.filter(chain=chain).update(seq=values["seq"], hash=values["hash"])
    return event


@dataclass
class Break:
    chain: str
    seq: int
    event_id: int | None
    problem: str

    def describe(self) -> str:
        where = f"event {self.event_id} (seq {self.seq})" if self.event_id is not None else f"seq {self.seq}"
        return f"chain {self.chain}: {where}: {self.problem}"


@dataclass
class Verification:
    chains: int = 0
    events: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


async def verify(chain: str | None = None, batch: int = 1000, checkpoints: Path | None = None) -> Verification:
    """Walk every chain (or one) from its first entry; report the first broken link of each, and
    whatever the newest signed checkpoint of each chain says is missing (``audit_checkpoints``)."""
    saved = audit_checkpoints.read(checkpoints)
    expected = {name for name, c in saved.latest.items() if not c.retired}
    chains = [chain] if chain else sorted(
        set(await AuditHead.all().values_list("chain", flat=True))
        | set(await AuditEvent.all().distinct().values_list("chain", flat=True))
        | expected
    )
    result = Verification()
    for line in saved.bad_lines:
        result.breaks.append(Break("checkpoints", 0, None, f"line {line} of the checkpoint file is not signed by this instance"))
    for name in chains:
        result.chains += 1
        problem = await _verify_chain(name, batch, result, saved.latest.get(name))
        if problem:
            result.breaks.append(problem)
    return result


async def _verify_chain(chain: str, batch: int, result: Verification, checkpoint: Checkpoint | None) -> Break | None:
    prev_hash, expected_seq, last_seq = GENESIS, 1, 0
    at_checkpoint = None  # the hash of the entry the checkpoint names
    after = 0
    while True:
        rows = await AuditEvent.filter(chain=chain, seq__gt=after).order_by("seq").limit(batch)
        if not rows:
            break
        for row in rows:
            result.events += 1
            if row.seq != expected_seq:
                return Break(chain, expected_seq, None, f"entry missing (next entry present is seq {row.seq}, event {row.id})")
            if row.prev_hash != prev_hash:
                return Break(chain, row.seq, row.id, "link to the previous entry does not match")
            if not hmac.compare_digest(row.hash, event_hash(row)):
                return Break(chain, row.seq, row.id, "entry was changed after it was written (hash mismatch)")
            if checkpoint is not None and row.seq == checkpoint.seq:
                at_checkpoint = row.hash
            prev_hash, expected_seq, last_seq = row.hash, row.seq + 1, row.seq
        after = rows[-1].seq
    head = await AuditHead.get_or_none(chain=chain)
    if checkpoint is not None and not checkpoint.retired:
        when = checkpoint.at.isoformat(timespec="seconds")
        if last_seq == 0 and head is None:
            return Break(chain, checkpoint.seq, None, f"the whole chain is missing (checkpointed with {checkpoint.seq} entries "
                                                      f"at {when})")
        if last_seq < checkpoint.seq:
            return Break(chain, last_seq + 1, None, f"entries removed from the end: the log ends at seq {last_seq} but the "
                                                    f"checkpoint of {when} recorded {checkpoint.seq} entries (truncated)")
        if at_checkpoint is None or not hmac.compare_digest(at_checkpoint, checkpoint.hash):
            return Break(chain, checkpoint.seq, None, f"entry seq {checkpoint.seq} is not the one checkpointed at {when} "
                                                      "(the log was rewritten)")
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        return Break(chain, head.seq, None, f"the log ends at seq {last_seq} but its head records seq {head.seq} (entries removed)")
    return None


async def events_for(tenant_id: UUID, subject_type: str, subject_id: object) -> list[AuditEvent]:
    return await AuditEvent.filter(
        tenant_id=tenant_id, subject_type=subject_type, subject_id=str(subject_id)
    ).order_by("seq")
