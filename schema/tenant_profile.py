"""The tenant's profile in the API: read through ``me { tenant { profile { ... } } }``, changed by
owners with ``tenantProfileUpdate``."""

from __future__ import annotations

import base64

import strawberry
from strawberry import Info

from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.identity import profile as profiles
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs


@strawberry.type
class PostalAddress:
    line1: str
    line2: str
    city: str
    state: str
    state_code: str = strawberry.field(description="India: the GST state code, e.g. 27 (Maharashtra)")
    postal_code: str
    country: str


@strawberry.type(description="The tenant's logo, as stored: PNG or JPEG, at most 256 KiB")
class Logo:
    content_type: str
    base64: str


@strawberry.type(description="The privacy contact published to data subjects (from the privacy settings)")
class GrievanceOfficer:
    name: str
    email: str
    phone: str


@strawberry.type(description="How the business describes itself on invoices and to its customers.")
class TenantProfile:
    legal_name: str = strawberry.field(description="Empty: the tenant's name")
    registration_number: str
    address: PostalAddress
    gstin: str = strawberry.field(description="India: GST identification number")
    bin: str = strawberry.field(description="Bangladesh: VAT business identification number")
    phone: str
    email: str
    logo: Logo | None
    grievance_officer: GrievanceOfficer | None


def profile_of(found: profiles.Profile) -> TenantProfile:
    p = found.profile
    g = found.grievance
    return TenantProfile(
        legal_name=p.legal_name, registration_number=p.registration_number,
        address=PostalAddress(line1=p.address_line1, line2=p.address_line2, city=p.city, state=p.state, state_code=p.state_code,
                              postal_code=p.postal_code, country=p.country),
        gstin=p.gstin, bin=p.bin, phone=p.phone, email=p.email,
        logo=Logo(content_type=p.logo_type, base64=base64.b64encode(p.logo).decode()) if p.logo else None,
        grievance_officer=GrievanceOfficer(name=g.contact_name, email=g.contact_email, phone=g.contact_phone)
        if g and (g.contact_name or g.contact_email or g.contact_phone) else None,
    )


async def load_profile(tenant_id) -> TenantProfile:
    return profile_of(await profiles.get_profile(tenant_id))


@strawberry.input(description="Only the fields given change; an empty string clears one.")
class TenantProfileInput:
    name: str | None = None
    legal_name: str | None = None
    registration_number: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    state_code: str | None = None
    postal_code: str | None = None
    gstin: str | None = None
    bin: str | None = None
    phone: str | None = None
    email: str | None = None
    timezone: str | None = None
    locale: str | None = strawberry.field(default=None, description="en-IN, hi-IN, bn-IN, en-BD or bn-BD")
    logo: str | None = strawberry.field(default=None, description="A PNG or JPEG of at most 256 KiB, base64; empty removes it")


@strawberry.type
class TenantProfilePayload:
    profile: TenantProfile | None
    errors: list[UserError]


async def _update(tenant, changes) -> TenantProfile:
    return profile_of(await profiles.update_profile(tenant, changes))


@strawberry.type
class TenantProfileMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.OWNER), description="Change the tenant's profile (owners; audited)")
    async def tenant_profile_update(self, info: Info, input: TenantProfileInput) -> TenantProfilePayload:
        changes = {k: v for k, v in vars(input).items() if v is not None}
        return await payload(TenantProfilePayload, "profile", _update(info.context.tenant, changes))
