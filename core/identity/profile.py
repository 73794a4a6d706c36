"""The tenant's profile: how the business describes itself on invoices and to its customers.

Owners edit it; every change is audited with the values before and after (the business's
contact phone and email as keyed digests). India: the GSTIN is checked (format, state code,
check character) and its first two digits must be the address's GST state code (given alone,
the GSTIN sets it). Bangladesh: a 9 or 13 digit BIN. The logo is a PNG or JPEG of at most
256 KiB, recognised by its bytes, not by what the caller says it is."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from seva_crm.core.common.enums import Region
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.tax_ids import GST_STATES, check_bin, check_gstin, check_state_code
from seva_crm.core.common.validation import normalize_email, normalize_phone, require_text
from seva_crm.core.models import PrivacyProfile, Tenant, TenantProfile
from seva_crm.core.platform import audit

MAX_LOGO_BYTES = 256 * 1024
LOCALES = ("en-IN", "hi-IN", "bn-IN", "en-BD", "bn-BD")
POSTAL = {Region.IN: (6, "a PIN code of 6 digits"), Region.BD: (4, "a postcode of 4 digits")}
TEXT = {"legal_name": 200, "registration_number": 64, "address_line1": 200, "address_line2": 200, "city": 100,
        "state": 100}
PERSONAL = ("phone", "email")  # a sole trader's own: digests in the audit log


@dataclass(frozen=True)
class Profile:
    tenant: Tenant
    profile: TenantProfile
    grievance: PrivacyProfile | None  # the privacy contact lives in the privacy settings


async def get_profile(tenant_id: Any) -> Profile:
    tenant = await Tenant.get(id=tenant_id)
    row = await TenantProfile.get_or_none(tenant_id=tenant_id) or TenantProfile(tenant_id=tenant_id, country=tenant.region.value)
    return Profile(tenant, row, await PrivacyProfile.get_or_none(tenant_id=tenant_id))


def _check(region: Region, current: TenantProfile, changes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    errors: list[FieldError] = []

    def attempt(key: str, check) -> None:
        if key in changes:
            try:
                out[key] = check(changes[key])
            except DomainError as exc:
                errors.extend(exc.errors)

    attempt("name", lambda v: require_text(v, "name", 200))
    for key, limit in TEXT.items():
        attempt(key, lambda v, key=key, limit=limit: _text(v, _camel(key), limit))
    attempt("state_code", lambda v: check_state_code(v, "stateCode") if region is Region.IN else _text(v, "stateCode", 2))
    attempt("postal_code", lambda v: _postal(region, v))
    attempt("gstin", lambda v: (check_gstin(v) if (v or "").strip() else "") if region is Region.IN else _only(v, "gstin", "India"))
    attempt("bin", lambda v: (check_bin(v) if (v or "").strip() else "") if region is Region.BD else _only(v, "bin", "Bangladesh"))
    attempt("phone", lambda v: normalize_phone(v, region, "phone") if (v or "").strip() else "")
    attempt("email", lambda v: normalize_email(v, "email").lower() if (v or "").strip() else "")
    attempt("timezone", _timezone)
    attempt("locale", lambda v: v if v in LOCALES else _bad("locale", f"one of {', '.join(LOCALES)}"))
    if errors:
        raise DomainError(*errors)
    if region is Region.IN:
        gstin = out.get("gstin", current.gstin)
        state_code = out.get("state_code", current.state_code)
        if gstin and not state_code:
            out["state_code"] = state_code = gstin[:2]
        if gstin and gstin[:2] != state_code:
            raise DomainError.of("gstin", ErrorCode.INVALID, f"the GSTIN is of state {gstin[:2]}, the address of state {state_code}")
        if "state_code" in out and out["state_code"] and not out.get("state", current.state):
            out["state"] = GST_STATES[out["state_code"]]
    return out


def _text(value: Any, field: str, limit: int) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise DomainError.of(field, ErrorCode.INVALID, f"at most {limit} characters")
    return text


def _postal(region: Region, value: Any) -> str:
    code = (value or "").strip().replace(" ", "")
    digits, message = POSTAL[region]
    if code and not (code.isdigit() and len(code) == digits):
        raise DomainError.of("postalCode", ErrorCode.INVALID, message)
    return code


def _only(value: Any, field: str, country: str) -> str:
    if (value or "").strip():
        raise DomainError.of(field, ErrorCode.INVALID, f"a {field.upper()} is for tenants in {country}")
    return ""


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        _bad("timezone", "an IANA timezone such as Asia/Kolkata")
    return str(value)


def _bad(field: str, message: str):
    raise DomainError.of(field, ErrorCode.INVALID, message)


def check_logo(data_base64: str | None) -> tuple[bytes, str]:
    """Decoded logo bytes and their type; INVALID for bad base64, too large, or not PNG/JPEG."""
    try:
        data = base64.b64decode(data_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        _bad("logo", "not valid base64")
    return sniff_logo(data)


def sniff_logo(data: bytes) -> tuple[bytes, str]:
    if not data:
        _bad("logo", "empty")
    if len(data) > MAX_LOGO_BYTES:
        _bad("logo", f"at most {MAX_LOGO_BYTES // 1024} KiB")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data, "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return data, "image/jpeg"
    _bad("logo", "a PNG or JPEG image")
    raise AssertionError("unreachable")


async def update_profile(tenant: TenantScope, changes: dict[str, Any]) -> Profile:
    """Change the fields given (``logo``: base64, or None/"" to remove it). Audited."""
    current = await get_profile(tenant.id)
    logo_change = "logo" in changes
    logo: tuple[bytes, str] | None = None
    errors: list[FieldError] = []
    if logo_change and changes["logo"]:
        try:
            logo = check_logo(changes["logo"])
        except DomainError as exc:
            errors.extend(exc.errors)
    try:
        values = _check(tenant.region, current.profile, {k: v for k, v in changes.items() if k != "logo"})
    except DomainError as exc:
        raise DomainError(*errors, *exc.errors) from None
    if errors:
        raise DomainError(*errors)
    on_tenant = {k: values.pop(k) for k in ("name", "timezone", "locale") if k in values}
    before = {k: getattr(current.tenant, k) for k in on_tenant} | {k: getattr(current.profile, k) for k in values}
    async with in_transaction():
        row = await TenantProfile.select_for_update().get_or_none(tenant_id=tenant.id)
        if row is None:
            try:
                async with in_transaction():
                    row = await TenantProfile.create(tenant_id=tenant.id, country=tenant.region.value)
            except IntegrityError:  # created concurrently
                row = await TenantProfile.select_for_update().get(tenant_id=tenant.id)
        row.update_from_dict(values)
        if logo_change:
            row.logo, row.logo_type = (logo if logo else (None, ""))
        await row.save()
        if on_tenant:
            await Tenant.filter(id=tenant.id).update(**on_tenant)
        changed = sorted(k for k in (*on_tenant, *values) if before[k] != (on_tenant | values)[k])
        if logo_change:
            changed.append("logo")
        if changed:
            after = on_tenant | values

            def shown(key: str, value: Any) -> Any:
                return audit.personal(value) if key in PERSONAL and value else value

            await audit.record(tenant.id, "tenant.profile_updated", subject_type="tenant", subject_id=tenant.id, changed=changed,
                               details={"before": {k: shown(k, before[k]) for k in changed if k != "logo"},
                                        "after": {k: shown(k, after[k]) for k in changed if k != "logo"},
                                        **({"logo": row.logo_type or "removed"} if logo_change else {})})
    return await get_profile(tenant.id)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)
