"""Staff join by invitation: the inviting admin's answer never tells whether an address already
has an account elsewhere; only the address's holder learns it, by email. And ended sessions are
pruned after their retention."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from seva_crm.core.common.enums import Role
from seva_crm.core.common.settings import Environment
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.identity import invitations, sessions
from seva_crm.core.models import AuditEvent, Invitation, RefreshToken, Session, User
from tests import smtp_support
from tests.conftest import LOGIN, PASSWORD, Api, login

smtp, smtp_certs = smtp_support.smtp, smtp_support.smtp_certs  # fixtures: a real SMTP server

INVITE = """mutation($e: String!, $r: Role!, $n: String) { userInvite(email: $e, role: $r, name: $n) {
  invitation { email name role acceptedAt revokedAt } errors { field code message } } }"""
ACCEPT = """mutation($t: String!, $p: String!) { invitationAccept(token: $t, password: $p) {
  accessToken user { email role emailVerified } errors { field code message } } }"""
PENDING = "{ invitations { totalCount edges { node { id email role } } } }"
REVOKE = "mutation($id: ID!) { invitationRevoke(id: $id) { invitation { revokedAt } errors { code } } }"
NEW_PASSWORD = "a-brand-new-password"


def _address() -> str:
    return f"new-{uuid.uuid4().hex[:10]}@example.com"


async def _mail_to(smtp, address: str) -> str:
    await invitations.deliveries_settled()
    [mail] = smtp.handler.to(address)
    return mail.get_body(("plain",)).get_content()


def _token(text: str) -> str:
    return re.search(r"/invitations/accept\?token=([\w\-]+)", text).group(1)


async def test_an_invited_address_joins_through_the_link_in_its_email(app, tenant, smtp, monkeypatch):
    smtp.use_as_instance_server(monkeypatch)
    monkeypatch.setattr(get_settings(), "public_url", "https://crm.example.in")
    email = _address()
    data = await tenant.api.ok(INVITE, e=email, r="AGENT", n="Sita Kumari")
    assert data["userInvite"] == {"invitation": {"email": email, "name": "Sita Kumari", "role": "AGENT", "acceptedAt": None,
                                                 "revokedAt": None}, "errors": []}
    assert (await tenant.api.ok(PENDING))["invitations"]["totalCount"] == 1

    text = await _mail_to(smtp, email)
    link = re.search(r"https://crm\.example\.in/invitations/accept\?token=\S+", text).group(0)
    token = _token(text)
    row = await Invitation.get(tenant_id=tenant.id, email=email)
    assert token not in row.token_hash  # stored only as a digest

    client = Api(app).http
    page = await client.get(link.removeprefix("https://crm.example.in"))
    assert page.status_code == 200 and "Choose a password" in page.text and page.headers["cache-control"] == "no-store"
    done = await client.post("/invitations/accept", data={"token": token, "password": NEW_PASSWORD, "name": ""})
    assert done.status_code == 200 and email in done.text

    agent = await login(app, email, NEW_PASSWORD)
    assert (await agent.ok("{ me { email name role emailVerified } }"))["me"] == {
        "email": email, "name": "Sita Kumari", "role": "AGENT", "emailVerified": True}
    assert (await tenant.api.ok(PENDING))["invitations"]["totalCount"] == 0
    again = await client.post("/invitations/accept", data={"token": token, "password": NEW_PASSWORD})
    assert again.status_code == 400 and "not valid" in again.text  # once only
    actions = {e.action for e in await AuditEvent.filter(tenant_id=tenant.id)}
    assert {"user.invited", "user.created"} <= actions


async def test_inviting_another_tenants_staff_address_answers_as_for_a_free_one(app, make_tenant, smtp, monkeypatch):
    smtp.use_as_instance_server(monkeypatch)
    a, b = await make_tenant(name="Centre A"), await make_tenant(name="Centre B")
    free = _address()
    taken_answer = await b.api.ok(INVITE, e=a.owner_email, r="AGENT", n="")
    free_answer = await b.api.ok(INVITE, e=free, r="AGENT", n="")
    taken_answer["userInvite"]["invitation"].pop("email")
    free_answer["userInvite"]["invitation"].pop("email")
    assert taken_answer == free_answer  # nothing tells B that A's owner uses the address

    note = await _mail_to(smtp, a.owner_email)  # the holder of the address learns it, and gets no link
    assert "already has a Seva CRM account" in note and "Centre B" in note and "/invitations/accept" not in note
    assert "/invitations/accept?token=" in await _mail_to(smtp, free)

    # Even a token (from a pending invitation of that address) cannot take the address over.
    token = "known-token-for-the-test"
    from seva_crm.core.common.security import digest
    await Invitation.filter(tenant_id=b.id, email=a.owner_email).update(token_hash=digest(token, "invitation"))
    refused = await Api(app).ok(ACCEPT, t=token, p=NEW_PASSWORD)
    assert refused["invitationAccept"]["errors"][0]["code"] == "DUPLICATE"
    owner = await User.get(email=a.owner_email)
    assert owner.tenant_id == a.id and owner.role is Role.OWNER
    await login(app, a.owner_email, PASSWORD)  # A's owner still signs in as before


async def test_who_may_invite_and_which_invitations_work(app, make_tenant, clock, monkeypatch):
    tenant, other = await make_tenant(), await make_tenant()
    for role in (Role.VIEWER, Role.AGENT):
        caller = await tenant.api_as(role)
        assert (await caller(INVITE, e=_address(), r="VIEWER", n=""))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin = await tenant.api_as(Role.ADMIN)
    above = await admin.ok(INVITE, e=_address(), r="OWNER", n="")
    assert above["userInvite"]["errors"] == [{"field": "role", "code": "FORBIDDEN", "message": "cannot grant a role above your own"}]
    member = await tenant.api.ok(INVITE, e=tenant.owner_email, r="AGENT", n="")
    assert member["userInvite"]["errors"][0]["field"] == "email"  # a member of one's own tenant: one's own business

    tokens = {}
    monkeypatch.setattr(invitations, "_deliver_later", lambda _id, _t, email, token: tokens.__setitem__(email, token))
    revoked, expired, used = _address(), _address(), _address()
    for email in (revoked, expired, used):
        await tenant.api.ok(INVITE, e=email, r="VIEWER", n="")
    pending = (await tenant.api.ok(PENDING))["invitations"]["edges"]
    revoked_id = next(e["node"]["id"] for e in pending if e["node"]["email"] == revoked)
    assert (await other.api.ok(REVOKE, id=revoked_id))["invitationRevoke"]["errors"][0]["code"] == "NOT_FOUND"
    assert (await tenant.api.ok(REVOKE, id=revoked_id))["invitationRevoke"]["invitation"]["revokedAt"] is not None
    await Invitation.filter(email=expired).update(expires_at=utcnow() - timedelta(seconds=1))

    anonymous = Api(app)
    for email in (revoked, expired):
        answer = await anonymous.ok(ACCEPT, t=tokens[email], p=NEW_PASSWORD)
        assert answer["invitationAccept"]["errors"][0]["code"] == "INVALID_TOKEN"
    assert (await anonymous.ok(ACCEPT, t="not-a-token", p=NEW_PASSWORD))["invitationAccept"]["errors"][0]["code"] == "INVALID_TOKEN"
    short = await anonymous.ok(ACCEPT, t=tokens[used], p="short")
    assert short["invitationAccept"]["errors"][0]["field"] == "password"
    joined = await anonymous.ok(ACCEPT, t=tokens[used], p=NEW_PASSWORD)
    assert joined["invitationAccept"]["user"] == {"email": used, "role": "VIEWER", "emailVerified": True}
    assert joined["invitationAccept"]["accessToken"]  # signed in at once
    assert not await User.exists(email__in=[revoked, expired])


async def test_production_without_smtp_says_invitations_cannot_be_sent(tenant, monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "env", Environment.PRODUCTION)
    monkeypatch.setattr(settings, "smtp_host", "")
    answer = await tenant.api.ok(INVITE, e=_address(), r="AGENT", n="")
    assert answer["userInvite"]["errors"][0]["code"] == "UNAVAILABLE"
    assert not await Invitation.filter(tenant_id=tenant.id).exists()


async def test_ended_sessions_are_pruned_after_their_retention(app, tenant):
    now = utcnow()
    await login(app, tenant.owner_email, PASSWORD)  # open and recent: kept
    user = await User.get(email=tenant.owner_email)
    days = get_settings().session_retention_days
    old_revoked = await Session.create(id=uuid.uuid4(), user_id=user.id, last_used_at=now, expires_at=now,
                                       revoked_at=now - timedelta(days=days + 1))
    old_expired = await Session.create(id=uuid.uuid4(), user_id=user.id, last_used_at=now,
                                       expires_at=now - timedelta(days=days + 1))
    recent_end = await Session.create(id=uuid.uuid4(), user_id=user.id, last_used_at=now, expires_at=now,
                                      revoked_at=now - timedelta(days=days - 1))
    await RefreshToken.create(user_id=user.id, family=old_revoked.id, token_hash=uuid.uuid4().hex, expires_at=now)
    assert await sessions.prune(now) >= 2
    left = set(await Session.filter(user_id=user.id).values_list("id", flat=True))
    assert old_revoked.id not in left and old_expired.id not in left and recent_end.id in left
    assert len(left) >= 2  # the recent end and the open sign-in
    assert not await RefreshToken.filter(family=old_revoked.id).exists()
    assert (await Api(app).ok(LOGIN, email=tenant.owner_email, password=PASSWORD))["login"]["accessToken"]
