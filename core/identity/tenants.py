"""Tenants (operator level), their staff users and API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from seva_crm.core.platform import audit
from seva_crm.core.common.enums import Region, Role
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.models import ApiKey, Tenant, User
from seva_crm.core.common.security import digest, hash_password, new_api_key, utcnow
from seva_crm.core.common.validation import check_password, collect, normalize_email, require_text

REGION_DEFAULTS = {Region.IN: ("Asia/Kolkata", "en-IN"), Region.BD: ("Asia/Dhaka", "en-BD")}


async def create_tenant(name: str, region: Region, owner_email: str, owner_password: str, owner_name: str = "") -> tuple[Tenant, User]:
    """A new tenant and its first user, the owner, in one transaction."""
    name, email, _ = collect(
        lambda: require_text(name, "name", 200),
        lambda: normalize_email(owner_email, "ownerEmail").lower(),
        lambda: check_password(owner_password, "ownerPassword"),
    )
    timezone, locale = REGION_DEFAULTS[region]
    async with in_transaction():
        tenant = await Tenant.create(name=name, region=region, timezone=timezone, locale=locale)
        owner = await _create_user(tenant, email, owner_password, Role.OWNER, owner_name, "ownerEmail")
        await audit.record(tenant.id, "tenant.created", subject_type="tenant", subject_id=tenant.id,
                           details={"region": region.value})
    return tenant, owner


async def create_user(
    tenant_id: UUID | None, email: str, password: str, role: Role, name: str = "", *, superuser: bool = False
) -> User:
    """A staff user of ``tenant_id``, or an operator superuser (``tenant_id`` None, ``superuser``)."""
    email, _ = collect(lambda: normalize_email(email).lower(), lambda: check_password(password))
    tenant = None
    if not superuser:
        tenant = await Tenant.get_or_none(id=tenant_id) if tenant_id else None
        if tenant is None:
            raise NotFound("tenant", "tenant")
    return await _create_user(tenant, email, password, role, name, "email", superuser=superuser)


# Sign-in is by email alone, so an address belongs to one user on the whole instance. The refusal
# is the same wherever the address is in use, and does not say that it is: no tenant learns from
# it whether another tenant's staff (or an operator) uses an address.
EMAIL_UNAVAILABLE = "this email address cannot be used for a new user; use another one"


async def _create_user(tenant, email, password, role, name, field, *, superuser=False) -> User:
    if await User.exists(email=email):
        raise DomainError.of(field, ErrorCode.INVALID, EMAIL_UNAVAILABLE)
    password_hash = await hash_password(password)
    try:
        user = await User.create(
            tenant=tenant, email=email, password_hash=password_hash, role=role, name=name.strip(),
            is_superuser=superuser,
        )
    except IntegrityError:
        raise DomainError.of(field, ErrorCode.INVALID, EMAIL_UNAVAILABLE) from None
    await audit.record(tenant.id if tenant else None, "user.created", subject_type="user", subject_id=user.id,
                       details={"role": role.value, "superuser": superuser})
    return user


async def create_api_key(tenant_id: UUID, name: str, role: Role, expires_in_days: int | None = 365,
                         created_by: UUID | None = None) -> tuple[ApiKey, str]:
    """Returns the row and the key itself, which is shown this once and stored only as a digest."""
    name = require_text(name, "name", 100)
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise DomainError.of("expiresInDays", ErrorCode.INVALID, "must be between 1 and 3650")
    if not await Tenant.exists(id=tenant_id):
        raise NotFound("tenant", "tenant")
    prefix, key = new_api_key()
    row = await ApiKey.create(
        tenant_id=tenant_id, name=name, role=role, prefix=prefix, key_hash=digest(key, "api-key"),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None, created_by_id=created_by,
    )
    await audit.record(tenant_id, "api_key.created", subject_type="api_key", subject_id=row.id, details={"role": role.value})
    return row, key


async def revoke_api_key(tenant_id: UUID, key_id: UUID) -> ApiKey:
    row = await ApiKey.get_or_none(id=key_id, tenant_id=tenant_id)
    if row is None:
        raise NotFound("API key")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await row.save(update_fields=["revoked_at"])
        await audit.record(tenant_id, "api_key.revoked", subject_type="api_key", subject_id=row.id)
    return row


@dataclass(frozen=True)
class TenantInfo:
    """What a plugin may show of a tenant (e.g. on an unsubscribe page)."""

    id: UUID
    name: str
    region: Region


async def tenant_info(tenant_id: UUID | None) -> TenantInfo | None:
    tenant = await Tenant.get_or_none(id=tenant_id).only("id", "name", "region") if tenant_id else None
    return TenantInfo(tenant.id, tenant.name, tenant.region) if tenant else None
