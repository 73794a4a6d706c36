"""Customers and their service records."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
from strawberry import UNSET, Info
from strawberry.file_uploads import Upload

from seva_crm.core.billing import subscriptions
from seva_crm.core.crm import service_records as crm_service_records
from seva_crm.core.customers import csv_import, customers, households, service_records
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.ids import from_global_id, to_global_id
from seva_crm.core.models import Customer as CustomerRow
from seva_crm.core.models import ServiceRecord as ServiceRecordRow
from seva_crm.core.common.paging import encode_cursor
from seva_crm.schema.enums import Currency, CustomerOrder, Language, ServiceRecordOrder, ServiceStatus
from seva_crm.schema.errors import ErrorCodeEnum, UserError, payload
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import Connection, connection, list_connection
from seva_crm.schema.selection import nested_arguments

if TYPE_CHECKING:
    from seva_crm.schema.billing import Subscription

MAX_NESTED = 100


@strawberry.type(description="An amount of money in integer minor units (paise, poisha).")
class Money:
    amount: int
    currency: Currency


@strawberry.type(description="Something done for a customer: a form filed, a bill paid, a certificate.")
class ServiceRecord:
    @strawberry.field
    def id(self: ServiceRecordRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("ServiceRecord", self.id))

    service_name: str
    status: ServiceStatus
    reference_number: str
    follow_up_on: date | None
    notes: str
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    def fee(self: ServiceRecordRow) -> Money:
        return Money(amount=self.fee_amount, currency=self.currency)

    @strawberry.field
    async def customer(self: ServiceRecordRow, info: Info) -> Customer | None:
        return await info.context.loaders.customer.load(self.customer_id)


async def _contact_phone(info: Info, contact_id: UUID) -> str | None:
    contact = await info.context.loaders.customer.load(contact_id)
    return contact.phone if contact else None


@strawberry.type
class Customer:
    @strawberry.field
    def id(self: CustomerRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Customer", self.id))

    name: str

    @strawberry.field(description="E.164, e.g. +919876543210. A household member's is its contact's (the phone it shares)")
    def phone(self: CustomerRow, info: Info) -> str | None:
        if self.phone or not self.household_contact_id:
            return self.phone
        return _contact_phone(info, self.household_contact_id)  # awaited only for a household member

    @strawberry.field(description="Whose phone this customer shares, if it is a member of a household")
    async def household_contact(self: CustomerRow, info: Info) -> Customer | None:
        return await info.context.loaders.customer.load(self.household_contact_id) if self.household_contact_id else None

    @strawberry.field(description="The members who share this customer's phone (it is their household's contact)")
    async def household_members(self: CustomerRow, info: Info) -> list[Customer]:
        return [c for c in await info.context.loaders.household_members.load(self.id) if c.deleted_at is None]

    email: str | None
    address: str
    date_of_birth: date | None

    @strawberry.field(description="A channel id (see Query.notificationChannels); null: the tenant's channel order")
    def preferred_channel(self: CustomerRow) -> str | None:
        return self.preferred_channel or None

    language: Language
    tags: list[str]
    notes: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    erased_at: datetime | None = strawberry.field(description="Personal data erased on request: only a stub remains")
    disputed_fields: list[str] = strawberry.field(description="Fields whose refused correction the customer disputes")

    @strawberry.field(description="The customer's latest service records, newest first. Page further with Query.serviceRecords.")
    def service_records(self: CustomerRow, info: Info, first: int = 10) -> Connection[ServiceRecord]:
        first = max(0, min(first, MAX_NESTED))
        # one more than shown: whether there is a next page; the counts ask the whole list if needed
        preloaded = getattr(self, PRELOADED, None)
        if preloaded is not None and first + 1 in preloaded:  # loaded with the page (see preload_service_records)
            return _records_connection(self, preloaded[first + 1], first)
        return _load_records_connection(self, info, first)  # awaited: a customer from anywhere else

    @strawberry.field(description="The customer's subscriptions, newest first.")
    async def subscriptions(self: CustomerRow, info: Info) -> list[Annotated[Subscription, strawberry.lazy("seva_crm.schema.billing")]]:
        return await info.context.loaders.subscriptions_by_customer.load(self.id)


# Set on a customer row loaded by Query.customers: its latest service records by how many were
# loaded ({first + 1: rows}), so Customer.serviceRecords answers without a loader or a coroutine.
PRELOADED = "_seva_latest_records"


def _records_connection(customer: CustomerRow, rows: list[ServiceRecordRow], first: int) -> Connection:
    return list_connection(rows[:first], len(rows), lambda r: encode_cursor(r.created_at, r.id), order=("created_at", "id"),
                           rest=lambda: service_records.service_record_queryset(
                               customer.tenant_id, service_records.ServiceRecordFilter(customer_id=customer.id)))


async def _load_records_connection(customer: CustomerRow, info: Info, first: int) -> Connection:
    rows = await info.context.loaders.service_records_by_customer(first + 1).load(customer.id)
    return _records_connection(customer, rows, first)


def nested_record_limits(info: Info) -> set[int]:
    """How many records per customer the ``serviceRecords`` fields under ``edges { node }`` of this
    customers connection load (``first + 1`` each, as Customer.serviceRecords does)."""
    raw = info._raw_info
    definition = raw.schema.get_type("Customer").fields["serviceRecords"]
    firsts = (args.get("first") for args in nested_arguments(raw, ("edges", "node", "serviceRecords"), definition))
    return {max(0, min(first, MAX_NESTED)) + 1 for first in firsts if isinstance(first, int)}  # else the field words the error


async def preload_service_records(tenant_id: UUID, rows: list[CustomerRow], limits: set[int]) -> None:
    """Each customer's latest records, for every ``limit``, loaded with the page: the loader's own
    statement (latest_for_customers), once per limit, attached to the rows (PRELOADED)."""
    ids = [c.id for c in rows]
    for limit in sorted(limits):
        latest = await service_records.latest_for_customers(tenant_id, ids, limit)
        for c in rows:
            c.__dict__.setdefault(PRELOADED, {})[limit] = latest[c.id]


@strawberry.input
class CustomerFilter:
    search: str | None = strawberry.field(default=None, description="Name, email or phone digits contain this")
    phone: str | None = None
    email: str | None = None
    tags: list[str] | None = strawberry.field(default=None, description="Customers having all of these tags")
    created_after: datetime | None = None
    created_before: datetime | None = None
    deleted: bool = strawberry.field(default=False, description="true: only soft-deleted customers")


@strawberry.input
class CustomerCreateInput:
    name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    date_of_birth: date | None = None
    preferred_channel: str | None = strawberry.field(default=None, description="A channel id of the tenant's channels")
    language: Language | None = None
    tags: list[str] | None = None
    notes: str | None = None
    join_household: bool = strawberry.field(default=False, description="If another customer has this phone, share it "
                                            "as a member of that customer's household (else the phone is a duplicate)")


@strawberry.input(description="Only the fields given are changed; null clears an optional field.")
class CustomerUpdateInput:
    name: str | None = UNSET
    phone: str | None = UNSET
    email: str | None = UNSET
    address: str | None = UNSET
    date_of_birth: date | None = UNSET
    preferred_channel: str | None = strawberry.field(default=UNSET, description="A channel id of the tenant's "
                                                     "channels; null: the tenant's channel order")
    language: Language | None = UNSET
    tags: list[str] | None = UNSET
    notes: str | None = UNSET


@strawberry.type
class CustomerPayload:
    customer: Customer | None
    errors: list[UserError]


@strawberry.input
class ServiceRecordFilter:
    customer_id: strawberry.ID | None = None
    status: list[ServiceStatus] | None = None
    follow_up_due_by: date | None = strawberry.field(
        default=None, description="Open records whose follow-up date is on or before this day"
    )


@strawberry.input
class ServiceRecordCreateInput:
    customer_id: strawberry.ID
    service_name: str
    fee_amount: int = strawberry.field(default=0, description="Minor units")
    currency: Currency | None = strawberry.field(default=None, description="Default: the tenant's currency")
    status: ServiceStatus | None = None
    reference_number: str | None = None
    follow_up_on: date | None = None
    notes: str | None = None


@strawberry.input
class ServiceRecordUpdateInput:
    service_name: str | None = UNSET
    fee_amount: int | None = UNSET
    currency: Currency | None = UNSET
    status: ServiceStatus | None = UNSET
    reference_number: str | None = UNSET
    follow_up_on: date | None = UNSET
    notes: str | None = UNSET


@strawberry.type
class ServiceRecordPayload:
    service_record: ServiceRecord | None
    errors: list[UserError]


@strawberry.type
class ImportRowError:
    row: int = strawberry.field(description="Line in the file; the header is row 1")
    field: str | None
    code: ErrorCodeEnum
    message: str


@strawberry.type
class CustomersImportPayload:
    imported: int
    errors: list[ImportRowError]


MAX_IMPORT_BYTES = 20 * 1024 * 1024


def given(data: object) -> dict:
    """The fields of an input that the client actually sent, snake_cased as the services expect."""
    return {k: v for k, v in vars(data).items() if v is not UNSET}


def customer_id(value: str | None) -> UUID | None:
    return from_global_id(value, "Customer") if value else None


@strawberry.type
class CustomerQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def customer(self, info: Info, id: strawberry.ID) -> Customer | None:
        cid = customer_id(id)
        return await CustomerRow.get_or_none(id=cid, tenant_id=info.context.tenant.id) if cid else None

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def customers(
        self, info: Info, filter: CustomerFilter | None = None, order_by: CustomerOrder = CustomerOrder.CREATED_AT_DESC,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Customer]:
        f = customers.CustomerFilter(**{k: v for k, v in vars(filter).items() if v is not None}) if filter else customers.CustomerFilter()
        sort = customers.SORTS[order_by.value]
        qs = customers.customer_queryset(info.context.tenant, f, sort)
        page = await connection(qs, customers.list_sort(f, sort), first, after, last, before)
        if page.edges and (limits := nested_record_limits(info)):
            await preload_service_records(info.context.tenant.id, [e.node for e in page.edges], limits)
        return page

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def service_record(self, info: Info, id: strawberry.ID) -> ServiceRecord | None:
        rid = from_global_id(id, "ServiceRecord")
        return await ServiceRecordRow.get_or_none(id=rid, tenant_id=info.context.tenant.id) if rid else None

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER))
    async def service_records(
        self, info: Info, filter: ServiceRecordFilter | None = None,
        order_by: ServiceRecordOrder = ServiceRecordOrder.CREATED_AT_DESC,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ServiceRecord]:
        f = service_records.ServiceRecordFilter()
        if filter:
            if filter.customer_id is not None:
                # an unknown or foreign id matches nothing, exactly as if it did not exist
                f.customer_id = customer_id(filter.customer_id) or UUID(int=0)
            f.statuses = list(filter.status or [])
            f.follow_up_due_by = filter.follow_up_due_by
        qs = service_records.service_record_queryset(info.context.tenant.id, f)
        return await connection(qs, service_records.SORTS[order_by.value], first, after, last, before)


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def customer_create(self, info: Info, input: CustomerCreateInput) -> CustomerPayload:
        data = {k: v for k, v in vars(input).items() if v is not None and k != "join_household"}
        work = customers.create_customer(info.context.tenant, data, join_household=input.join_household)
        return await payload(CustomerPayload, "customer", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT),
                         description="Make a customer a member of another's household: it shares that customer's phone")
    async def customer_household_join(self, info: Info, id: strawberry.ID, contact_id: strawberry.ID) -> CustomerPayload:
        work = households.join_household(info.context.tenant, customer_id(id), customer_id(contact_id))
        return await payload(CustomerPayload, "customer", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT),
                         description="A household member stops sharing its contact's phone (it has none until given one)")
    async def customer_household_leave(self, info: Info, id: strawberry.ID) -> CustomerPayload:
        return await payload(CustomerPayload, "customer", households.leave_household(info.context.tenant, customer_id(id)))

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def customer_update(self, info: Info, id: strawberry.ID, input: CustomerUpdateInput) -> CustomerPayload:
        work = customers.update_customer(info.context.tenant, customer_id(id), given(input))
        return await payload(CustomerPayload, "customer", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT), description=(
        "Soft delete. A customer with live subscriptions is refused (HAS_SUBSCRIPTIONS) unless cancelSubscriptions "
        "is true: then they are cancelled in the same transaction."))
    async def customer_delete(self, info: Info, id: strawberry.ID, cancel_subscriptions: bool = False) -> CustomerPayload:
        work = subscriptions.delete_customer(info.context.tenant, customer_id(id), cancel_subscriptions=cancel_subscriptions)
        return await payload(CustomerPayload, "customer", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def customer_restore(self, info: Info, id: strawberry.ID) -> CustomerPayload:
        return await payload(CustomerPayload, "customer", customers.restore_customer(info.context.tenant, customer_id(id)))

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def service_record_create(self, info: Info, input: ServiceRecordCreateInput) -> ServiceRecordPayload:
        data = {k: v for k, v in vars(input).items() if v is not None and k not in ("customer_id", "status")}
        data["status"] = input.status
        work = crm_service_records.create_service_record(info.context.tenant, customer_id(input.customer_id), data)
        return await payload(ServiceRecordPayload, "service_record", work)

    @strawberry.mutation(permission_classes=needs(CoreRole.AGENT))
    async def service_record_update(self, info: Info, id: strawberry.ID, input: ServiceRecordUpdateInput) -> ServiceRecordPayload:
        rid = from_global_id(id, "ServiceRecord")
        work = crm_service_records.update_service_record(info.context.tenant, rid, given(input))
        return await payload(ServiceRecordPayload, "service_record", work)

    @strawberry.mutation(
        permission_classes=needs(CoreRole.AGENT),
        description="Import customers from CSV text or an uploaded file. Bad rows are listed by row number; "
        "all valid rows are written in one transaction.",
    )
    async def customers_import(self, info: Info, csv: str | None = None, file: Upload | None = None) -> CustomersImportPayload:
        if (csv is None) == (file is None):
            return _import_refused("csv", "give csv text or a file, not both")
        text = csv if csv is not None else (await file.read(MAX_IMPORT_BYTES + 1))
        if isinstance(text, bytes):
            try:
                text = csv_import.decode_csv(text)
            except DomainError as exc:
                return _import_refused("file", exc.errors[0].message)
        if len(text) > MAX_IMPORT_BYTES:
            return _import_refused("csv", f"at most {MAX_IMPORT_BYTES // 2**20} MB per import")
        result = await csv_import.import_csv(info.context.tenant, text)
        return CustomersImportPayload(
            imported=result.imported,
            errors=[ImportRowError(row=e.row, field=e.field, code=e.code, message=e.message) for e in result.errors],
        )


def _import_refused(field: str, message: str) -> CustomersImportPayload:
    return CustomersImportPayload(imported=0, errors=[ImportRowError(row=0, field=field, code=ErrorCode.INVALID, message=message)])
