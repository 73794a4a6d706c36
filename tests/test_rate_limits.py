"""Rate limits that hold under concurrency: the check and the count are one atomic step (truly
concurrent on PostgreSQL, each on its own pooled connection; serialised by SQLite's writer lock),
and sign-in throttling cannot be turned against the account's owner."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from seva_crm.core.platform import ratelimit
from seva_crm.core.common.enums import RequestType, VerificationPurpose
from seva_crm.core.common.errors import DomainError
from seva_crm.core.platform.ratelimit import Limit
from seva_crm.core.common.security import digest, utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.identity import auth, login_limits
from seva_crm.core.models import Customer, PrivacyRequest, RateLimit, User, VerificationCode
from seva_crm.core.privacy import notify, requests
from tests.conftest import PASSWORD, is_postgres


@pytest.fixture
def small_limits(monkeypatch):
    """Ceilings of 4 (each failure checks a password, which takes a while)."""
    settings = get_settings()
    monkeypatch.setattr(settings, "login_max_failures_per_account", 4)
    monkeypatch.setattr(settings, "login_max_failures_per_ip", 4)
    return settings


@pytest.fixture
def still(clock):
    """The clock stands still: waits only pass when the test moves it."""
    clock.tick = False
    clock.set(utcnow())
    return clock


async def outcomes(attempts) -> list[str]:
    """Run the attempts at once; what each came to (ok, or the error code)."""
    async def one(attempt):
        try:
            await attempt
        except DomainError as exc:
            return exc.errors[0].code.value
        return "ok"

    return await asyncio.gather(*(one(a) for a in attempts))


def counting_passwords(monkeypatch) -> list[int]:
    checked = []
    real = auth.verify_password

    def verify(password_hash, password):
        checked.append(1)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", verify)
    return checked


async def test_concurrent_takes_pass_exactly_the_limit(still):
    key = f"k-{uuid.uuid4().hex}"  # its own counter, on a database kept from an earlier run too
    results = await asyncio.gather(*(ratelimit.take("test", key, Limit(7, 60)) for _ in range(50)))
    print(f"ratelimit.take: {sum(results)} of 50 concurrent attempts passed a limit of 7 "
          f"({'PostgreSQL' if is_postgres() else 'SQLite'})")
    assert sum(results) == 7
    assert (await RateLimit.get(bucket="test", key_hash=ratelimit._key("test", key))).hits == 7
    still.advance(seconds=61)  # the window has passed: counting starts again
    assert await ratelimit.take("test", key, Limit(7, 60))


async def test_concurrent_wrong_passwords_check_exactly_the_limit(tenant, still, monkeypatch):
    checked = counting_passwords(monkeypatch)
    results = await outcomes([auth.login(tenant.owner_email, "wrong-password!", ip="203.0.113.40") for _ in range(40)])
    print(f"sign-in: {len(checked)} of 40 concurrent wrong passwords checked against a limit of 5; "
          f"{results.count('rate_limited')} refused unchecked")
    assert len(checked) == 5
    assert results.count("invalid_credentials") == 5 and results.count("rate_limited") == 35


async def test_a_stranger_cannot_lock_the_owner_out(tenant, still, monkeypatch):
    checked = counting_passwords(monkeypatch)
    stranger = "198.51.100.66"
    results = await outcomes([auth.login(tenant.owner_email, f"guess-{i}-wrong", ip=stranger) for i in range(8)])
    assert sorted(results) == ["invalid_credentials"] * 5 + ["rate_limited"] * 3 and len(checked) == 5
    # the owner, from their own address, signs in with the right password at once
    assert (await auth.login(tenant.owner_email, PASSWORD, ip="192.0.2.10")).user.email == tenant.owner_email
    # the stranger's further guesses wait, longer each time: 1 s, then 2 s, then 4 s
    for wait in (1, 2, 4):
        still.advance(seconds=wait - 0.1)
        assert await outcomes([auth.login(tenant.owner_email, "again-wrong", ip=stranger)]) == ["rate_limited"]
        still.advance(seconds=0.1)
        assert await outcomes([auth.login(tenant.owner_email, "again-wrong", ip=stranger)]) == ["invalid_credentials"]


async def test_the_account_ceiling_refuses_strangers_and_only_slows_known_clients(tenant, still, small_limits):
    home = "192.0.2.20"
    await auth.login(tenant.owner_email, PASSWORD, ip=home)  # the owner has signed in from here before
    ceiling = get_settings().login_max_failures_per_account
    spread = await outcomes([auth.login(tenant.owner_email, "wrong-guess!", ip=f"198.51.100.{i}") for i in range(ceiling)])
    assert spread == ["invalid_credentials"] * ceiling
    # a new address is refused now, even with the right password
    assert await outcomes([auth.login(tenant.owner_email, PASSWORD, ip="198.51.100.250")]) == ["rate_limited"]
    # the owner's known address is never refused, only slowed: a typo costs a wait
    assert await outcomes([auth.login(tenant.owner_email, "typo-typo!", ip=home)]) == ["invalid_credentials"]
    assert await outcomes([auth.login(tenant.owner_email, PASSWORD, ip=home)]) == ["rate_limited"]
    still.advance(seconds=1)
    assert await outcomes([auth.login(tenant.owner_email, PASSWORD, ip=home)]) == ["ok"]
    # and once the window has passed, strangers are back to their own per-client limit
    still.advance(seconds=get_settings().login_window_seconds)
    assert await outcomes([auth.login(tenant.owner_email, PASSWORD, ip="198.51.100.250")]) == ["ok"]


async def test_failures_behind_one_address_do_not_lock_out_its_known_users(make_tenant, still, small_limits):
    office = "203.0.113.77"
    colleague = await make_tenant()
    await auth.login(colleague.owner_email, PASSWORD, ip=office)
    limit = get_settings().login_max_failures_per_ip
    guesses = await outcomes([auth.login(f"guess{i}@example.com", "wrong-guess!", ip=office) for i in range(limit)])
    assert guesses == ["invalid_credentials"] * limit
    newcomer = await make_tenant()
    assert await outcomes([auth.login(newcomer.owner_email, PASSWORD, ip=office)]) == ["rate_limited"]
    assert await outcomes([auth.login(colleague.owner_email, PASSWORD, ip=office)]) == ["ok"]
    assert await outcomes([auth.login(newcomer.owner_email, PASSWORD, ip="203.0.113.78")]) == ["ok"]


async def test_sign_ins_are_not_failures(tenant, still, small_limits):
    """Successes give their attempts back: a whole office signing in from one address is fine."""
    office = "203.0.113.90"
    for _ in range(small_limits.login_max_failures_per_ip + 2):
        assert await outcomes([auth.login(tenant.owner_email, PASSWORD, ip=office)]) == ["ok"]
        await ratelimit.clear(login_limits.KNOWN, f"{tenant.owner_email}\n{office}")  # a new colleague each time


async def test_concurrent_privacy_codes_compare_exactly_the_limit(tenant, still):
    customer = await Customer.create(tenant_id=tenant.id, name="Code Person", phone="+919876500501")
    with notify.listen() as sent:
        request = await requests.create_request(tenant.scope, customer.id, RequestType.ACCESS, send_code_via="sms")
    assert len(sent) == 1
    results = await outcomes([requests.verify_code(tenant.scope, request.id, "000000x") for _ in range(30)])
    print(f"privacy code: {results.count('invalid')} of 30 concurrent wrong codes compared against a limit of 3")
    assert results.count("invalid") == requests.CODE_MAX_ATTEMPTS and results.count("too_many_attempts") == 27
    assert (await PrivacyRequest.get(id=request.id)).code_attempts == requests.CODE_MAX_ATTEMPTS
    # the right code is refused too now; a new code starts afresh
    assert await outcomes([requests.verify_code(tenant.scope, request.id, sent[0].secret)]) == ["too_many_attempts"]


async def test_concurrent_staff_codes_compare_exactly_the_limit(tenant, still):
    user = await User.get(email=tenant.owner_email)
    await VerificationCode.create(user_id=user.id, purpose=VerificationPurpose.EMAIL, target=user.email,
                                  code_hash=digest("123456", "code"), expires_at=utcnow() + timedelta(minutes=10))
    results = await outcomes([auth.confirm_verification(user.id, VerificationPurpose.EMAIL, "654321") for _ in range(30)])
    print(f"staff code: {results.count('invalid')} of 30 concurrent wrong codes compared against a limit of 5")
    assert results.count("invalid") == auth.CODE_MAX_ATTEMPTS and results.count("too_many_attempts") == 25
    assert await outcomes([auth.confirm_verification(user.id, VerificationPurpose.EMAIL, "123456")]) == ["too_many_attempts"]


async def test_prune_forgets_only_passed_windows(still):
    await ratelimit.take("test-prune", "old", Limit(3, 60))
    still.advance(seconds=30)
    await ratelimit.take("test-prune", "new", Limit(3, 60))
    still.advance(seconds=45)
    await ratelimit.prune(utcnow())
    left = await RateLimit.filter(bucket="test-prune").values_list("key_hash", flat=True)
    assert left == [ratelimit._key("test-prune", "new")]
