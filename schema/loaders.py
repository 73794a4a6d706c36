"""Per-request DataLoaders: nested fields cost one query per page, not one per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from uuid import UUID

from strawberry.dataloader import DataLoader
from tortoise.models import Model

from seva_crm.core.common.feed import Entry
from seva_crm.core.customers.service_records import latest_for_customers
from seva_crm.core.messaging import conversations
from seva_crm.core.models import Customer, Invoice, InvoiceLine, Payment, PaymentLink, Plan, Refund, ServiceRecord, Subscription


class Loaders:
    def __init__(self, tenant_id: UUID | None) -> None:
        self.tenant_id = tenant_id
        self._latest_records: dict[int, DataLoader] = {}  # by how many records per customer
        self.customer = DataLoader(self._customers)
        self.plan = DataLoader(self._by_id(Plan))
        self.subscription = DataLoader(self._by_id(Subscription))
        self.invoice = DataLoader(self._by_id(Invoice))
        self.subscriptions_by_customer = DataLoader(self._grouped(Subscription, "customer_id", "-created_at"))
        self.invoices_by_subscription = DataLoader(self._grouped(Invoice, "subscription_id", "-created_at"))
        self.lines_by_invoice = DataLoader(self._grouped(InvoiceLine, "invoice_id", "position"))
        self.payments_by_invoice = DataLoader(self._grouped(Payment, "invoice_id", "received_at"))
        self.refunds_by_payment = DataLoader(self._grouped(Refund, "payment_id", "created_at"))
        self.links_by_invoice = DataLoader(self._grouped(PaymentLink, "invoice_id", "created_at"))
        self.household_members = DataLoader(self._grouped(Customer, "household_contact_id", "name"))
        self.conversation_unread = DataLoader(self._conversation_unread)
        self.conversation_last = DataLoader(self._conversation_last)

    async def _conversation_unread(self, conversation_ids: list[UUID]) -> list[int]:
        counts = await conversations.unread_counts(self.tenant_id, conversation_ids)
        return [counts.get(i, 0) for i in conversation_ids]

    async def _conversation_last(self, customer_ids: list[UUID]) -> list[Entry | None]:
        last = await conversations.last_entries(self.tenant_id, customer_ids)
        return [last.get(i) for i in customer_ids]

    def service_records_by_customer(self, limit: int) -> DataLoader[UUID, list[ServiceRecord]]:
        """Each customer's ``limit`` newest service records (one query per page of customers and
        ``limit``): a customer with thousands of records costs no more than one with a few."""
        loader = self._latest_records.get(limit)
        if loader is None:
            loader = self._latest_records[limit] = DataLoader(lambda ids: self._service_records_by_customer(ids, limit))
        return loader

    async def _service_records_by_customer(self, customer_ids: list[UUID], limit: int) -> list[list[ServiceRecord]]:
        latest = await latest_for_customers(self.tenant_id, customer_ids, limit)
        return [latest.get(cid, []) for cid in customer_ids]

    async def _customers(self, ids: list[UUID]) -> list[Customer | None]:
        found = {c.id: c for c in await Customer.filter(tenant_id=self.tenant_id, id__in=ids)}
        return [found.get(i) for i in ids]

    def _by_id(self, model: type[Model]) -> Callable[[list[UUID]], Awaitable[list]]:
        async def load(ids: list[UUID]) -> list:
            found = {row.id: row for row in await model.filter(tenant_id=self.tenant_id, id__in=ids)}
            return [found.get(i) for i in ids]

        return load

    def _grouped(self, model: type[Model], key: str, order: str) -> Callable[[list[UUID]], Awaitable[list[list]]]:
        """Rows of ``model`` whose ``key`` is each id, in ``order`` (one query for the batch)."""

        async def load(ids: list[UUID]) -> list[list]:
            grouped: dict[UUID, list] = defaultdict(list)
            rows = await model.filter(tenant_id=self.tenant_id, **{f"{key}__in": ids}).order_by(order, "id")
            for row in rows:
                grouped[getattr(row, key)].append(row)
            return [grouped[i] for i in ids]

        return load
