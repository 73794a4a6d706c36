"""The audit log: what it records, that it holds no personal values, and that tampering is found."""

import asyncio

from tortoise import connections

from seva_crm.core.platform import audit
from seva_crm.core.models import AuditEvent
from tests.conftest import Api, PASSWORD, is_postgres
from tests.test_customers import UPDATE, create


async def test_logins_are_audited_with_ip_and_user_agent(app, tenant):
    client = Api(app, ip="203.0.113.9")
    login = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { errors { code } } }'
    await client.http.post("/graphql", json={"query": login, "variables": {"e": tenant.owner_email, "p": "wrong-password!"}},
                           headers={"user-agent": "TestBrowser/1.0"})
    await client.http.post("/graphql", json={"query": login, "variables": {"e": tenant.owner_email, "p": PASSWORD}},
                           headers={"user-agent": "TestBrowser/1.0"})
    events = await AuditEvent.filter(tenant_id=tenant.id, action__startswith="auth.login", ip="203.0.113.9").order_by("seq")
    assert [e.action for e in events] == ["auth.login_failed", "auth.login"]
    assert all(e.user_agent == "TestBrowser/1.0" for e in events)
    assert all(tenant.owner_email not in str(e.details) for e in events)
    assert events[0].details["account"].startswith("h:")


async def test_customer_changes_record_field_names_and_digests_not_values(tenant):
    customer = (await create(tenant.api, name="Meera Kumari", phone="9876500011", language="HI"))["customer"]
    await tenant.api.ok(UPDATE, id=customer["id"], input={"name": "Meera K", "language": "EN"})
    await tenant.api.ok("mutation($id: ID!) { customerDelete(id: $id) { errors { code } } }", id=customer["id"])
    events = await AuditEvent.filter(tenant_id=tenant.id, subject_type="customer").order_by("seq")
    assert [e.action for e in events] == ["customer.created", "customer.updated", "customer.deleted"]
    assert events[0].actor_type == "user" and events[0].actor_id
    updated = events[1]
    assert updated.changed == ["language", "name"]
    assert updated.details["before"]["language"] == "hi" and updated.details["after"]["language"] == "en"
    assert updated.details["before"]["name"].startswith("h:")
    text = " ".join(str(e.details) for e in events)
    assert "Meera" not in text and "9876500011" not in text


async def test_chain_verifies_and_names_the_first_tampered_row(tenant):
    for i in range(3):
        await audit.record(tenant.id, "test.event", details={"i": i})
    result = await audit.verify(str(tenant.id))
    assert result.ok and result.events >= 4

    target = await AuditEvent.filter(chain=str(tenant.id), action="test.event").order_by("seq").offset(1).first()
    conn = connections.get("default")
    placeholder = "$1" if is_postgres() else "?"
    await conn.execute_query(f"UPDATE audit_event SET action = 'test.forged' WHERE id = {placeholder}", [target.id])
    result = await audit.verify(str(tenant.id))
    assert not result.ok
    assert result.breaks[0].event_id == target.id
    assert f"event {target.id}" in result.breaks[0].describe()

    await conn.execute_query(f"UPDATE audit_event SET action = 'test.event' WHERE id = {placeholder}", [target.id])
    assert (await audit.verify(str(tenant.id))).ok
    await conn.execute_query(f"DELETE FROM audit_event WHERE id = {placeholder}", [target.id])
    result = await audit.verify(str(tenant.id))
    assert not result.ok and result.breaks[0].seq == target.seq and "missing" in result.breaks[0].problem


async def test_concurrent_writers_keep_one_unbroken_chain(tenant):
    await asyncio.gather(*(audit.record(tenant.id, "test.concurrent", details={"i": i}) for i in range(20)))
    seqs = await AuditEvent.filter(chain=str(tenant.id)).order_by("seq").values_list("seq", flat=True)
    assert seqs == list(range(1, len(seqs) + 1))
    assert (await audit.verify(str(tenant.id))).ok


def test_audit_verify_command_exits_non_zero_when_broken(new_seva):
    cli = new_seva()

    def seva(*args):
        return cli(*args, check=False)

    assert seva("tenant", "create", "--name", "Audit Co", "--region", "IN", "--owner-email", "o@audit.example.com",
                "--owner-password", "long-enough-pw").returncode == 0
    ok = seva("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    import sqlite3

    with sqlite3.connect(cli.data_dir / "seva.sqlite3") as db:
        db.execute("UPDATE audit_event SET details = '{\"forged\":1}' WHERE seq = 1")
    broken = seva("audit", "verify")
    assert broken.returncode == 1
    assert "seq 1" in broken.stdout and "hash mismatch" in broken.stdout
