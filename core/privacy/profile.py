"""A tenant's privacy profile: other regions it answers to, its published contact, its own purposes."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from seva_crm.core.platform.context import forget
from seva_crm.core.platform import audit
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.models import PrivacyProfile
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.privacy.policy import known_region
from seva_crm.core.common.validation import normalize_email, normalize_phone

BUILT_IN_PURPOSES = ("service", "marketing")
PURPOSE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


async def get_profile(tenant_id: UUID) -> PrivacyProfile:
    profile, _ = await PrivacyProfile.get_or_create(tenant_id=tenant_id)
    return profile


async def update_profile(tenant: TenantScope, changes: dict[str, Any]) -> PrivacyProfile:
    """Change the regions the tenant also answers to, its contact, or its purposes. Audited."""
    profile = await get_profile(tenant.id)
    values: dict[str, Any] = {}
    if "also_answers_to" in changes:
        values["also_answers_to"] = [r for r in dict.fromkeys(known_region(v) for v in changes["also_answers_to"] or [])
                                     if r != tenant.region.value]
    if "contact_name" in changes:
        values["contact_name"] = (changes["contact_name"] or "").strip()[:200]
    if "contact_email" in changes:
        values["contact_email"] = normalize_email(changes["contact_email"], "contactEmail") if changes["contact_email"] else ""
    if "contact_phone" in changes:
        values["contact_phone"] = (normalize_phone(changes["contact_phone"], tenant.region, "contactPhone")
                                   if changes["contact_phone"] else "")
    if "custom_purposes" in changes:
        purposes = list(dict.fromkeys(p.strip().lower() for p in changes["custom_purposes"] or []))
        bad = [p for p in purposes if not PURPOSE_PATTERN.match(p) or p in BUILT_IN_PURPOSES]
        if bad:
            raise DomainError.of("customPurposes", ErrorCode.INVALID,
                                 f"not allowed: {', '.join(bad)} (lower-case letters, digits and _, not a built-in purpose)")
        values["custom_purposes"] = purposes
    changed, details = audit.setting_changes({k: getattr(profile, k) for k in values}, values,
                                             personal_keys=("contact_name", "contact_email", "contact_phone"))
    if not changed:
        return profile
    async with in_transaction():
        profile.update_from_dict(values)
        await profile.save()
        await audit.record(tenant.id, "privacy_profile.updated", subject_type="privacy_profile", subject_id=profile.id,
                           changed=changed, details=details)
    forget(tenant.id)  # the policy this request kept answers to other regions now
    return profile


async def purposes_of(tenant_id: UUID) -> list[str]:
    profile = await PrivacyProfile.get_or_none(tenant_id=tenant_id)
    return [*BUILT_IN_PURPOSES, *(profile.custom_purposes if profile else [])]
