"""A local fake of the Razorpay API, for tests: real HTTP on 127.0.0.1 (uvicorn in a thread).

It enforces what the real API enforces, so a client that passes against it is not merely
talking to something that accepts anything:
- HTTP Basic auth with the key id and secret (401 with the documented error body otherwise);
- payload shape: required fields, types, unknown fields refused ("... is/are not required and
  should not be sent"), amounts in integer paise of at least 100, currency INR, receipt and
  reference_id at most 40 characters, notes at most 15 string values;
- a repeated payment-link reference_id is refused with 400 ("already attempted");
- lookups: GET /payment_links?reference_id=, GET /orders?receipt=, GET /payments/{id}/refunds;
- refunds only of captured payments, never beyond what was captured;
- scripted failures: ``fail_next(n, status)`` answers the next n API calls with 429 or 5xx,
  before or (``after_work=True``, like a timeout after commit) after doing the work.
It plays the customer too (``pay_link``, ``pay_order``) and builds signed webhook events, which
``deliver`` posts to a URL: as often as asked, in any order, or tampered with."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from seva_crm.testing.loopback import LoopbackServer
from seva_crm.plugins.razorpay.signatures import sign

MIN_AMOUNT = 100
MAX_ID_LENGTH = 40


def error(status: int, description: str, field: str | None = None, code: str = "BAD_REQUEST_ERROR",
          reason: str = "input_validation_failed") -> JSONResponse:
    return JSONResponse({"error": {"code": code, "description": description, "field": field, "source": "business",
                                   "step": "payment_initiation", "reason": reason, "metadata": {}}}, status_code=status)


class Invalid(Exception):
    def __init__(self, description: str, field: str | None = None) -> None:
        super().__init__(description)
        self.description, self.field = description, field


@dataclass
class Scripted:
    status: int
    after_work: bool


@dataclass
class Event:
    id: str
    name: str
    body: bytes
    signature: str


@dataclass
class FakeState:
    orders: dict[str, dict] = field(default_factory=dict)
    links: dict[str, dict] = field(default_factory=dict)
    payments: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    plans: dict[str, dict] = field(default_factory=dict)
    subscriptions: dict[str, dict] = field(default_factory=dict)


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(7)}"


def _check_fields(body: Any, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object")
    extra = sorted(set(body) - allowed)
    if extra:
        raise Invalid(f"{', '.join(extra)} is/are not required and should not be sent", extra[0])
    for name in sorted(required):
        if body.get(name) in (None, ""):
            raise Invalid(f"The {name} field is required.", name)
    return body


def _check_amount(value: Any, field: str = "amount", what: str = "Order amount") -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(f"The {field} must be an integer.", field)
    if value < MIN_AMOUNT:
        raise Invalid(f"{what} less than minimum amount allowed", field)
    return value


def _check_currency(value: Any) -> str:
    if value != "INR":
        raise Invalid("The requested currency is not supported.", "currency")
    return value


def _check_text(body: dict, name: str, limit: int) -> None:
    if name in body and body[name] is not None:
        if not isinstance(body[name], str):
            raise Invalid(f"The {name} must be a string.", name)
        if len(body[name]) > limit:
            raise Invalid(f"The {name} may not be greater than {limit} characters.", name)


def _check_notes(notes: Any) -> dict:
    if notes in (None, []):  # Razorpay echoes empty notes as []
        return {}
    if not isinstance(notes, dict) or len(notes) > 15 or not all(isinstance(v, str) and len(v) <= 256 for v in notes.values()):
        raise Invalid("notes must be a map of at most 15 keys with string values of at most 256 characters", "notes")
    return notes


def _check_bool(body: dict, name: str) -> None:
    if name in body and not isinstance(body[name], bool):
        raise Invalid(f"The {name} field must be true or false.", name)


class FakeRazorpay:
    def __init__(self, key_id: str = "rzp_test_fake0001", key_secret: str = "fake-key-secret",
                 webhook_secret: str = "fake-webhook-secret") -> None:
        self.key_id, self.key_secret, self.webhook_secret = key_id, key_secret, webhook_secret
        self.state = FakeState()
        self.calls: list[tuple[str, str, int]] = []  # (method, path, status answered)
        self._script: list[Scripted] = []
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self.app = Starlette(routes=[
            Route("/v1/orders", self._orders, methods=["GET", "POST"]),
            Route("/v1/orders/{id}", self._order, methods=["GET"]),
            Route("/v1/payments/{id}", self._payment, methods=["GET"]),
            Route("/v1/payments/{id}/refund", self._refund, methods=["POST"]),
            Route("/v1/payments/{id}/refunds", self._refunds, methods=["GET"]),
            Route("/v1/payment_links", self._payment_links, methods=["GET", "POST"]),
            Route("/v1/payment_links/{id}", self._payment_link, methods=["GET"]),
            Route("/v1/payment_links/{id}/cancel", self._cancel_payment_link, methods=["POST"]),
            Route("/v1/plans", self._plans, methods=["POST"]),
            Route("/v1/subscriptions", self._subscriptions, methods=["POST"]),
            Route("/v1/subscriptions/{id}", self._subscription, methods=["GET"]),
        ])
        self._server: LoopbackServer | None = None
        self.base_url = ""

    # ------------------------------------------------------------------ running

    def start(self) -> str:
        """Serve on a free loopback port in a background thread; returns the base URL (…/v1)."""
        self._server = LoopbackServer(self._guarded, "fake Razorpay")
        self.base_url = self._server.start() + "/v1"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def fail_next(self, times: int = 1, status: int = 500, *, after_work: bool = False) -> None:
        """Answer the next ``times`` API calls with ``status``; with ``after_work`` the call is
        carried out first (the response is lost, as in a timeout after Razorpay committed)."""
        with self._lock:
            self._script.extend(Scripted(status, after_work) for _ in range(times))

    def count(self, method: str, path_start: str) -> int:
        return sum(1 for m, p, _ in self.calls if m == method and p.startswith(path_start))

    async def _guarded(self, scope, receive, send) -> None:
        """Auth and scripted failures around every API call."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        status_box: list[int] = []

        async def recording_send(message) -> None:
            if message["type"] == "http.response.start":
                status_box.append(message["status"])
            await send(message)

        if not self._authorised(request.headers.get("authorization", "")):
            response = error(401, "Authentication failed", reason="NA")
            await response(scope, receive, recording_send)
        else:
            with self._lock:
                scripted = self._script.pop(0) if self._script else None
            if scripted is not None and not scripted.after_work:
                await self._scripted(scripted.status)(scope, receive, recording_send)
            elif scripted is not None:
                async def discard(message) -> None:
                    pass
                await self.app(scope, receive, discard)
                await self._scripted(scripted.status)(scope, receive, recording_send)
            else:
                await self.app(scope, receive, recording_send)
        self.calls.append((request.method, request.url.path.removeprefix("/v1"), status_box[0] if status_box else 0))

    def _authorised(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            key_id, _, key_secret = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(key_id, self.key_id) and secrets.compare_digest(key_secret, self.key_secret)

    @staticmethod
    def _scripted(status: int) -> JSONResponse:
        if status == 429:
            return error(429, "Too many requests", reason="NA")
        return error(status, "The server encountered an error. The incident has been reported to admins.",
                     code="SERVER_ERROR", reason="server_error")

    @staticmethod
    async def _json(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            raise Invalid("The request body is not valid JSON") from None

    def _now(self) -> int:
        return int(time.time()) + next(self._counter)  # strictly increasing event times

    # ------------------------------------------------------------------ orders

    async def _orders(self, request: Request) -> JSONResponse:
        if request.method == "GET":
            receipt = request.query_params.get("receipt")
            items = [o for o in self.state.orders.values() if receipt is None or o["receipt"] == receipt]
            return JSONResponse({"entity": "collection", "count": len(items), "items": items})
        try:
            body = _check_fields(await self._json(request), {"amount", "currency", "receipt", "notes", "partial_payment",
                                                             "first_payment_min_amount"}, {"amount", "currency"})
            _check_amount(body["amount"])
            _check_currency(body["currency"])
            _check_text(body, "receipt", MAX_ID_LENGTH)
            notes = _check_notes(body.get("notes"))
            _check_bool(body, "partial_payment")
        except Invalid as exc:
            return error(400, exc.description, exc.field)
        order = self._new_order(body["amount"], body.get("receipt"), notes)
        return JSONResponse(order)

    def _new_order(self, amount: int, receipt: str | None, notes: dict) -> dict:
        order = {"id": _id("order"), "entity": "order", "amount": amount, "amount_paid": 0, "amount_due": amount,
                 "currency": "INR", "receipt": receipt, "offer_id": None, "status": "created", "attempts": 0,
                 "notes": notes or [], "created_at": self._now()}
        with self._lock:
            self.state.orders[order["id"]] = order
        return order

    async def _order(self, request: Request) -> JSONResponse:
        order = self.state.orders.get(request.path_params["id"])
        return JSONResponse(order) if order else error(400, "The id provided does not exist", "id")

    async def _payment(self, request: Request) -> JSONResponse:
        payment = self.state.payments.get(request.path_params["id"])
        return JSONResponse(payment) if payment else error(400, "The id provided does not exist", "id")

    # ------------------------------------------------------------------ payment links

    async def _payment_links(self, request: Request) -> JSONResponse:
        if request.method == "GET":
            ref = request.query_params.get("reference_id")
            pay = request.query_params.get("payment_id")
            links = [link for link in self.state.links.values() if (ref is None or link["reference_id"] == ref)
                     and (pay is None or any(p["payment_id"] == pay for p in link["payments"] or []))]
            return JSONResponse({"payment_links": links})
        try:
            body = _check_fields(await self._json(request), {
                "amount", "currency", "accept_partial", "first_min_partial_amount", "expire_by", "reference_id",
                "description", "customer", "notify", "reminder_enable", "notes", "callback_url", "callback_method",
                "upi_link"}, {"amount"})
            _check_amount(body["amount"], what="The amount must be atleast INR 1.00. Amount")
            _check_currency(body.get("currency", "INR"))
            _check_text(body, "reference_id", MAX_ID_LENGTH)
            _check_text(body, "description", 2048)
            for name in ("accept_partial", "reminder_enable", "upi_link"):
                _check_bool(body, name)
            customer = body.get("customer") or {}
            if not isinstance(customer, dict) or set(customer) - {"name", "contact", "email"} or \
                    not all(isinstance(v, str) for v in customer.values()):
                raise Invalid("customer must hold name, contact and email strings only", "customer")
            notify = body.get("notify") or {}
            if not isinstance(notify, dict) or set(notify) - {"sms", "email", "whatsapp"} or \
                    not all(isinstance(v, bool) for v in notify.values()):
                raise Invalid("notify must hold sms, email and whatsapp booleans only", "notify")
            if "expire_by" in body and (not isinstance(body["expire_by"], int) or body["expire_by"] < time.time() + 15 * 60):
                raise Invalid("expire_by should be at least 15 minutes after current time", "expire_by")
            if body.get("callback_url") is not None:
                _check_text(body, "callback_url", 2048)
                if body.get("callback_method") != "get":
                    raise Invalid("callback_method should be get when callback_url is given", "callback_method")
            notes = _check_notes(body.get("notes"))
        except Invalid as exc:
            return error(400, exc.description, exc.field)
        ref = body.get("reference_id")
        with self._lock:
            if ref and any(link["reference_id"] == ref for link in self.state.links.values()):
                return error(400, f"Payment Link with reference id {ref} already attempted", "reference_id")
            plink = _id("plink")
            link = {"id": plink, "entity": "payment_link", "amount": body["amount"], "amount_paid": 0, "currency": "INR",
                    "accept_partial": body.get("accept_partial", False), "description": body.get("description", ""),
                    "reference_id": ref or "", "customer": customer, "notify": notify, "notes": notes or [],
                    "status": "created", "short_url": f"https://rzp.io/i/{plink[6:14]}", "payments": None,
                    "order_id": "", "created_at": self._now(), "expire_by": body.get("expire_by", 0)}
            self.state.links[plink] = link
        return JSONResponse(link)

    async def _payment_link(self, request: Request) -> JSONResponse:
        link = self.state.links.get(request.path_params["id"])
        return JSONResponse(link) if link else error(400, "The id provided does not exist", "id")

    async def _cancel_payment_link(self, request: Request) -> JSONResponse:
        """Only a link in state created or partially_paid can be cancelled (Razorpay's rule)."""
        with self._lock:
            link = self.state.links.get(request.path_params["id"])
            if link is None:
                return error(400, "The id provided does not exist", "id")
            if link["status"] not in ("created", "partially_paid"):
                return error(400, f"Payment Link cannot be cancelled as it is in {link['status']} state")
            link["status"] = "cancelled"
        return JSONResponse(link)

    # ------------------------------------------------------------------ refunds

    async def _refund(self, request: Request) -> JSONResponse:
        payment = self.state.payments.get(request.path_params["id"])
        if payment is None:
            return error(400, "The id provided does not exist", "id")
        try:
            body = _check_fields(await self._json(request) or {}, {"amount", "speed", "notes", "receipt"}, set())
            amount = body.get("amount", payment["amount"] - payment["amount_refunded"])
            _check_amount(amount, what="The refund amount")
            _check_text(body, "receipt", MAX_ID_LENGTH)
            notes = _check_notes(body.get("notes"))
        except Invalid as exc:
            return error(400, exc.description, exc.field)
        with self._lock:
            if payment["status"] not in ("captured", "refunded"):
                return error(400, "Only captured payments can be refunded", "id")
            if amount > payment["amount"] - payment["amount_refunded"]:
                return error(400, "The refund amount provided is greater than amount captured", "amount")
            payment["amount_refunded"] += amount
            payment["refund_status"] = "full" if payment["amount_refunded"] == payment["amount"] else "partial"
            refund = {"id": _id("rfnd"), "entity": "refund", "amount": amount, "currency": "INR",
                      "payment_id": payment["id"], "receipt": body.get("receipt"), "notes": notes or [],
                      "status": "processed", "speed_requested": body.get("speed", "normal"), "created_at": self._now()}
            self.state.refunds[refund["id"]] = refund
        return JSONResponse(refund)

    async def _refunds(self, request: Request) -> JSONResponse:
        items = [r for r in self.state.refunds.values() if r["payment_id"] == request.path_params["id"]]
        return JSONResponse({"entity": "collection", "count": len(items), "items": items})

    # ------------------------------------------------------------------ plans and subscriptions

    async def _plans(self, request: Request) -> JSONResponse:
        try:
            body = _check_fields(await self._json(request), {"period", "interval", "item", "notes"}, {"period", "interval", "item"})
            if body["period"] not in ("daily", "weekly", "monthly", "quarterly", "yearly"):
                raise Invalid("period is invalid", "period")
            if not isinstance(body["interval"], int) or body["interval"] < (7 if body["period"] == "daily" else 1):
                raise Invalid("interval is invalid", "interval")
            item = _check_fields(body["item"], {"name", "amount", "currency", "description"}, {"name", "amount", "currency"})
            _check_amount(item["amount"], "item.amount", "Plan amount")
            _check_currency(item["currency"])
            notes = _check_notes(body.get("notes"))
        except Invalid as exc:
            return error(400, exc.description, exc.field)
        plan = {"id": _id("plan"), "entity": "plan", "period": body["period"], "interval": body["interval"],
                "item": {**item, "id": _id("item"), "active": True}, "notes": notes or [], "created_at": self._now()}
        self.state.plans[plan["id"]] = plan
        return JSONResponse(plan)

    async def _subscriptions(self, request: Request) -> JSONResponse:
        try:
            body = _check_fields(await self._json(request), {
                "plan_id", "total_count", "quantity", "start_at", "expire_by", "customer_notify", "addons", "offer_id",
                "notes"}, {"plan_id", "total_count"})
            if body["plan_id"] not in self.state.plans:
                raise Invalid("The id provided does not exist", "plan_id")
            if not isinstance(body["total_count"], int) or body["total_count"] < 1:
                raise Invalid("total_count must be at least 1", "total_count")
            if "customer_notify" in body and body["customer_notify"] not in (True, False, 0, 1):
                raise Invalid("customer_notify must be a boolean", "customer_notify")
            notes = _check_notes(body.get("notes"))
        except Invalid as exc:
            return error(400, exc.description, exc.field)
        sub = {"id": _id("sub"), "entity": "subscription", "plan_id": body["plan_id"], "status": "created",
               "total_count": body["total_count"], "paid_count": 0, "notes": notes or [],
               "customer_notify": body.get("customer_notify", True),
               "short_url": f"https://rzp.io/i/{secrets.token_hex(4)}", "created_at": self._now(),
               "current_start": None, "current_end": None}
        self.state.subscriptions[sub["id"]] = sub
        return JSONResponse(sub)

    async def _subscription(self, request: Request) -> JSONResponse:
        sub = self.state.subscriptions.get(request.path_params["id"])
        return JSONResponse(sub) if sub else error(400, "The id provided does not exist", "id")

    # ------------------------------------------------------------------ the customer's side, and webhooks

    def _capture(self, amount: int, order_id: str, notes: Any, method: str = "upi") -> dict:
        payment = {"id": _id("pay"), "entity": "payment", "amount": amount, "currency": "INR", "status": "captured",
                   "order_id": order_id, "method": method, "captured": True, "amount_refunded": 0, "refund_status": None,
                   "notes": notes, "email": "void@razorpay.com", "contact": "+919000090000", "created_at": self._now()}
        self.state.payments[payment["id"]] = payment
        return payment

    def pay_link(self, plink_id: str, amount: int | None = None) -> list[Event]:
        """The customer pays the link (in full unless ``amount``); returns the webhook events
        Razorpay would send, in its usual order: payment.captured, order.paid, payment_link.paid."""
        with self._lock:
            link = self.state.links[plink_id]
            if link["status"] not in ("created", "partially_paid"):
                raise ValueError(f"a {link['status']} payment link cannot be paid")
            amount = amount or link["amount"] - link["amount_paid"]
            order = self._new_order_unlocked(link["amount"], None, link["notes"])
            payment = self._capture(amount, order["id"], link["notes"])
            link["amount_paid"] += amount
            link["status"] = "paid" if link["amount_paid"] >= link["amount"] else "partially_paid"
            link["order_id"] = order["id"]
            link["payments"] = (link["payments"] or []) + [{"payment_id": payment["id"], "amount": amount, "status": "captured"}]
            order["amount_paid"] += amount
            order["amount_due"] = order["amount"] - order["amount_paid"]
            order["status"] = "paid" if order["amount_due"] <= 0 else "attempted"
        link_event = "payment_link.paid" if link["status"] == "paid" else "payment_link.partially_paid"
        return [
            self.event("payment.captured", payment=payment),
            self.event("order.paid", payment=payment, order=order),
            self.event(link_event, payment_link=link, payment=payment, order=order),
        ]

    def _new_order_unlocked(self, amount: int, receipt: str | None, notes: Any) -> dict:
        order = {"id": _id("order"), "entity": "order", "amount": amount, "amount_paid": 0, "amount_due": amount,
                 "currency": "INR", "receipt": receipt, "status": "created", "attempts": 1, "notes": notes or [],
                 "created_at": self._now()}
        self.state.orders[order["id"]] = order
        return order

    def pay_order(self, order_id: str) -> tuple[dict, str, list[Event]]:
        """The customer pays an order through Checkout: returns the payment, the checkout
        signature Checkout hands the frontend, and the webhook events."""
        with self._lock:
            order = self.state.orders[order_id]
            payment = self._capture(order["amount_due"], order_id, order["notes"], method="card")
            order["amount_paid"], order["amount_due"], order["status"] = order["amount"], 0, "paid"
        signature = sign(self.key_secret, f"{order_id}|{payment['id']}")
        return payment, signature, [self.event("payment.captured", payment=payment),
                                    self.event("order.paid", payment=payment, order=order)]

    def fail_payment(self, order_id: str) -> Event:
        with self._lock:
            order = self.state.orders[order_id]
            payment = self._capture(order["amount_due"], order_id, order["notes"], method="card")
            payment.update(status="failed", captured=False, error_code="BAD_REQUEST_ERROR",
                           error_description="Payment failed due to insufficient balance")
            order["status"] = "attempted"
        return self.event("payment.failed", payment=payment)

    def refund_event(self, refund_id: str, name: str = "refund.processed") -> Event:
        return self.event(name, refund=self.state.refunds[refund_id])

    def subscription_event(self, subscription_id: str, name: str, status: str) -> Event:
        with self._lock:
            sub = self.state.subscriptions[subscription_id]
            sub["status"] = status
        return self.event(name, subscription=dict(sub))

    def event(self, name: str, **entities: dict) -> Event:
        """A webhook event as Razorpay sends it, signed with the webhook secret."""
        body = {"entity": "event", "account_id": "acc_fake000000001", "event": name, "contains": list(entities),
                "payload": {kind: {"entity": dict(entity)} for kind, entity in entities.items()}, "created_at": self._now()}
        raw = json.dumps(body, separators=(",", ":")).encode()
        return Event(id=_id("evt"), name=name, body=raw, signature=sign(self.webhook_secret, raw))

    async def deliver(self, url: str, event: Event, *, times: int = 1, body: bytes | None = None, signature: str | None = None,
                      client: httpx.AsyncClient | None = None) -> list[httpx.Response]:
        """POST the event to ``url`` ``times`` times, as Razorpay delivers (at least once). ``body``
        and ``signature`` override what is sent (tampering); ``client`` lets a test route the
        call to an in-process app."""
        headers = {"content-type": "application/json", "x-razorpay-event-id": event.id,
                   "x-razorpay-signature": event.signature if signature is None else signature}
        owned = client is None
        client = client or httpx.AsyncClient(timeout=5)
        try:
            return [await client.post(url, content=event.body if body is None else body, headers=headers) for _ in range(times)]
        finally:
            if owned:
                await client.aclose()


async def serve_in_thread(fake: FakeRazorpay) -> str:
    """``start`` without blocking the running event loop."""
    return await asyncio.to_thread(fake.start)
