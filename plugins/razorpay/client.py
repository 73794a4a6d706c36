"""An async Razorpay API client (httpx): orders, payment links, payments, refunds, plans and
subscriptions.

Retries only where they are safe:
- reads (GET) retry on 429, 5xx and network errors, with exponential backoff and full jitter;
- a create refused with 429 was not processed: it is retried;
- a create that timed out or got a 5xx may have happened: it is LOOKED UP first (payment links by
  reference_id, orders by receipt, refunds by receipt) and only sent again if not found;
- a payment link refused as "already attempted" (its reference_id was used) is looked up and the
  existing link returned;
- creates with no lookup key (plans, subscriptions) are never retried after an ambiguous failure.
Logs carry method, path, status and attempt only: never bodies, customers or keys."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from seva_crm.plugins.razorpay.config import RazorpayConfig
from seva_crm.plugins.razorpay.errors import RazorpayError, RazorpayUnavailable

log = logging.getLogger("seva.razorpay")
Lookup = Callable[[], Awaitable[dict[str, Any] | None]]


class RazorpayClient:
    def __init__(self, config: RazorpayConfig, *, timeout: float = 10.0, attempts: int = 4, backoff: float = 0.5,
                 max_backoff: float = 8.0, transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.attempts, self.backoff, self.max_backoff, self.sleep = attempts, backoff, max_backoff, sleep
        self.http = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/") + "/", auth=(config.key_id, config.key_secret.get_secret_value()),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), transport=transport,
            headers={"content-type": "application/json", "user-agent": "seva-crm"},
        )

    async def __aenter__(self) -> RazorpayClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    # ------------------------------------------------------------------ transport

    async def _once(self, method: str, path: str, *, json: Any = None, params: dict | None = None) -> dict[str, Any]:
        response = await self.http.request(method, path.lstrip("/"), json=json, params=params)
        log.info("razorpay %s /%s -> %s", method, path.split("?")[0].lstrip("/"), response.status_code)
        if response.status_code >= 400:
            raise RazorpayError.from_response(response)
        return response.json()

    async def _pause(self, attempt: int) -> None:
        """Exponential backoff with full jitter (never longer than max_backoff)."""
        await self.sleep(random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt)))

    async def _get(self, path: str, params: dict | None = None) -> dict[str, Any]:
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                return await self._once("GET", path, params=params)
            except RazorpayError as exc:
                if not exc.retryable or last:
                    raise
            except httpx.TransportError:
                if last:
                    raise RazorpayUnavailable(f"GET /{path.lstrip('/')}: no answer after {self.attempts} attempts") from None
            await self._pause(attempt)
        raise AssertionError("unreachable")

    async def _create(self, path: str, body: dict[str, Any], lookup: Lookup | None) -> dict[str, Any]:
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                return await self._once("POST", path, json=body)
            except RazorpayError as exc:
                if exc.duplicate and lookup is not None:
                    if found := await lookup():
                        return found
                    raise
                if exc.status == 429:  # throttled: refused before any work
                    if last:
                        raise
                elif exc.retryable:  # may have been created
                    if lookup is None or last:
                        raise
                    if found := await lookup():
                        return found
                else:
                    raise
            except (httpx.ConnectError, httpx.ConnectTimeout):  # never reached Razorpay: safe to send again
                if last:
                    raise RazorpayUnavailable(f"POST /{path}: cannot connect") from None
            except httpx.TransportError:  # sent, but no answer: it may have been created
                if lookup is None:
                    raise RazorpayUnavailable(f"POST /{path}: no answer; not retried (no lookup key)") from None
                if found := await lookup():
                    return found
                if last:
                    raise RazorpayUnavailable(f"POST /{path}: no answer after {self.attempts} attempts") from None
            await self._pause(attempt)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ orders

    async def create_order(self, amount: int, currency: str, receipt: str, notes: dict[str, str] | None = None) -> dict[str, Any]:
        body = {"amount": amount, "currency": currency, "receipt": receipt, "notes": notes or {}}
        return await self._create("orders", body, lambda: self.find_order(receipt))

    async def find_order(self, receipt: str) -> dict[str, Any] | None:
        items = (await self._get("orders", {"receipt": receipt})).get("items") or []
        return items[0] if items else None

    async def fetch_order(self, order_id: str) -> dict[str, Any]:
        return await self._get(f"orders/{order_id}")

    async def fetch_payment(self, payment_id: str) -> dict[str, Any]:
        return await self._get(f"payments/{payment_id}")

    # ------------------------------------------------------------------ payment links

    async def create_payment_link(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` as documented; its ``reference_id`` is the idempotency key."""
        reference_id = body["reference_id"]
        return await self._create("payment_links", body, lambda: self.find_payment_link(reference_id))

    async def find_payment_link(self, reference_id: str) -> dict[str, Any] | None:
        links = (await self._get("payment_links", {"reference_id": reference_id})).get("payment_links") or []
        return links[0] if links else None

    async def fetch_payment_link(self, plink_id: str) -> dict[str, Any]:
        return await self._get(f"payment_links/{plink_id}")

    async def cancel_payment_link(self, plink_id: str) -> dict[str, Any]:
        """POST /payment_links/{id}/cancel: the link, status cancelled. Cancelling twice is
        refused by Razorpay, so the caller fetches the link to see where it stands."""
        return await self._create(f"payment_links/{plink_id}/cancel", {}, lambda: self._if_cancelled(plink_id))

    async def _if_cancelled(self, plink_id: str) -> dict[str, Any] | None:
        link = await self.fetch_payment_link(plink_id)
        return link if link.get("status") == "cancelled" else None

    # ------------------------------------------------------------------ refunds

    async def refund(self, payment_id: str, amount: int, receipt: str, notes: dict[str, str] | None = None) -> dict[str, Any]:
        body = {"amount": amount, "receipt": receipt, "notes": notes or {}}
        return await self._create(f"payments/{payment_id}/refund", body, lambda: self.find_refund(payment_id, receipt))

    async def find_refund(self, payment_id: str, receipt: str) -> dict[str, Any] | None:
        items = (await self._get(f"payments/{payment_id}/refunds")).get("items") or []
        return next((r for r in items if r.get("receipt") == receipt), None)

    # ------------------------------------------------------------------ plans and subscriptions (auto-debit)

    async def create_plan(self, period: str, interval: int, name: str, amount: int, currency: str,
                          notes: dict[str, str] | None = None) -> dict[str, Any]:
        body = {"period": period, "interval": interval, "item": {"name": name, "amount": amount, "currency": currency},
                "notes": notes or {}}
        return await self._create("plans", body, None)

    async def create_subscription(self, plan_id: str, total_count: int, *, customer_notify: bool = False,
                                  notes: dict[str, str] | None = None) -> dict[str, Any]:
        body = {"plan_id": plan_id, "total_count": total_count, "customer_notify": customer_notify, "notes": notes or {}}
        return await self._create("subscriptions", body, None)

    async def fetch_subscription(self, subscription_id: str) -> dict[str, Any]:
        return await self._get(f"subscriptions/{subscription_id}")
