"""Customers: validation, duplicate detection, soft delete, filtering."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from seva_crm.core.platform import audit
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage.transactions import transaction
from seva_crm.core.platform import events
from seva_crm.core.common.enums import Language
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError, NotFound
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import Customer, CustomerTag
from seva_crm.core.customers.name_key import name_key
from seva_crm.core.platform.channel_catalog import check_channel, tenant_channels
from seva_crm.core.common.paging import SortKey, datetime_key
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.validation import normalize_email, normalize_phone, normalize_tags, require_text

EDITABLE = ("name", "phone", "email", "address", "date_of_birth", "preferred_channel", "language", "tags", "notes")

NOT_PERSONAL = ("preferred_channel", "language")  # values an audit entry may show in clear

SORTS: dict[str, SortKey] = {
    "CREATED_AT_DESC": datetime_key("created_at", True),
    "CREATED_AT_ASC": datetime_key("created_at", False),
    "UPDATED_AT_DESC": datetime_key("updated_at", True),
    "NAME_ASC": SortKey("name", False),
    "NAME_DESC": SortKey("name", True),
}


async def validate(data: dict[str, Any], tenant: TenantScope, *, partial: bool = False) -> dict[str, Any]:
    """``clean`` with the channels of the plugins the tenant enabled (for ``preferred_channel``)."""
    channels = await tenant_channels(tenant.id) if data.get("preferred_channel") else {}
    return clean(data, tenant, partial=partial, channels=channels)


def clean(data: dict[str, Any], tenant: TenantScope, *, partial: bool = False,
          channels: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate and normalise customer fields; raises one DomainError naming every bad field.
    With ``partial`` only the keys present are checked (an update). A preferred channel must be
    one of ``channels`` (the tenant's, by id: ``validate`` looks them up); none means the
    tenant's channel order."""
    out: dict[str, Any] = {}
    errors: list[FieldError] = []

    def check(key: str, fn) -> None:
        if key not in data:
            return
        try:
            out[key] = fn(data[key])
        except DomainError as exc:
            errors.extend(exc.errors)
        except ValueError:  # not one of an enum's values
            errors.append(FieldError(_api_name(key), ErrorCode.INVALID, f"{data[key]!r} is not allowed here"))

    if not partial and "name" not in data:
        data = {**data, "name": ""}
    check("name", lambda v: require_text(v, "name", 200))
    check("phone", lambda v: normalize_phone(v, tenant.region) if v and v.strip() else None)
    check("email", lambda v: normalize_email(v) if v and v.strip() else None)
    check("address", lambda v: (v or "").strip()[:2000])
    check("date_of_birth", _check_birth_date)
    check("preferred_channel", lambda v: check_channel(v, channels or {}, "preferredChannel") if v else "")
    check("language", lambda v: Language(v) if v else Language.EN)
    check("tags", lambda v: normalize_tags(v or []))
    check("notes", lambda v: (v or "")[:10_000])
    if errors:
        raise DomainError(*errors)
    return out


def _api_name(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)


def _check_birth_date(value: date | None) -> date | None:
    if value is not None and not date(1900, 1, 1) <= value <= utcnow().date():
        raise DomainError.of("dateOfBirth", ErrorCode.INVALID, "must be between 1900-01-01 and today")
    return value


async def _ensure_phone_free(tenant_id: UUID, phone: str | None, exclude: UUID | None = None) -> None:
    if not phone:
        return
    qs = Customer.filter(tenant_id=tenant_id, phone=phone)
    if exclude:
        qs = qs.exclude(id=exclude)
    existing = await qs.only("id", "name").first()
    if existing:
        raise duplicate_phone(existing.name, existing.id)


def duplicate_phone(name: str, id: UUID) -> DomainError:
    return DomainError.of(
        "phone", ErrorCode.DUPLICATE, f'this phone already belongs to customer "{name}" ({to_global_id("Customer", id)})'
    )


