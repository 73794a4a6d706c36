"""Owners and admins read the audit log in the API: filtered, paged, as CSV; and each user's
sign-in history and sessions with their durations. Viewers and agents are refused; another
tenant's entries are never shown."""

import csv
import io
from uuid import UUID

from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import AuditEvent
from seva_crm.core.common.security import utcnow
from tests.conftest import Api, PASSWORD
from tests.test_customers import UPDATE, create

EVENTS = """query($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { seq at action actorType actorId subjectType subjectId changed details ip userAgent } }
  }
}"""
ME = "{ me { id } }"


async def test_owner_filters_and_pages_the_audit_log(tenant, make_tenant):
    customer = (await create(tenant.api, name="Lakshmi Rao", phone="9876501234"))["customer"]
    await tenant.api.ok(UPDATE, id=customer["id"], input={"name": "Lakshmi R", "language": "HI"})
    me = (await tenant.api.ok(ME))["me"]["id"]
    other = await make_tenant()
    await create(other.api, name="Someone Else")

    about = {"subjectType": "customer", "subjectId": customer["id"]}
    page = (await tenant.api.ok(EVENTS, filter=about))["auditEvents"]
    nodes = [e["node"] for e in page["edges"]]
    assert [n["action"] for n in nodes] == ["customer.updated", "customer.created"]  # newest first
    assert page["totalCount"] == 2 and nodes[0]["actorId"] == me and nodes[0]["actorType"] == "user"
    assert nodes[0]["changed"] == ["language", "name"] and nodes[0]["details"]["after"]["language"] == "hi"
    assert "Lakshmi" not in str(page)  # personal values only as digests

    first = (await tenant.api.ok(EVENTS, filter=about, first=1))["auditEvents"]
    assert first["pageInfo"]["hasNextPage"] and first["edges"][0]["node"]["action"] == "customer.updated"
    rest = (await tenant.api.ok(EVENTS, filter=about, first=1, after=first["pageInfo"]["endCursor"]))["auditEvents"]
    assert [e["node"]["action"] for e in rest["edges"]] == ["customer.created"] and not rest["pageInfo"]["hasNextPage"]

    prefix = (await tenant.api.ok(EVENTS, filter={"action": "customer.", "actorId": me}))["auditEvents"]
    assert {e["node"]["action"] for e in prefix["edges"]} == {"customer.created", "customer.updated"}
    everything = (await tenant.api.ok(EVENTS, first=100))["auditEvents"]
    seqs = [e["node"]["seq"] for e in everything["edges"]]
    assert seqs == sorted(seqs, reverse=True) and everything["totalCount"] == await AuditEvent.filter(tenant_id=tenant.id).count()
    later = utcnow().replace(year=utcnow().year + 1).isoformat()
    assert (await tenant.api.ok(EVENTS, filter={"since": later}))["auditEvents"]["totalCount"] == 0
    assert (await tenant.api.ok(EVENTS, filter={"until": later}))["auditEvents"]["totalCount"] == everything["totalCount"]
    bad = await tenant.api(EVENTS, after="not-a-cursor")
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    mine = await other.api.ok(EVENTS, filter=about)  # another tenant: nothing of the first
    assert mine["auditEvents"]["totalCount"] == 0


async def test_csv_export_is_the_filtered_log_and_is_audited(tenant):
    customer = (await create(tenant.api, name="Rukmini Das"))["customer"]
    text = (await tenant.api.ok('query($f: AuditEventFilter) { auditEventsCsv(filter: $f) }',
                                f={"subjectType": "customer", "subjectId": customer["id"]}))["auditEventsCsv"]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["action"] for r in rows] == ["customer.created"] and rows[0]["actor_type"] == "user"
    exported = await AuditEvent.filter(tenant_id=tenant.id, action="audit.exported").first()
    assert exported is not None and exported.details["subject_type"] == "customer"


async def test_viewers_and_agents_are_refused(tenant):
    for role in (Role.VIEWER, Role.AGENT):
        api = await tenant.api_as(role)
        for query in (EVENTS, "{ auditEventsCsv }", 'query($u: ID!) { loginHistory(userId: $u) { totalCount } }'):
            body = await api(query, u="x")
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", (role, query)


async def test_login_history_and_session_durations(app, tenant, clock):
    login = 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { errors { code } } }'
    client = Api(app, ip="198.51.100.7")
    for password in ("wrong-password!", PASSWORD):
        await client.http.post("/graphql", json={"query": login, "variables": {"e": tenant.owner_email, "p": password}},
                               headers={"user-agent": "Kiosk/2.0"})
    me = (await tenant.api.ok(ME))["me"]["id"]
    history = (await tenant.api.ok('query($u: ID!) { loginHistory(userId: $u, first: 2) { totalCount '
                                   'edges { node { at ip userAgent outcome } } } }', u=me))["loginHistory"]
    newest = [e["node"] for e in history["edges"]]
    assert [(n["outcome"], n["ip"], n["userAgent"]) for n in newest] == [("success", "198.51.100.7", "Kiosk/2.0"),
                                                                        ("failed", "198.51.100.7", "Kiosk/2.0")]
    assert history["totalCount"] >= 3  # the fixture's own sign-in too
    kiosk = await AuditEvent.filter(tenant_id=tenant.id, action="auth.login", ip="198.51.100.7").first()
    clock.advance(minutes=10)  # within the access token's life
    await tenant.api.ok('mutation($id: ID!) { sessionRevoke(id: $id) { errors { code } } }',
                        id=to_global_id("Session", UUID(kiosk.details["session"])))
    sessions = (await tenant.api.ok('query($u: ID!) { sessions(userId: $u, includeEnded: true) { edges { node { ip '
                                    'durationSeconds revokedAt } } } }', u=me))["sessions"]["edges"]
    ended = [s["node"] for s in sessions if s["node"]["ip"] == "198.51.100.7"]
    assert len(ended) == 1 and ended[0]["revokedAt"] and 10 * 60 <= ended[0]["durationSeconds"] < 11 * 60
