"""Audit anchoring: the head of each chain is checkpointed, signed, in a file outside the database,
so a database writer who removes the newest entries (and sets the head row back), or a whole
tenant's chain, is caught by verification, which names what is wrong."""

import json
import os
import sqlite3
import subprocess
import sys

from tortoise import connections

from seva_crm.core.models import AuditEvent, AuditHead
from seva_crm.core.platform import audit, audit_checkpoints
from seva_crm.core.privacy.audit_schedule import last_verification, verify_and_record
from tests.conftest import is_postgres


def _sql(query: str) -> str:
    return query.replace("?", "$1") if is_postgres() else query


async def _truncate(chain: str, keep: int) -> None:
    """What a database writer can do: delete the newest entries and set the head back to match."""
    conn = connections.get("default")
    await conn.execute_query(_sql("DELETE FROM audit_event WHERE chain = ? AND seq > " + str(keep)), [chain])
    last = await AuditEvent.get(chain=chain, seq=keep)
    await AuditHead.filter(chain=chain).update(seq=last.seq, hash=last.hash)


async def test_truncation_after_a_checkpoint_is_found_and_named(tenant, tmp_path):
    path = tmp_path / "checkpoints.log"
    chain = str(tenant.id)
    for i in range(4):
        await audit.record(tenant.id, "test.event", details={"i": i})
    made = await audit_checkpoints.checkpoint(path=path)
    head = await AuditHead.get(chain=chain)
    assert [(c.seq, c.hash) for c in made if c.chain == chain] == [(head.seq, head.hash)]
    assert (await audit.verify(chain, checkpoints=path)).ok
    assert await audit_checkpoints.checkpoint(path=path, chain=chain) == []  # nothing grew: nothing appended

    await _truncate(chain, head.seq - 2)
    assert (await audit.verify(chain, checkpoints=tmp_path / "none.log")).ok  # the chain alone cannot tell
    result = await audit.verify(chain, checkpoints=path)
    assert not result.ok
    problem = result.breaks[0].describe()
    assert f"the log ends at seq {head.seq - 2}" in problem and f"recorded {head.seq} entries (truncated)" in problem
    # a later checkpoint of the shortened chain does not hide it: the longest one signed counts
    await audit_checkpoints.checkpoint(path=path, chain=chain)
    assert "truncated" in (await audit.verify(chain, checkpoints=path)).breaks[0].problem


async def test_a_deleted_chain_is_found_and_a_retired_one_is_not(make_tenant, tmp_path):
    path = tmp_path / "checkpoints.log"
    gone, closed = await make_tenant(), await make_tenant()
    await audit_checkpoints.checkpoint(path=path)
    entries = await AuditEvent.filter(chain=str(gone.id)).count()
    for tenant in (gone, closed):
        await AuditEvent.filter(chain=str(tenant.id)).delete()
        await AuditHead.filter(chain=str(tenant.id)).delete()
    audit_checkpoints.retire(str(closed.id), path=path)  # what the purge does after the log retention
    result = await audit.verify(checkpoints=path)
    broken = {b.chain: b.describe() for b in result.breaks}
    assert str(closed.id) not in broken
    assert f"the whole chain is missing (checkpointed with {entries} entries" in broken[str(gone.id)]


async def test_a_forged_checkpoint_line_is_reported(tenant, tmp_path):
    path = tmp_path / "checkpoints.log"
    await audit_checkpoints.checkpoint(path=path, chain=str(tenant.id))
    line = json.loads(path.read_text())
    path.write_text(json.dumps({**line, "seq": 1}) + "\n")  # someone edits the file without the instance's key
    result = await audit.verify(str(tenant.id), checkpoints=path)
    assert "line 1 of the checkpoint file is not signed by this instance" in result.breaks[0].describe()


async def test_verification_is_recorded_for_the_compliance_report(tenant, tmp_path):
    await audit.record(tenant.id, "test.event")
    result = await verify_and_record(chain=str(tenant.id), path=tmp_path / "none.log")
    assert result.ok
    at, ok = await last_verification(str(tenant.id))
    assert ok and at is not None


def test_seva_audit_checkpoint_then_verify_finds_a_deleted_chain(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEVA_")} | {"SEVA_DATA_DIR": str(tmp_path)}

    def seva(*args):
        return subprocess.run([sys.executable, "-m", "seva_crm", *args], capture_output=True, text=True, env=env, timeout=120)

    assert seva("migrate").returncode == 0
    created = seva("tenant", "create", "--name", "Anchor Co", "--region", "IN", "--owner-email", "o@anchor.example.com",
                   "--owner-password", "long-enough-pw")
    assert created.returncode == 0, created.stderr
    assert "checkpointed 1 chains" in seva("audit", "checkpoint").stdout  # the tenant's
    assert (tmp_path / "audit-checkpoints.log").stat().st_mode & 0o077 == 0
    with sqlite3.connect(tmp_path / "seva.sqlite3") as db:
        chain = db.execute("SELECT chain FROM audit_head WHERE chain != 'platform'").fetchone()[0]
        db.execute("DELETE FROM audit_event WHERE chain = ?", (chain,))
        db.execute("DELETE FROM audit_head WHERE chain = ?", (chain,))
    broken = seva("audit", "verify")
    assert broken.returncode == 1
    assert f"BROKEN chain {chain}: " in broken.stdout and "the whole chain is missing" in broken.stdout
