"""Staff accounts and sessions that can be ended: deactivation, role changes, closed tenants and
revoked sessions take effect on the next request, whatever the credential; passwords are changed
and reset by code; nobody acts above their own role; every change is audited with its actor; and
password hashing never stalls the event loop."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

import argon2
import pytest

from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.security import digest, issue_access_token, password_hasher, utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.identity import auth
from seva_crm.core.identity.tenants import create_api_key, create_user
from seva_crm.core.models import AuditEvent, RefreshToken, Session, User, VerificationCode
from tests.conftest import LOGIN, PASSWORD, Api, login
from tests import smtp_support

smtp, smtp_certs = smtp_support.smtp, smtp_support.smtp_certs  # fixtures: a real SMTP server

CUSTOMERS = "{ customers { totalCount } }"
CREATE = 'mutation { customerCreate(input: {name: "After the change"}) { customer { id } errors { code } } }'
ME = "{ me { email role isActive } }"
REFRESH = "mutation($t: String!) { tokenRefresh(refreshToken: $t) { accessToken refreshToken errors { code } } }"
DEACTIVATE = "mutation($id: ID!) { userDeactivate(id: $id) { user { isActive } errors { field code message } } }"
REACTIVATE = "mutation($id: ID!) { userReactivate(id: $id) { user { isActive } errors { field code message } } }"
ROLE = "mutation($id: ID!, $role: Role!) { userRoleChange(id: $id, role: $role) { user { role } errors { field code message } } }"
SESSIONS = """query($u: ID, $all: Boolean) { sessions(userId: $u, includeEnded: $all) { totalCount edges { node {
  id userId current ip userAgent lastIp createdAt lastUsedAt expiresAt revokedAt revokedReason } } } }"""
REVOKE = "mutation($id: ID!) { sessionRevoke(id: $id) { session { revokedAt revokedReason } errors { code } } }"
REVOKE_ALL = "mutation($u: ID, $keep: Boolean) { sessionRevokeAll(userId: $u, keepCurrent: $keep) { count errors { code } } }"
CHANGE = """mutation($c: String!, $n: String!) {
  passwordChange(currentPassword: $c, newPassword: $n) { user { email } errors { field code } } }"""
RESET_START = "mutation($e: String!, $via: PasswordResetChannel) { passwordResetStart(email: $e, via: $via) { ok errors { code } } }"
RESET_FINISH = """mutation($e: String!, $c: String!, $n: String!) {
  passwordResetFinish(email: $e, code: $c, newPassword: $n) { ok errors { field code message } } }"""


def refused(body: dict) -> bool:
    return body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def sign_in(app, email: str, password: str = PASSWORD, ip: str = "127.0.0.1", agent: str = "pytest") -> dict:
    response = await Api(app, ip=ip).http.post("/graphql", json={"query": LOGIN, "variables": {"email": email, "password": password}},
                                               headers={"user-agent": agent})
    data = response.json()["data"]["login"]
    assert data["errors"] == [], data
    return data


async def staff(tenant, role: Role, app) -> tuple[User, Api]:
    email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
    user = await create_user(tenant.id, email, PASSWORD, role)
    return user, await login(app, email)


def gid(user: User) -> str:
    return to_global_id("User", user.id)


# --- what ends a credential takes effect on the next request ---------------------------------


async def test_a_closed_tenants_tokens_and_keys_are_refused_on_the_next_request(app, make_tenant):
    tenant = await make_tenant(name="Closing Centre")
    keyed = await tenant.api_key(Role.AGENT)
    assert (await tenant.api.ok(CUSTOMERS))["customers"]["totalCount"] == 0
    closed = await tenant.api.ok('mutation { tenantClose(confirmName: "Closing Centre") { tenant { status } errors { code } } }')
    assert closed["tenantClose"]["tenant"]["status"] == "TERMINATED"
    # the owner's access token, minutes from expiry, reads and writes nothing more
    assert refused(await tenant.api(CUSTOMERS)) and refused(await tenant.api(CREATE))
    assert refused(await keyed(CUSTOMERS)) and refused(await keyed(CREATE))


async def test_a_deactivated_users_access_token_and_api_key_are_refused(app, tenant):
    admin, admin_api = await staff(tenant, Role.ADMIN, app)
    made = await admin_api.ok('mutation { apiKeyCreate(name: "admin server", role: AGENT) { key errors { code } } }')
    key_api = Api(app, made["apiKeyCreate"]["key"])
    cli_key = Api(app, (await create_api_key(tenant.id, "operator's", Role.AGENT))[1])  # made by no user: unaffected
    assert (await key_api.ok(CREATE))["customerCreate"]["errors"] == []

    done = await tenant.api.ok(DEACTIVATE, id=gid(admin))
    assert done["userDeactivate"] == {"user": {"isActive": False}, "errors": []}
    assert refused(await admin_api(CUSTOMERS)) and refused(await admin_api(ME))
    assert refused(await key_api(CUSTOMERS)) and refused(await key_api(CREATE))
    assert (await cli_key.ok(CUSTOMERS))["customers"]["totalCount"] >= 1
    assert await Session.filter(user_id=admin.id, revoked_at=None).count() == 0  # signed out everywhere
    again = await Api(app).ok(LOGIN, email=admin.email, password=PASSWORD)
    assert again["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"

    await tenant.api.ok(REACTIVATE, id=gid(admin))
    assert (await key_api.ok(CUSTOMERS))["customers"]["totalCount"] >= 1  # the key works again
    assert refused(await admin_api(CUSTOMERS))  # the old session stays ended
    assert (await (await login(app, admin.email)).ok(ME))["me"]["isActive"] is True


async def test_a_role_change_takes_effect_on_the_next_request(app, tenant):
    admin, admin_api = await staff(tenant, Role.ADMIN, app)
    made = await admin_api.ok('mutation { apiKeyCreate(name: "admin key", role: ADMIN) { key } }')
    key_api = Api(app, made["apiKeyCreate"]["key"])
    assert (await admin_api.ok("{ users { totalCount } }"))["users"]["totalCount"] >= 2
    assert (await key_api.ok("{ users { totalCount } }"))["users"]["totalCount"] >= 2

    changed = await tenant.api.ok(ROLE, id=gid(admin), role="VIEWER")
    assert changed["userRoleChange"] == {"user": {"role": "VIEWER"}, "errors": []}
    # the same access token, issued as an admin, now acts as a viewer: it reads, but writes nothing
    assert (await admin_api.ok(ME))["me"]["role"] == "VIEWER"
    assert (await admin_api(CREATE))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await admin_api("{ users { totalCount } }"))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await admin_api.ok(CUSTOMERS))["customers"]["totalCount"] >= 0
    # the admin key they made acts with at most their current role
    assert (await key_api("{ users { totalCount } }"))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await key_api(CREATE))["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    await tenant.api.ok(ROLE, id=gid(admin), role="AGENT")
    assert (await admin_api.ok(CREATE))["customerCreate"]["errors"] == []
    assert (await key_api.ok(CREATE))["customerCreate"]["errors"] == []


async def test_a_revoked_sessions_access_and_refresh_tokens_are_refused(app, tenant):
    user, _ = await staff(tenant, Role.AGENT, app)
    first = await sign_in(app, user.email, ip="198.51.100.7", agent="Phone/1.0")
    second = await sign_in(app, user.email, ip="198.51.100.8", agent="Laptop/2.0")
    phone, laptop = Api(app, first["accessToken"], ip="198.51.100.7"), Api(app, second["accessToken"])
    listed = (await laptop.ok(SESSIONS))["sessions"]
    by_agent = {e["node"]["userAgent"]: e["node"] for e in listed["edges"]}
    assert {"Phone/1.0", "Laptop/2.0"} <= by_agent.keys()
    assert by_agent["Laptop/2.0"]["current"] is True and by_agent["Phone/1.0"]["current"] is False
    assert by_agent["Phone/1.0"]["ip"] == "198.51.100.7" and by_agent["Phone/1.0"]["createdAt"] and by_agent["Phone/1.0"]["lastUsedAt"]

    revoked = await laptop.ok(REVOKE, id=by_agent["Phone/1.0"]["id"])
    assert revoked["sessionRevoke"]["session"]["revokedReason"] == "REVOKED"
    assert refused(await phone(CUSTOMERS))
    assert (await Api(app).ok(REFRESH, t=first["refreshToken"]))["tokenRefresh"]["errors"][0]["code"] == "INVALID_TOKEN"
    assert (await laptop.ok(CUSTOMERS))["customers"]["totalCount"] >= 0  # the other session goes on
    ended = (await laptop.ok(SESSIONS, all=True))["sessions"]["edges"]
    assert any(e["node"]["userAgent"] == "Phone/1.0" and e["node"]["revokedAt"] for e in ended)

    # revoke all, keeping the current one; then every one
    third = await sign_in(app, user.email)
    assert (await laptop.ok(REVOKE_ALL, keep=True))["sessionRevokeAll"]["count"] == 2  # the third, and the first login's
    assert refused(await Api(app, third["accessToken"])(CUSTOMERS))
    assert (await laptop.ok(CUSTOMERS))["customers"]["totalCount"] >= 0
    assert (await laptop.ok(REVOKE_ALL))["sessionRevokeAll"]["count"] == 1
    assert refused(await laptop(CUSTOMERS))
    assert (await Api(app).ok(REFRESH, t=second["refreshToken"]))["tokenRefresh"]["errors"][0]["code"] == "INVALID_TOKEN"


async def test_logout_and_a_replayed_refresh_token_end_the_access_token_too(app, tenant):
    tokens = await sign_in(app, tenant.owner_email)
    await Api(app).ok("mutation($t: String!) { logout(refreshToken: $t) { ok } }", t=tokens["refreshToken"])
    assert refused(await Api(app, tokens["accessToken"])(CUSTOMERS))

    tokens = await sign_in(app, tenant.owner_email)
    rotated = (await Api(app).ok(REFRESH, t=tokens["refreshToken"]))["tokenRefresh"]
    assert (await Api(app, rotated["accessToken"]).ok(CUSTOMERS))["customers"]["totalCount"] >= 0
    replay = (await Api(app).ok(REFRESH, t=tokens["refreshToken"]))["tokenRefresh"]  # stolen and replayed
    assert replay["errors"][0]["code"] == "INVALID_TOKEN"
    assert refused(await Api(app, rotated["accessToken"])(CUSTOMERS))
    session = await Session.get(id=(await RefreshToken.get(token_hash=digest(tokens["refreshToken"]))).family)
    assert session.revoked_reason.value == "refresh_token_reuse"


async def test_a_sessions_last_use_is_recorded_at_most_once_a_minute(app, tenant):
    from datetime import timedelta

    tokens = await sign_in(app, tenant.owner_email, ip="198.51.100.20")
    session_id = (await RefreshToken.get(token_hash=digest(tokens["refreshToken"]))).family
    api = Api(app, tokens["accessToken"], ip="198.51.100.21")
    await api.ok(CUSTOMERS)
    assert (await Session.get(id=session_id)).last_ip == "198.51.100.20"  # used within the minute: not written again
    long_ago = utcnow() - timedelta(minutes=5)
    await Session.filter(id=session_id).update(last_used_at=long_ago)
    await api.ok(CUSTOMERS)
    row = await Session.get(id=session_id)
    assert row.last_ip == "198.51.100.21" and row.last_used_at > long_ago + timedelta(minutes=4)
    assert (row.ip, row.user_agent) == ("198.51.100.20", "pytest")  # where it signed in stays


async def test_an_access_token_without_a_session_is_refused(app, tenant):
    owner = await User.get(email=tenant.owner_email)
    legacy, _ = issue_access_token({"sub": str(owner.id), "role": "owner", "su": False, "tid": str(tenant.id), "reg": "IN"}, 15)
    assert refused(await Api(app, legacy)(CUSTOMERS))
    forged, _ = issue_access_token({"sub": str(uuid.uuid4()), "sid": str((await Session.filter(user_id=owner.id).first()).id),
                                    "role": "owner", "tid": str(tenant.id), "reg": "IN"}, 15)
    assert refused(await Api(app, forged)(CUSTOMERS))  # a session belongs to one user
    # a refresh token from before sessions existed still refreshes, and its sign-in becomes a session
    from datetime import timedelta

    from seva_crm.core.common.security import new_token

    old_token, family = new_token(), uuid.uuid4()
    await RefreshToken.create(user_id=owner.id, family=family, token_hash=digest(old_token), expires_at=utcnow() + timedelta(days=3))
    fresh = (await Api(app).ok(REFRESH, t=old_token))["tokenRefresh"]
    assert fresh["errors"] == [] and (await Api(app, fresh["accessToken"]).ok(CUSTOMERS))["customers"]["totalCount"] >= 0
    assert (await Session.get(id=family)).user_id == owner.id


async def test_admins_list_and_revoke_others_sessions_but_not_above_their_role(app, tenant):
    admin, admin_api = await staff(tenant, Role.ADMIN, app)
    agent, agent_api = await staff(tenant, Role.AGENT, app)
    listed = (await admin_api.ok(SESSIONS, u=gid(agent)))["sessions"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["userId"] == gid(agent)
    assert (await admin_api.ok(REVOKE_ALL, u=gid(agent)))["sessionRevokeAll"]["count"] == 1
    assert refused(await agent_api(CUSTOMERS))
    # an agent sees and ends only their own
    agent_api = await login(app, agent.email)
    assert (await agent_api(SESSIONS, u=gid(admin)))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    admin_session = (await admin_api.ok(SESSIONS))["sessions"]["edges"][0]["node"]["id"]
    assert (await agent_api(REVOKE, id=admin_session))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # an admin may not end an owner's sessions
    owner = await User.get(email=tenant.owner_email)
    assert (await admin_api.ok(REVOKE_ALL, u=gid(owner)))["sessionRevokeAll"]["errors"][0]["code"] == "FORBIDDEN"
    assert (await tenant.api.ok(CUSTOMERS))["customers"]["totalCount"] >= 0


# --- who may do what ----------------------------------------------------------------------------


async def test_a_viewer_or_agent_cannot_deactivate_or_change_roles(app, tenant):
    agent, _ = await staff(tenant, Role.AGENT, app)
    for role in (Role.VIEWER, Role.AGENT):
        _, api = await staff(tenant, role, app)
        for query, variables in ((DEACTIVATE, {"id": gid(agent)}), (REACTIVATE, {"id": gid(agent)}),
                                 (ROLE, {"id": gid(agent), "role": "VIEWER"})):
            body = await api(query, **variables)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    assert (await User.get(id=agent.id)).is_active and (await User.get(id=agent.id)).role is Role.AGENT


async def test_nobody_grants_or_manages_above_their_own_role(app, tenant):
    admin, admin_api = await staff(tenant, Role.ADMIN, app)
    agent, agent_api = await staff(tenant, Role.AGENT, app)
    owner = await User.get(email=tenant.owner_email)

    def error(data, name):
        return data[name]["errors"][0]["code"], data[name]["errors"][0]["field"]

    assert error(await admin_api.ok(ROLE, id=gid(agent), role="OWNER"), "userRoleChange") == ("FORBIDDEN", "role")
    assert error(await admin_api.ok(ROLE, id=gid(admin), role="OWNER"), "userRoleChange") == ("FORBIDDEN", "role")  # not oneself
    assert error(await admin_api.ok(ROLE, id=gid(owner), role="ADMIN"), "userRoleChange") == ("FORBIDDEN", "id")
    assert error(await admin_api.ok(DEACTIVATE, id=gid(owner)), "userDeactivate") == ("FORBIDDEN", "id")
    # an API key acts with its own role: an agent key cannot manage staff at all
    assert (await (await tenant.api_key(Role.AGENT))(ROLE, id=gid(agent), role="VIEWER"))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # within their rank an admin may: promote an agent to admin, demote them again
    assert (await admin_api.ok(ROLE, id=gid(agent), role="ADMIN"))["userRoleChange"]["user"]["role"] == "ADMIN"
    assert (await agent_api.ok("{ users { totalCount } }"))["users"]["totalCount"] >= 3
    assert (await admin_api.ok(ROLE, id=gid(agent), role="VIEWER"))["userRoleChange"]["user"]["role"] == "VIEWER"
    assert (await User.get(id=owner.id)).role is Role.OWNER


async def test_a_tenant_always_keeps_an_active_owner(app, tenant):
    owner = await User.get(email=tenant.owner_email)
    last = await tenant.api.ok(ROLE, id=gid(owner), role="ADMIN")
    assert last["userRoleChange"]["errors"][0]["field"] == "role" and "owner" in last["userRoleChange"]["errors"][0]["message"]
    assert (await tenant.api.ok(DEACTIVATE, id=gid(owner)))["userDeactivate"]["errors"][0]["code"] == "INVALID"

    second, second_api = await staff(tenant, Role.ADMIN, app)
    assert (await tenant.api.ok(ROLE, id=gid(second), role="OWNER"))["userRoleChange"]["user"]["role"] == "OWNER"
    assert (await second_api.ok(ME))["me"]["role"] == "OWNER"
    # now the first owner may step down, and the second is the last one
    assert (await second_api.ok(DEACTIVATE, id=gid(owner)))["userDeactivate"]["user"]["isActive"] is False
    assert refused(await tenant.api(CUSTOMERS))
    assert (await second_api.ok(ROLE, id=gid(second), role="ADMIN"))["userRoleChange"]["errors"][0]["code"] == "INVALID"
    # reactivated, the first owner is an owner again; the second may then become an admin
    assert (await second_api.ok(REACTIVATE, id=gid(owner)))["userReactivate"]["user"]["isActive"] is True
    assert (await second_api.ok(ROLE, id=gid(second), role="ADMIN"))["userRoleChange"]["user"]["role"] == "ADMIN"


async def test_two_owners_removing_each_other_at_once_leave_one(app, tenant):
    first = await User.get(email=tenant.owner_email)
    second, second_api = await staff(tenant, Role.OWNER, app)
    results = await asyncio.gather(tenant.api.ok(DEACTIVATE, id=gid(second)), second_api.ok(DEACTIVATE, id=gid(first)),
                                   return_exceptions=True)
    assert await User.filter(tenant_id=tenant.id, role=Role.OWNER, is_active=True).count() == 1, results


async def test_staff_changes_are_audited_with_their_actor(app, tenant):
    agent, agent_api = await staff(tenant, Role.AGENT, app)
    owner = await User.get(email=tenant.owner_email)
    await tenant.api.ok(ROLE, id=gid(agent), role="VIEWER")
    await tenant.api.ok(DEACTIVATE, id=gid(agent))
    await tenant.api.ok(REACTIVATE, id=gid(agent))
    agent_api = await login(app, agent.email)
    session = (await agent_api.ok(SESSIONS))["sessions"]["edges"][0]["node"]["id"]
    await tenant.api.ok(REVOKE, id=session)
    events = await AuditEvent.filter(tenant_id=tenant.id, action__in=["user.role_changed", "user.deactivated", "user.reactivated",
                                                                      "user.sessions_revoked", "session.revoked"]).order_by("seq")
    assert [e.action for e in events] == ["user.role_changed", "user.deactivated", "user.sessions_revoked", "user.reactivated",
                                          "session.revoked"]
    assert all((e.actor_type, e.actor_id, e.ip) == ("user", str(owner.id), "127.0.0.1") for e in events)
    assert events[0].details == {"from": "agent", "to": "viewer"} and events[0].subject_id == str(agent.id)
    assert events[2].details["reason"] == "user_deactivated" and events[4].details["reason"] == "revoked"
    logins = await AuditEvent.filter(tenant_id=tenant.id, action="auth.login", actor_id=str(agent.id)).order_by("seq")
    assert logins[-1].details["session"] and logins[-1].ip == "127.0.0.1"


# --- passwords ----------------------------------------------------------------------------------


async def test_changing_ones_password_needs_the_current_one_and_ends_other_sessions(app, tenant):
    user, _ = await staff(tenant, Role.AGENT, app)
    elsewhere = Api(app, (await sign_in(app, user.email))["accessToken"])
    here = await login(app, user.email)
    wrong = await here.ok(CHANGE, c="not-my-password", n="a-brand-new-password")
    assert wrong["passwordChange"]["errors"] == [{"field": "currentPassword", "code": "INVALID_CREDENTIALS"}]
    short = await here.ok(CHANGE, c=PASSWORD, n="short")
    assert short["passwordChange"]["errors"] == [{"field": "newPassword", "code": "INVALID"}]
    done = await here.ok(CHANGE, c=PASSWORD, n="a-brand-new-password")
    assert done["passwordChange"] == {"user": {"email": user.email}, "errors": []}
    assert (await here.ok(CUSTOMERS))["customers"]["totalCount"] >= 0  # this session stays
    assert refused(await elsewhere(CUSTOMERS))  # the others end
    assert (await Api(app).ok(LOGIN, email=user.email, password=PASSWORD))["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    await login(app, user.email, "a-brand-new-password")
    assert await AuditEvent.exists(tenant_id=tenant.id, action="user.password_changed", actor_id=str(user.id))


async def test_password_reset_by_email_end_to_end(app, tenant, smtp, monkeypatch):
    smtp.use_as_instance_server(monkeypatch)
    user, old_api = await staff(tenant, Role.AGENT, app)
    await old_api.ok("mutation { emailVerificationStart { ok } }")
    verify_code = re.search(r"code is (\d{6})", smtp.handler.to(user.email)[-1].get_body(("plain",)).get_content()).group(1)
    await old_api.ok("mutation($c: String!) { emailVerificationConfirm(code: $c) { errors { code } } }", c=verify_code)

    anonymous = Api(app, ip="192.0.2.44")
    for email in (user.email, "nobody-at-all@example.com"):  # the same answer either way
        assert (await anonymous.ok(RESET_START, e=email))["passwordResetStart"] == {"ok": True, "errors": []}
    await auth.deliveries_settled()
    assert smtp.handler.to("nobody-at-all@example.com") == []
    mail = smtp.handler.to(user.email)[-1]
    assert mail["Subject"] == "Your Seva CRM password reset code"
    code = re.search(r"reset code is (\d{8})", mail.get_body(("plain",)).get_content()).group(1)
    row = await VerificationCode.filter(user_id=user.id, purpose="password_reset").order_by("-created_at").first()
    assert code not in (row.code_hash, row.target) and row.code_hash == digest(code, "code")  # stored only as a digest

    wrong = await anonymous.ok(RESET_FINISH, e=user.email, c="00000000", n="my-new-password-1")
    assert wrong["passwordResetFinish"]["errors"][0]["code"] == "INVALID"
    unknown = await anonymous.ok(RESET_FINISH, e="nobody-at-all@example.com", c=code, n="my-new-password-1")
    assert unknown["passwordResetFinish"]["errors"] == wrong["passwordResetFinish"]["errors"]  # no hint which
    done = await anonymous.ok(RESET_FINISH, e=user.email, c=code, n="my-new-password-1")
    assert done["passwordResetFinish"] == {"ok": True, "errors": []}
    assert refused(await old_api(CUSTOMERS))  # every session ended
    again = await anonymous.ok(RESET_FINISH, e=user.email, c=code, n="my-new-password-2")
    assert again["passwordResetFinish"]["errors"][0]["code"] == "INVALID"  # used once
    assert (await Api(app).ok(LOGIN, email=user.email, password=PASSWORD))["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    await login(app, user.email, "my-new-password-1")
    actions = [e.action for e in await AuditEvent.filter(tenant_id=tenant.id, subject_id=str(user.id)).order_by("seq")]
    assert "auth.password_reset_requested" in actions and "user.password_reset" in actions


async def test_password_reset_codes_go_only_to_verified_addresses_and_allow_few_attempts(app, tenant, smtp, monkeypatch, caplog):
    smtp.use_as_instance_server(monkeypatch)
    user, _ = await staff(tenant, Role.AGENT, app)
    anonymous = Api(app, ip="192.0.2.45")
    assert (await anonymous.ok(RESET_START, e=user.email))["passwordResetStart"]["ok"] is True
    await auth.deliveries_settled()
    assert smtp.handler.to(user.email) == []  # the email was never verified: nothing is sent
    assert not await VerificationCode.exists(user_id=user.id, purpose="password_reset")

    # by phone: the verified number, through the staff code path (here the development channel)
    await User.filter(id=user.id).update(phone="+919876512399", phone_verified_at=utcnow())
    with caplog.at_level(logging.WARNING, logger="seva.notify"):
        assert (await anonymous.ok(RESET_START, e=user.email, via="PHONE"))["passwordResetStart"]["ok"] is True
        await auth.deliveries_settled()
    code = caplog.records[-1].getMessage().rsplit(" ", 1)[-1]
    assert "password_reset verification code" in caplog.text and "9876512399" not in caplog.text
    for _ in range(5):
        await anonymous.ok(RESET_FINISH, e=user.email, c="11111111", n="my-new-password-1")
    locked = await anonymous.ok(RESET_FINISH, e=user.email, c=code, n="my-new-password-1")
    assert locked["passwordResetFinish"]["errors"][0]["code"] == "INVALID"  # five wrong tries used the code up
    # an expired code is refused too
    with caplog.at_level(logging.WARNING, logger="seva.notify"):
        await anonymous.ok(RESET_START, e=user.email, via="PHONE")
        await auth.deliveries_settled()
    code = caplog.records[-1].getMessage().rsplit(" ", 1)[-1]
    await VerificationCode.filter(user_id=user.id, purpose="password_reset", consumed_at=None).update(expires_at=utcnow())
    expired = await anonymous.ok(RESET_FINISH, e=user.email, c=code, n="my-new-password-1")
    assert expired["passwordResetFinish"]["errors"][0]["code"] == "INVALID"


async def test_password_reset_requests_are_limited_per_account(app, tenant):
    email = f"limit-{uuid.uuid4().hex[:8]}@example.com"  # no such account: limited all the same
    for i in range(5):
        assert (await Api(app, ip=f"192.0.2.{100 + i}").ok(RESET_START, e=email))["passwordResetStart"]["ok"] is True
    limited = await Api(app, ip="192.0.2.200").ok(RESET_START, e=email)
    assert limited["passwordResetStart"]["errors"][0]["code"] == "RATE_LIMITED"


# --- hashing --------------------------------------------------------------------------------------


async def test_a_slow_password_hash_does_not_block_other_requests(app, tenant, monkeypatch):
    """Four sign-ins hash at once (each hash made to take a second, holding its thread); a
    request on the same event loop meanwhile answers at once."""
    real_verify = argon2.PasswordHasher.verify

    def slow_verify(self, hash, password):
        time.sleep(1.0)
        return real_verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", slow_verify)
    signed_in = tenant.api
    logins = [asyncio.create_task(Api(app, ip=f"10.77.0.{i}").ok(LOGIN, email=tenant.owner_email, password=PASSWORD))
              for i in range(4)]
    await asyncio.sleep(0.2)  # the sign-ins reach their hashes
    started = time.perf_counter()
    me = await signed_in.ok(ME)
    elapsed = time.perf_counter() - started
    hashing = not all(task.done() for task in logins)
    results = await asyncio.gather(*logins)
    assert me["me"]["email"] == tenant.owner_email
    assert hashing and elapsed < 0.5, f"a request waited {elapsed:.2f}s behind password hashing"
    assert all(r["login"]["errors"] == [] for r in results)


async def test_the_hash_cost_is_a_setting_and_old_hashes_are_upgraded_at_sign_in(app, tenant, monkeypatch):
    settings = get_settings()
    user = await create_user(tenant.id, f"cost-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, Role.AGENT)
    for name, value in (("password_hash_time_cost", 2), ("password_hash_memory_kib", 2048), ("password_hash_parallelism", 1)):
        monkeypatch.setattr(settings, name, value)
    password_hasher.cache_clear()
    try:
        await login(app, user.email)
        assert (await User.get(id=user.id)).password_hash.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
        other = await create_user(tenant.id, f"cost-{uuid.uuid4().hex[:8]}@example.com", PASSWORD, Role.AGENT)
        assert other.password_hash.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    finally:
        monkeypatch.undo()
        password_hasher.cache_clear()
    await login(app, user.email)  # verifies under the old parameters' hash, then re-hashes with today's


def test_production_refuses_a_weak_hash_cost():
    from seva_crm.core.common.settings import Settings

    with pytest.raises(ValueError, match="OWASP"):
        Settings(env="production", secret_key="s" * 40, password_hash_memory_kib=1024, password_hash_time_cost=1)
    strong = Settings(env="production", secret_key="s" * 40, password_hash_memory_kib=19456, password_hash_time_cost=2)
    assert strong.password_hash_memory_kib == 19456
    defaults = {name: Settings.model_fields[f"password_hash_{name}"].default for name in ("time_cost", "memory_kib", "parallelism")}
    assert defaults == {"time_cost": 3, "memory_kib": 65536, "parallelism": 4}  # argon2-cffi's own (RFC 9106 low memory)
