import logging


from seva_crm.core.common.enums import Role
from seva_crm.core.models import ApiKey
from tests.conftest import LOGIN, PASSWORD, Api, login

ME = "{ me { email role emailVerified phoneVerified phone } }"
REFRESH = """mutation($t: String!) { tokenRefresh(refreshToken: $t) { accessToken refreshToken errors { field code } } }"""


async def test_login_gives_tokens_that_work(app, tenant):
    raw = await Api(app).ok(LOGIN, email=tenant.owner_email.upper(), password=PASSWORD)
    assert raw["login"]["errors"] == []
    me = await Api(app, raw["login"]["accessToken"]).ok(ME)
    assert me["me"]["email"] == tenant.owner_email
    assert me["me"]["role"] == "OWNER"


async def test_wrong_password_is_refused_without_saying_which_part(app, tenant):
    for email in (tenant.owner_email, "nobody@example.com"):
        data = await Api(app, ip="10.9.9.1").ok(LOGIN, email=email, password="wrong-password!")
        assert data["login"]["accessToken"] is None
        assert data["login"]["errors"] == [{"field": None, "code": "INVALID_CREDENTIALS", "message": "wrong email or password"}]


async def test_refresh_rotates_and_reuse_revokes_the_family(app, tenant):
    first = (await Api(app).ok(LOGIN, email=tenant.owner_email, password=PASSWORD))["login"]
    second = (await Api(app).ok(REFRESH, t=first["refreshToken"]))["tokenRefresh"]
    assert second["errors"] == [] and second["refreshToken"] != first["refreshToken"]
    assert (await Api(app, second["accessToken"]).ok(ME))["me"]["email"] == tenant.owner_email
    # replaying the rotated token is refused, and kills the newer token too
    replay = (await Api(app).ok(REFRESH, t=first["refreshToken"]))["tokenRefresh"]
    assert replay["errors"][0]["code"] == "INVALID_TOKEN"
    after = (await Api(app).ok(REFRESH, t=second["refreshToken"]))["tokenRefresh"]
    assert after["errors"][0]["code"] == "INVALID_TOKEN"


async def test_logout_revokes_the_refresh_token(app, tenant):
    tokens = (await Api(app).ok(LOGIN, email=tenant.owner_email, password=PASSWORD))["login"]
    await Api(app).ok("mutation($t: String!) { logout(refreshToken: $t) { ok } }", t=tokens["refreshToken"])
    data = (await Api(app).ok(REFRESH, t=tokens["refreshToken"]))["tokenRefresh"]
    assert data["errors"][0]["code"] == "INVALID_TOKEN"