async def create_customer(tenant: TenantScope, data: dict[str, Any], *, join_household: bool = False) -> Customer:
    """A new customer. A phone already taken is a duplicate, unless ``join_household``: then the
    new customer joins the household of the customer holding it (core.customers.households)."""
    values = await validate(data, tenant)
    contact = await Customer.get_or_none(tenant_id=tenant.id, phone=values["phone"]) if join_household and values.get("phone") else None
    if contact is not None:
        values["phone"] = None
    await _ensure_phone_free(tenant.id, values.get("phone"))
    try:
        async with transaction():
            customer = await Customer.create(tenant_id=tenant.id, name_key=name_key(values["name"]),
                                             household_contact_id=contact.id if contact else None, **values)
            change_feed.record(tenant.id, ChangeType.CUSTOMER, customer.id, Op.CREATED)
            await _write_tags(customer, values.get("tags", []))
            await audit.record(tenant.id, "customer.created", subject_type="customer", subject_id=customer.id,
                               changed=[*values, *(["household_contact"] if contact else [])],
                               details={"household_contact": str(contact.id)} if contact else None)
            await events.emit(events.new_event(events.CUSTOMER_CREATED, tenant.id, customer.id))
    except IntegrityError:  # lost a race with another create of the same phone
        await _ensure_phone_free(tenant.id, values.get("phone"))
        raise
    return customer


def ensure_not_erased(customer: Customer, field: str = "id") -> None:
    """An erased customer is a locked stub: nothing may be written back into it or its records
    (a name typed in again would undo the erasure)."""
    if customer.erased_at is not None:
        raise DomainError.of(field, ErrorCode.ERASED, "this customer's data was erased; the record is locked")


async def update_customer(tenant: TenantScope, customer_id: UUID, changes: dict[str, Any]) -> Customer:
    customer = await get_customer(tenant.id, customer_id)
    ensure_not_erased(customer)
    values = await validate(changes, tenant, partial=True)
    if "phone" in values:
        await _ensure_phone_free(tenant.id, values["phone"], exclude=customer.id)
        if not values["phone"] and customer.phone and await Customer.filter(tenant_id=tenant.id, household_contact_id=customer.id).exists():
            raise DomainError.of("phone", ErrorCode.INVALID, "household members share this phone: they must leave the household first")
    if not values:
        return customer
    changed = [k for k, v in values.items() if getattr(customer, k) != v]
    details = field_changes(customer, values, changed)
    keys = ["name_key"] if "name" in values else []
    if values.get("phone") and customer.household_contact_id:  # a phone of its own: it leaves the household
        customer.household_contact_id = None
        keys.append("household_contact_id")
        changed.append("household_contact")
    async with transaction():
        customer.update_from_dict(values)
        customer.name_key = name_key(customer.name)
        await customer.save(update_fields=[*values, *keys, "updated_at"])
        change_feed.record(tenant.id, ChangeType.CUSTOMER, customer.id, Op.UPDATED)
        if "tags" in values:
            await CustomerTag.filter(customer_id=customer.id).delete()
            await _write_tags(customer, values["tags"])
        if changed:
            await audit.record(tenant.id, "customer.updated", subject_type="customer", subject_id=customer.id,
                               changed=changed, details=details)
        # which fields changed (names only, no values: events carry no personal data)
        await events.emit(events.new_event(events.CUSTOMER_UPDATED, tenant.id, customer.id, fields=sorted(values)))
    return customer


def field_changes(customer: Customer, values: dict[str, Any], changed: list[str]) -> dict[str, Any]:
    """Before and after of each changed field for the audit log: personal values as keyed digests."""
    def show(key: str, value: Any) -> Any:
        return str(value) if key in NOT_PERSONAL else audit.personal(value)

    return {"before": {k: show(k, getattr(customer, k)) for k in changed}, "after": {k: show(k, values[k]) for k in changed}}


async def _write_tags(customer: Customer, tags: list[str]) -> None:
    if tags:
        await CustomerTag.bulk_create([CustomerTag(tenant_id=customer.tenant_id, customer_id=customer.id, tag=t,
                                                   customer_created_at=customer.created_at) for t in tags])


LIVE_SUBSCRIPTIONS = ("trialing", "active", "past_due", "suspended", "paused")


