"""Checkpoints of the audit chains, kept where a database writer alone cannot rewrite them.

The hash chain finds any changed or removed entry in the middle of a chain, but someone who can
write to the database could delete the newest entries (and set the head row back to match) or a
whole tenant's chain, and what is left would still verify. So the head of every chain (its entry
count and last hash) is checkpointed: one JSON line per chain appended to
``SEVA_DATA_DIR/audit-checkpoints.log``, signed with an HMAC key derived from the instance secret
(``SEVA_SECRET_KEY``, which the database does not hold). Verification compares each chain with
its newest checkpoint: fewer entries, a different hash at the checkpointed entry, or no chain at
all is reported. A chain deleted on purpose (a closed tenant's log after its retention) is
retired with a signed line of its own."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from seva_crm.core.common.security import derive_key, utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.models.audit import AuditHead

FILE_NAME = "audit-checkpoints.log"


@dataclass(frozen=True)
class Checkpoint:
    chain: str
    seq: int  # entries in the chain when checkpointed
    hash: str  # the hash of entry ``seq``
    at: datetime
    retired: bool = False  # the chain was deleted on purpose


@dataclass
class CheckpointFile:
    latest: dict[str, Checkpoint]  # per chain: the newest checkpoint (or retirement)
    bad_lines: list[int]  # line numbers whose signature does not verify


def default_path() -> Path:
    return get_settings().data_dir / FILE_NAME


@lru_cache(maxsize=1)
def _key() -> bytes:
    return derive_key("audit-checkpoint")


def _sign(body: dict) -> str:
    return hmac.new(_key(), json.dumps(body, sort_keys=True, separators=(",", ":")).encode(), hashlib.sha256).hexdigest()


def _append(lines: list[dict], path: Path | None) -> None:
    path = path or default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps({**body, "sig": _sign(body)}, sort_keys=True) + "\n" for body in lines).encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


async def checkpoint(now: datetime | None = None, path: Path | None = None, chain: str | None = None) -> list[Checkpoint]:
    """Append the head of every chain (or one) that grew since its last checkpoint."""
    now = now or utcnow()
    known = read(path).latest
    heads = await (AuditHead.filter(chain=chain) if chain else AuditHead.all()).order_by("chain")
    made = [Checkpoint(h.chain, h.seq, h.hash, now) for h in heads
            if h.seq and (h.chain not in known or known[h.chain].seq != h.seq or known[h.chain].retired)]
    if made:
        _append([{"kind": "checkpoint", "chain": c.chain, "seq": c.seq, "hash": c.hash, "at": c.at.isoformat()} for c in made],
                path)
    return made


def retire(chain: str, now: datetime | None = None, path: Path | None = None) -> None:
    """Record that ``chain`` was deleted on purpose: verification stops expecting it."""
    _append([{"kind": "retired", "chain": chain, "seq": 0, "hash": "", "at": (now or utcnow()).isoformat()}], path)


def read(path: Path | None = None) -> CheckpointFile:
    path = path or default_path()
    result = CheckpointFile({}, [])
    if not path.exists():
        return result
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            body = json.loads(line)
            sig = body.pop("sig")
            entry = Checkpoint(body["chain"], int(body["seq"]), body["hash"], datetime.fromisoformat(body["at"]),
                               body["kind"] == "retired")
        except (ValueError, KeyError, TypeError, AttributeError):
            result.bad_lines.append(number)
            continue
        if not hmac.compare_digest(str(sig), _sign(body)):
            result.bad_lines.append(number)
            continue
        previous = result.latest.get(entry.chain)
        if entry.retired or previous is None or previous.retired or entry.seq >= previous.seq:
            result.latest[entry.chain] = entry
    return result


def last_checkpoint_at(chain: str, path: Path | None = None) -> datetime | None:
    entry = read(path).latest.get(chain)
    return entry.at if entry and not entry.retired else None
