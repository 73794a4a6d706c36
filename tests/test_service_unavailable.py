"""A service the instance cannot provide (no SMTP server in production) is a payload error the
caller can read, not an INTERNAL error."""

from seva_crm.core.common.settings import get_settings

START = "mutation { emailVerificationStart { ok errors { field code message } } }"


async def test_email_verification_without_smtp_in_production_is_a_payload_error(tenant, monkeypatch):
    monkeypatch.setenv("SEVA_ENV", "production")
    monkeypatch.setenv("SEVA_SMTP_HOST", "")
    monkeypatch.setenv("SEVA_PASSWORD_HASH_MEMORY_KIB", "19456")  # production refuses the tests' cheap hashing
    monkeypatch.setenv("SEVA_PASSWORD_HASH_TIME_COST", "2")
    get_settings.cache_clear()
    try:
        data = await tenant.api.ok(START)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert data["emailVerificationStart"]["ok"] is False
    (error,) = data["emailVerificationStart"]["errors"]
    assert error["code"] == "UNAVAILABLE" and "no email channel is configured" in error["message"]


async def test_in_development_the_code_goes_to_the_log(tenant):
    assert (await tenant.api.ok(START))["emailVerificationStart"] == {"ok": True, "errors": []}