async def delete_customer(tenant: TenantScope, customer_id: UUID) -> Customer:
    """Soft delete: hidden from lists by default, restorable. Erasure is a privacy request.
    A customer with live subscriptions is refused (HAS_SUBSCRIPTIONS): they would go on billing
    and count in MRR. ``core.billing.subscriptions.delete_customer`` cancels them first."""
    customer = await get_customer(tenant.id, customer_id)
    if customer.deleted_at is None:
        from seva_crm.core.models import Subscription

        live = await Subscription.filter(tenant_id=tenant.id, customer_id=customer.id, status__in=LIVE_SUBSCRIPTIONS).count()
        if live:
            raise DomainError.of("id", ErrorCode.HAS_SUBSCRIPTIONS, f"the customer has {live} live subscription(s): "
                                                                    "cancel them first, or delete with cancelSubscriptions")
        customer.deleted_at = utcnow()
        async with transaction():
            await customer.save(update_fields=["deleted_at", "updated_at"])
            change_feed.record(tenant.id, ChangeType.CUSTOMER, customer.id, Op.DELETED)
            await audit.record(tenant.id, "customer.deleted", subject_type="customer", subject_id=customer.id,
                               changed=["deleted_at"])
        await events.emit(events.new_event(events.CUSTOMER_DELETED, tenant.id, customer.id))
    return customer


async def restore_customer(tenant: TenantScope, customer_id: UUID) -> Customer:
    customer = await get_customer(tenant.id, customer_id)
    if customer.deleted_at is not None:
        ensure_not_erased(customer)
        customer.deleted_at = None
        async with transaction():
            await customer.save(update_fields=["deleted_at", "updated_at"])
            change_feed.record(tenant.id, ChangeType.CUSTOMER, customer.id, Op.CREATED)  # back in the front end's lists
            await audit.record(tenant.id, "customer.restored", subject_type="customer", subject_id=customer.id,
                               changed=["deleted_at"])
        await events.emit(events.new_event(events.CUSTOMER_RESTORED, tenant.id, customer.id))
    return customer


async def get_customer(tenant_id: UUID, customer_id: UUID | None, field: str = "id") -> Customer:
    customer = await Customer.get_or_none(id=customer_id, tenant_id=tenant_id) if customer_id else None
    if customer is None:
        raise NotFound("customer", field)
    return customer


@dataclass
class CustomerFilter:
    search: str | None = None  # name, phone or email contains
    phone: str | None = None
    email: str | None = None
    tags: list[str] = field(default_factory=list)  # customers having all of these tags
    created_after: datetime | None = None
    created_before: datetime | None = None
    deleted: bool = False  # False: live customers; True: only soft-deleted ones


def customer_queryset(tenant: TenantScope, f: CustomerFilter, sort: SortKey | None = None) -> QuerySet[Customer]:
    """The tenant's customers matching ``f``. Given the list's ``sort``, use ``list_sort`` for the
    page's order: with a tag filter and a created_at order, the first tag is joined and the list
    ordered by its row's copy of created_at, so one index, (tenant, tag, customer_created_at,
    customer_id), yields the page in order whether the tag has ten customers or a million."""
    qs = Customer.filter(tenant_id=tenant.id, deleted_at__isnull=not f.deleted)
    if f.search and (term := f.search.strip()):
        digits = "".join(c for c in term if c.isdigit())
        cond = Q(name__icontains=term) | Q(email__icontains=term)
        if len(digits) >= 4:
            cond |= Q(phone__contains=digits)
        qs = qs.filter(cond)
    if f.phone:
        qs = qs.filter(phone=normalize_phone(f.phone, tenant.region, "filter.phone"))
    if f.email:
        qs = qs.filter(email__iexact=f.email.strip())
    tags = normalize_tags(f.tags, "filter.tags")
    if tags and sort is not None and sort.field == "created_at":
        qs = qs.filter(tag_rows__tenant_id=tenant.id, tag_rows__tag=tags.pop(0))
    for tag in tags:
        qs = qs.filter(id__in=Subquery(CustomerTag.filter(tenant_id=tenant.id, tag=tag).values("customer_id")))
    if f.created_after:
        qs = qs.filter(created_at__gte=f.created_after)
    if f.created_before:
        qs = qs.filter(created_at__lt=f.created_before)
    return qs


def list_sort(f: CustomerFilter, sort: SortKey) -> SortKey:
    """The sort ``customer_queryset(tenant, f, sort)`` pages by (see there)."""
    if normalize_tags(f.tags, "filter.tags") and sort.field == "created_at":
        return SortKey("tag_rows__customer_created_at", sort.descending, sort.parse, attr="created_at")
    return sort
