"""Shared set-up for the billing tests: customers, plans and subscriptions through the services."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

from seva_crm.core.customers import customers
from seva_crm.core.billing import plans, subscriptions
from seva_crm.core.common.enums import BillingInterval


def at(day: date, hour: int = 12) -> datetime:
    """Noon UTC on ``day`` (the same calendar day in India and Bangladesh)."""
    return datetime.combine(day, time(hour), tzinfo=timezone.utc)


async def customer(scope, name: str = "Asha Devi", **extra):
    return await customers.create_customer(scope, {"name": name, **extra})


async def plan(scope, amount: int = 49900, interval: BillingInterval = BillingInterval.MONTHLY, tax_rate_bp: int = 1800,
               name: str = "Home 50 Mbps"):
    return await plans.create_plan(scope, {"name": name, "amount": amount, "interval": interval, "tax_rate_bp": tax_rate_bp})


async def subscription(scope, **extra):
    c = extra.pop("customer", None) or await customer(scope)
    p = extra.pop("plan", None) or await plan(scope)
    return await subscriptions.create_subscription(scope, {"customer_id": c.id, "plan_id": p.id, **extra})