async def test_api_key_is_hashed_scoped_and_revocable(app, tenant):
    created = await tenant.api.ok(
        'mutation { apiKeyCreate(name: "billing server", role: AGENT, expiresInDays: 30) { key apiKey { id prefix } errors { code } } }'
    )
    key = created["apiKeyCreate"]["key"]
    row = await ApiKey.get(prefix=created["apiKeyCreate"]["apiKey"]["prefix"])
    assert key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64
    server = Api(app, key)
    made = await server.ok('mutation { customerCreate(input: {name: "Via key"}) { customer { id } errors { code } } }')
    assert made["customerCreate"]["errors"] == []
    forbidden = await server('{ apiKeys { totalCount } }')  # agent role: not an admin
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await tenant.api.ok("mutation($id: ID!) { apiKeyRevoke(id: $id) { apiKey { revokedAt } } }", id=created["apiKeyCreate"]["apiKey"]["id"])
    refused = await server("{ customers { totalCount } }")
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_expired_api_key_is_refused(app, tenant):
    from datetime import timedelta

    from seva_crm.core.common.security import utcnow

    keyed = await tenant.api_key(Role.VIEWER)
    await ApiKey.filter(tenant_id=tenant.id).update(expires_at=utcnow() - timedelta(seconds=1))
    body = await keyed("{ customers { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_nobody_grants_a_role_above_their_own(tenant):
    admin = await tenant.api_as(Role.ADMIN)
    data = await admin.ok('mutation { userInvite(email: "boss@example.com", role: OWNER) '
                          '{ invitation { id } errors { field code } } }')
    assert data["userInvite"]["errors"] == [{"field": "role", "code": "FORBIDDEN"}]
    ok = await admin.ok('mutation { userInvite(email: "agent-x@example.com", role: AGENT) '
                        '{ invitation { role } errors { code } } }')
    assert ok["userInvite"]["invitation"]["role"] == "AGENT"


async def test_only_operators_create_tenants(app, tenant):
    from seva_crm.core.identity.tenants import create_user

    body = await tenant.api('mutation { tenantCreate(name: "X", region: BD, ownerEmail: "o@example.com", ownerPassword: "long-enough-pw") '
                            '{ tenant { id } } }')
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await create_user(None, "operator-1@example.com", PASSWORD, Role.OWNER, superuser=True)
    operator = await login(app, "operator-1@example.com")
    data = await operator.ok('mutation { tenantCreate(name: "Sylhet Net", region: BD, ownerEmail: "owner@sylhet.example.com", '
                             'ownerPassword: "long-enough-pw") { tenant { region timezone } owner { role } errors { code } } }')
    assert data["tenantCreate"]["tenant"] == {"region": "BD", "timezone": "Asia/Dhaka"}
    assert data["tenantCreate"]["owner"]["role"] == "OWNER"
    # an operator acts for no tenant, so tenant data is not theirs to read
    body = await operator("{ customers { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_email_verification_code_flow(tenant, caplog):
    with caplog.at_level(logging.WARNING, logger="seva.notify"):
        await tenant.api.ok("mutation { emailVerificationStart { ok errors { code } } }")
    code = caplog.records[-1].getMessage().rsplit(" ", 1)[-1]
    assert tenant.owner_email not in caplog.text  # the log names the user id, never the address
    wrong = await tenant.api.ok('mutation { emailVerificationConfirm(code: "000000x") { user { emailVerified } errors { code } } }')
    assert wrong["emailVerificationConfirm"]["errors"][0]["code"] == "INVALID"
    ok = await tenant.api.ok("mutation($c: String!) { emailVerificationConfirm(code: $c) { user { emailVerified } errors { code } } }",
                             c=code)
    assert ok["emailVerificationConfirm"]["user"]["emailVerified"] is True
    again = await tenant.api.ok("mutation($c: String!) { emailVerificationConfirm(code: $c) { errors { code } } }", c=code)
    assert again["emailVerificationConfirm"]["errors"][0]["code"] == "EXPIRED"


async def test_phone_verification_limits_attempts(tenant, caplog):
    with caplog.at_level(logging.WARNING, logger="seva.notify"):
        await tenant.api.ok('mutation { phoneVerificationStart(phone: "98765 11111") { ok errors { code } } }')
    code = caplog.records[-1].getMessage().rsplit(" ", 1)[-1]
    assert "98765" not in caplog.text and "9876511111" not in caplog.text
    for _ in range(5):
        await tenant.api.ok('mutation { phoneVerificationConfirm(code: "bad") { errors { code } } }')
    locked = await tenant.api.ok("mutation($c: String!) { phoneVerificationConfirm(code: $c) { errors { code } } }", c=code)
    assert locked["phoneVerificationConfirm"]["errors"][0]["code"] == "TOO_MANY_ATTEMPTS"
    with caplog.at_level(logging.WARNING, logger="seva.notify"):
        await tenant.api.ok('mutation { phoneVerificationStart(phone: "98765 11111") { ok } }')
    code = caplog.records[-1].getMessage().rsplit(" ", 1)[-1]
    done = await tenant.api.ok("mutation($c: String!) { phoneVerificationConfirm(code: $c) { user { phone phoneVerified } "
                               "errors { code } } }", c=code)
    assert done["phoneVerificationConfirm"]["user"] == {"phone": "+919876511111", "phoneVerified": True}


async def test_passwords_are_argon2id_hashes(tenant):
    from seva_crm.core.models import User

    user = await User.get(email=tenant.owner_email)
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
