"""Staff and owners are data subjects too: a copy of their own account's data, and erasing their
account; the owner of an open tenant cannot erase themselves, an API key has no account."""

from __future__ import annotations

from seva_crm.core.common.enums import Role
from seva_crm.core.models import AuditEvent, User
from seva_crm.testing.client import LOGIN, PASSWORD
from tests.conftest import Api

EXPORT = "mutation { myDataExport { data errors { field code message } } }"
ERASE = "mutation($email: String!) { myAccountErase(confirmEmail: $email) { erased errors { field code message } } }"
ME = "{ customers(first: 1) { totalCount } }"


async def test_an_agent_gets_a_copy_then_erases_their_account(tenant, app):
    agent = await tenant.api_as(Role.AGENT)
    user = await User.filter(tenant_id=tenant.id, role=Role.AGENT).order_by("-created_at").first()
    copy = (await agent.ok(EXPORT))["myDataExport"]
    assert copy["errors"] == [] and copy["data"]["account"]["email"] == user.email
    assert copy["data"]["account"]["role"] == "agent" and len(copy["data"]["sessions"]) == 1
    assert await AuditEvent.exists(tenant_id=tenant.id, action="user.data_exported", subject_id=str(user.id))

    wrong = (await agent.ok(ERASE, email="someone@else.example"))["myAccountErase"]
    assert wrong["erased"] is False and wrong["errors"][0]["field"] == "confirmEmail"
    done = (await agent.ok(ERASE, email=user.email))["myAccountErase"]
    assert done == {"erased": True, "errors": []}
    assert (await agent(ME))["errors"]  # the session ended with the account
    gone = await User.get(id=user.id)
    assert not gone.is_active and gone.name == "Erased account" and user.email not in gone.email and gone.phone is None
    again = await Api(app).ok(LOGIN, email=user.email, password=PASSWORD)
    assert again["login"]["errors"] and not again["login"]["accessToken"]
    assert await AuditEvent.exists(tenant_id=tenant.id, action="user.erased", subject_id=str(user.id))


async def test_the_owner_of_an_open_tenant_cannot_erase_themselves_and_a_key_has_no_account(tenant):
    refused = (await tenant.api.ok(ERASE, email=tenant.owner_email))["myAccountErase"]
    assert refused["erased"] is False and refused["errors"][0]["code"] == "FORBIDDEN"
    assert "owner of a live tenant" in refused["errors"][0]["message"]
    assert (await User.get(email=tenant.owner_email)).is_active
    key = await tenant.api_key(Role.VIEWER)
    none = (await key.ok(EXPORT))["myDataExport"]
    assert none["data"] is None and none["errors"][0]["code"] == "FORBIDDEN"
