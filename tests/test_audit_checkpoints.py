"""Audit anchoring: the head of each chain is checkpointed, signed, in a file outside the database,
so a database writer who removes the newest entries (and sets the head row back), or a whole
tenant's chain, is caught by verification, which names what is wrong."""

import json
import re
import sqlite3
import uuid

from tortoise import connections

from seva_crm.core.common.enums import Role
from seva_crm.core.common.security import utcnow
from seva_crm.core.models import AuditEvent, AuditHead, Message, Tenant, User
from seva_crm.core.platform import audit, audit_checkpoints
from seva_crm.core.privacy.audit_schedule import checkpoint, last_verification, verify_and_record
from tests.conftest import is_postgres
from tests.jobs_support import fast_outbox, settle  # noqa: F401 - fixtures
from tests.smtp_support import smtp, smtp_certs  # noqa: F401 - fixtures
from tests.test_email import email_jobs, parts, use_tenant_server  # noqa: F401 - a fixture


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


def test_seva_audit_checkpoint_then_verify_finds_a_deleted_chain(new_seva):
    cli = new_seva()
    tmp_path = cli.data_dir

    def seva(*args):
        return cli(*args, check=False)

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


async def test_each_checkpoint_reaches_the_tenants_active_owners_by_email(make_tenant, email_jobs, smtp, tmp_path):
    """The head of the chain, mailed to the owners through a real SMTP server, is what `seva audit
    verify` checks the chain against: a database writer cannot take it back from them."""
    path = tmp_path / "checkpoints.log"
    a, b = await make_tenant(name="Anchor Seva Kendra"), await make_tenant(name="Other Centre")
    mute = await make_tenant(name="No Email Centre")  # the email plugin not enabled
    await Tenant.filter(id=a.id).update(locale="hi-IN")  # mail in the tenant's language
    second = await User.create(tenant_id=a.id, email=f"co-owner-{uuid.uuid4().hex[:8]}@example.com", password_hash="x",
                               role=Role.OWNER)
    gone = await User.create(tenant_id=a.id, email=f"ex-owner-{uuid.uuid4().hex[:8]}@example.com", password_hash="x",
                             role=Role.OWNER, is_active=False)
    admin = await User.create(tenant_id=a.id, email=f"admin-{uuid.uuid4().hex[:8]}@example.com", password_hash="x",
                              role=Role.ADMIN)
    for t in (a, b):
        await use_tenant_server(t, smtp)
    await audit_checkpoints.checkpoint(path=path)  # every chain's head so far (the file only)
    for i in range(3):
        await audit.record(a.id, "test.event", details={"i": i})
    await audit.record(mute.id, "test.event")

    made = await checkpoint(utcnow(), path)
    assert sorted(c.chain for c in made) == sorted([str(a.id), str(mute.id)])  # only these chains grew
    made = [c for c in made if c.chain == str(a.id)]
    # without an email channel nothing is queued to fail every hour; the platform chain says so
    assert not await Message.exists(tenant_id=mute.id, template="audit_checkpoint") and smtp.handler.to(mute.owner_email) == []
    unsent = await AuditEvent.filter(chain=audit.PLATFORM, action="audit.checkpoint_unsent").order_by("-seq").first()
    assert unsent.subject_id == str(mute.id) and "no email channel" in unsent.details["reason"]
    sent = await Message.filter(tenant_id=a.id, template="audit_checkpoint")
    assert len(sent) == 2  # one mail to each active owner, for this run
    await settle(*[m.id for m in sent])
    head = await AuditHead.get(chain=str(a.id))
    for owner in (a.owner_email, second.email):
        [mail] = smtp.handler.to(owner)
        text = parts(mail)["text/plain"]
        assert text.startswith("Anchor Seva Kendra: ") and "ऑडिट लॉग" in text  # under the business's name, in Hindi
        assert mail["Subject"].startswith("Anchor Seva Kendra: ऑडिट लॉग चेकपॉइंट")
        count = int(re.search(r"(\d+) प्रविष्टियाँ", text).group(1))
        [hash_] = re.findall(r"\b[0-9a-f]{64}\b", text)
        assert (count, hash_) == (head.seq, head.hash) == (made[0].seq, made[0].hash)
        assert str(utcnow().year) in text  # the time, in the tenant's timezone (Babel)
    for nobody in (gone.email, admin.email, b.owner_email):
        assert smtp.handler.to(nobody) == []
    assert not await Message.exists(tenant_id=b.id, template="audit_checkpoint")
    sent_note = await AuditEvent.filter(chain=audit.PLATFORM, action="audit.checkpoint_sent").order_by("-seq").first()
    assert sent_note.subject_id == str(a.id) and sent_note.details["seq"] == head.seq  # audited off the tenant's chain

    # nothing grew: the next run appends nothing and mails nothing (the note above is not on A's chain)
    assert await checkpoint(utcnow(), path, str(a.id)) == []
    assert await Message.filter(tenant_id=a.id, template="audit_checkpoint").count() == 2

    # the figures the owners hold are those verification checks: cut the chain short and it is caught
    await _truncate(str(a.id), count - 2)
    problem = (await audit.verify(str(a.id), checkpoints=path)).breaks[0].describe()
    assert f"the log ends at seq {count - 2}" in problem and f"recorded {count} entries (truncated)" in problem
