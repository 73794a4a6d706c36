"""A local fake of bKash tokenized checkout, for tests: real HTTP on 127.0.0.1 (uvicorn in a thread).

It enforces the documented contract, so a client that passes against it is not merely talking to
something that accepts anything:
- token grant with the ``username``/``password`` headers and ``app_key``/``app_secret`` body
  (wrong ones: ``{errorCode: "2001", errorMessage}``), refresh with a refresh token it issued;
  every other call needs a live ``Authorization`` id_token of that merchant and its ``X-APP-Key``
  (else ``{errorCode: "2079", errorMessage: "Invalid app token"}``);
- create: mode 0011, intent sale, currency BDT (2008 otherwise), amount a string with two
  decimals above zero (2007), payerReference, callbackURL and merchantInvoiceNumber present (2065);
- the payer's checkout page (``bkashURL``): a wallet and PIN posted there redirect the browser to
  ``callbackURL?paymentID=..&status=success|failure|cancel`` (2023 insufficient balance fails it);
- execute once (2117 "Payment execution already been called" the second time, 2056 for a payment
  the payer did not complete), status, search by trxID, refunds (never beyond what is left,
  2071) and the refunds made on a payment;
- every error with HTTP 200 and ``statusCode``/``statusMessage``, as bKash answers;
- scripted trouble for the next call to a path: ``script(path, "9999")`` answers a system error
  without doing the work, ``"500"`` an HTTP 500. (A lost answer after the work is the tests'
  transport's to play: it forwards the call, then reports a timeout.)
It plays the payer too (``pay``)."""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from seva_crm.plugin_api import utcnow
from seva_crm.testing.loopback import LoopbackServer

PREFIX = "/v1.2.0-beta/tokenized/checkout"
AMOUNT = re.compile(r"^\d{1,9}\.\d{2}$")
DHAKA = timezone(timedelta(hours=6))


def ok(**body: Any) -> JSONResponse:
    return JSONResponse({**body, "statusCode": "0000", "statusMessage": "Successful"})


def refused(code: str, message: str) -> JSONResponse:
    return JSONResponse({"statusCode": code, "statusMessage": message})  # HTTP 200, as bKash answers


def _minor(text: str) -> int:
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int(fraction)


def _text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _time() -> str:
    return utcnow().astimezone(DHAKA).strftime("%Y-%m-%dT%H:%M:%S:000 GMT+0600")


@dataclass
class FakePayment:
    payment_id: str
    app_key: str
    amount: int
    invoice_number: str
    payer_reference: str
    callback_url: str
    status: str = "Initiated"  # Initiated -> (payer) authorised -> Completed; or Failed / Cancelled
    authorised: bool = False
    executions: int = 0
    trx_id: str = ""
    msisdn: str = ""
    refunds: list[dict] = field(default_factory=list)


class FakeBkash:
    def __init__(self, app_key: str = "fake-app-key", app_secret: str = "fake-app-secret", username: str = "sandboxTokenizedUser",
                 password: str = "fake-password") -> None:
        self.app_key, self.app_secret, self.username, self.password = app_key, app_secret, username, password
        self.merchants = {app_key: (app_secret, username, password)}
        self.payments: dict[str, FakePayment] = {}
        self.tokens: dict[str, str] = {}  # id_token -> app key
        self.refresh_tokens: dict[str, str] = {}
        self.wallets: dict[str, int] = {}  # msisdn -> balance in poisha (default: plenty)
        self.calls: list[str] = []  # paths called, in order
        self._script: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self.app = Starlette(routes=[
            Route(f"{PREFIX}/token/grant", self._grant, methods=["POST"]),
            Route(f"{PREFIX}/token/refresh", self._refresh, methods=["POST"]),
            Route(f"{PREFIX}/create", self._api(self._create), methods=["POST"]),
            Route(f"{PREFIX}/execute", self._api(self._execute), methods=["POST"]),
            Route(f"{PREFIX}/payment/status", self._api(self._status), methods=["POST"]),
            Route(f"{PREFIX}/general/searchTransaction", self._api(self._search), methods=["POST"]),
            Route(f"{PREFIX}/payment/refund", self._api(self._refund), methods=["POST"]),
            Route("/checkout/{payment_id}", self._checkout, methods=["GET", "POST"]),
        ])
        self._server: LoopbackServer | None = None
        self.host = self.base_url = ""

    # ------------------------------------------------------------------ running

    def start(self) -> str:
        self._server = LoopbackServer(self.app, "fake bKash")
        self.host = self._server.start()
        self.base_url = self.host + "/v1.2.0-beta"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def add_merchant(self, app_key: str, app_secret: str, username: str, password: str) -> None:
        self.merchants[app_key] = (app_secret, username, password)

    def script(self, path: str, kind: str) -> None:
        """Trouble for the next call to ``path`` (e.g. "/execute"): "9999" or "500"."""
        with self._lock:
            self._script.setdefault(path, []).append(kind)

    def count(self, path: str) -> int:
        return self.calls.count(path)

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # ------------------------------------------------------------------ tokens

    @staticmethod
    async def _body(request: Request) -> dict | None:
        try:
            body = await request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _merchant(self, request: Request, body: dict | None) -> str | None:
        if body is None:
            return None
        known = self.merchants.get(str(body.get("app_key")))
        if known is None:
            return None
        secret, username, password = known
        good = (secrets.compare_digest(str(body.get("app_secret")), secret)
                and secrets.compare_digest(request.headers.get("username", ""), username)
                and secrets.compare_digest(request.headers.get("password", ""), password))
        return str(body["app_key"]) if good else None

    def _issue(self, app_key: str) -> JSONResponse:
        id_token, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.tokens[id_token], self.refresh_tokens[refresh] = app_key, app_key
        return ok(id_token=id_token, token_type="Bearer", expires_in=3600, refresh_token=refresh)

    async def _grant(self, request: Request) -> Response:
        self.calls.append("/token/grant")
        app_key = self._merchant(request, await self._body(request))
        if app_key is None:
            return JSONResponse({"errorCode": "2001", "errorMessage": "Invalid App Key"})
        return self._issue(app_key)

    async def _refresh(self, request: Request) -> Response:
        self.calls.append("/token/refresh")
        body = await self._body(request)
        app_key = self._merchant(request, body)
        if app_key is None or self.refresh_tokens.get(str(body.get("refresh_token"))) != app_key:
            return JSONResponse({"errorCode": "2079", "errorMessage": "Invalid refresh token"})
        return self._issue(app_key)

    # ------------------------------------------------------------------ the API

    def _api(self, work):
        async def endpoint(request: Request) -> Response:
            path = request.url.path.removeprefix(PREFIX)
            self.calls.append(path)
            app_key = self.tokens.get(request.headers.get("authorization", ""))
            if app_key is None or request.headers.get("x-app-key") != app_key:
                return JSONResponse({"errorCode": "2079", "errorMessage": "Invalid app token"})
            body = await self._body(request)
            if body is None:
                return refused("2065", "Mandatory field missing")
            with self._lock:
                trouble = self._script.get(path, [None]).pop(0) if self._script.get(path) else None
            if trouble == "9999":
                return refused("9999", "System Error")
            if trouble == "500":
                return Response("<html>Internal Server Error</html>", status_code=500)
            return work(app_key, body)
        return endpoint

    def _payment(self, app_key: str, body: dict) -> FakePayment | None:
        payment = self.payments.get(str(body.get("paymentID")))
        return payment if payment is not None and payment.app_key == app_key else None

    def _create(self, app_key: str, body: dict) -> Response:
        for name in ("mode", "payerReference", "callbackURL", "amount", "currency", "intent", "merchantInvoiceNumber"):
            if not isinstance(body.get(name), str) or not body[name]:
                return refused("2065", "Mandatory field missing")
        if body["mode"] != "0011" or body["intent"] != "sale":
            return refused("2054", "Invalid mode or intent")
        if body["currency"] != "BDT":
            return refused("2008", "Invalid currency")
        if not AMOUNT.match(body["amount"]) or _minor(body["amount"]) <= 0:
            return refused("2007", "Invalid payment amount")
        if not body["callbackURL"].startswith(("http://", "https://")) or len(body["merchantInvoiceNumber"]) > 255:
            return refused("2065", "Invalid callbackURL or merchantInvoiceNumber")
        payment = FakePayment("TR0011" + secrets.token_hex(10).upper(), app_key, _minor(body["amount"]), body["merchantInvoiceNumber"],
                              body["payerReference"], body["callbackURL"])
        self.payments[payment.payment_id] = payment
        return ok(paymentID=payment.payment_id, bkashURL=f"{self.host}/checkout/{payment.payment_id}",
                  callbackURL=payment.callback_url, amount=body["amount"], intent="sale", currency="BDT",
                  paymentCreateTime=_time(), transactionStatus="Initiated", merchantInvoiceNumber=payment.invoice_number)

    def _state(self, payment: FakePayment) -> dict:
        state = {"paymentID": payment.payment_id, "mode": "0011", "amount": _text(payment.amount), "currency": "BDT",
                 "intent": "sale", "merchantInvoiceNumber": payment.invoice_number, "transactionStatus": payment.status,
                 "payerReference": payment.payer_reference}
        if payment.trx_id:
            state.update(trxID=payment.trx_id, customerMsisdn=payment.msisdn, completedTime=_time())
        return state

    def _execute(self, app_key: str, body: dict) -> Response:
        payment = self._payment(app_key, body)
        if payment is None:
            return refused("2002", "Invalid Payment ID")
        with self._lock:
            if payment.executions:
                return refused("2117", "Payment execution already been called")
            if payment.status != "Initiated" or not payment.authorised:
                return refused("2056", "Invalid Payment State")
            payment.executions += 1
            payment.status, payment.trx_id = "Completed", "BK" + secrets.token_hex(4).upper()
        return ok(**self._state(payment))

    def _status(self, app_key: str, body: dict) -> Response:
        payment = self._payment(app_key, body)
        return ok(**self._state(payment)) if payment else refused("2002", "Invalid Payment ID")

    def _search(self, app_key: str, body: dict) -> Response:
        found = next((p for p in self.payments.values() if p.app_key == app_key and p.trx_id and p.trx_id == body.get("trxID")), None)
        if found is None:
            return refused("2003", "Process failed")
        return ok(trxID=found.trx_id, transactionStatus=found.status, amount=_text(found.amount), currency="BDT",
                  transactionType="bKash Tokenized Checkout via API", customerMsisdn=found.msisdn, completedTime=_time())

    def _refund(self, app_key: str, body: dict) -> Response:
        payment = self._payment(app_key, body)
        if payment is None or payment.status != "Completed" or body.get("trxID") != payment.trx_id:
            return refused("2002", "Invalid Payment ID or trxID")
        if set(body) == {"paymentID", "trxID"}:
            return ok(originalTrxID=payment.trx_id, refundTransactions=payment.refunds)
        amount = body.get("amount")
        if not isinstance(amount, str) or not AMOUNT.match(amount) or _minor(amount) <= 0:
            return refused("2007", "Invalid refund amount")
        if not body.get("sku") or not body.get("reason"):
            return refused("2065", "Mandatory field missing")
        if _minor(amount) > payment.amount - sum(_minor(r["amount"]) for r in payment.refunds):
            return refused("2071", "Refund amount exceeds the amount left")
        refund = {"refundTrxID": "RF" + secrets.token_hex(4).upper(), "transactionStatus": "Completed", "amount": amount,
                  "currency": "BDT", "sku": body["sku"], "reason": body["reason"], "completedTime": _time()}
        payment.refunds.append(refund)
        return ok(originalTrxID=payment.trx_id, **refund)

    # ------------------------------------------------------------------ the payer

    async def _checkout(self, request: Request) -> Response:
        payment = self.payments.get(request.path_params["payment_id"])
        if payment is None:
            return HTMLResponse("<p>Invalid payment</p>", status_code=404)
        if request.method == "GET":
            return HTMLResponse(f"<form method=post><p>Pay {_text(payment.amount)} BDT</p><input name=wallet><input name=pin>"
                                "<button name=action value=pay>Confirm</button><button name=action value=cancel>Cancel</button></form>")
        form = await request.form()
        if payment.status != "Initiated" or payment.authorised:
            return HTMLResponse("<p>This payment is no longer open</p>", status_code=400)
        status = "cancel"
        if form.get("action") == "pay":
            wallet, pin = str(form.get("wallet") or ""), str(form.get("pin") or "")
            if not re.fullmatch(r"01[3-9]\d{8}", wallet) or not re.fullmatch(r"\d{5}", pin):
                return HTMLResponse("<p>Wrong wallet number or PIN</p>", status_code=400)
            balance = self.wallets.get(wallet, 10**9)
            if balance < payment.amount:
                payment.status, status = "Failed", "failure"  # 2023 insufficient balance
            else:
                self.wallets[wallet] = balance - payment.amount
                payment.authorised, payment.msisdn, status = True, wallet, "success"
        else:
            payment.status = "Cancelled"
        sep = "&" if "?" in payment.callback_url else "?"
        return RedirectResponse(f"{payment.callback_url}{sep}{urlencode({'paymentID': payment.payment_id, 'status': status})}",
                                status_code=302)

    async def pay(self, bkash_url: str, *, wallet: str = "01712345678", pin: str = "12121", action: str = "pay") -> str:
        """Play the payer at the checkout page; returns where bKash sends the browser back."""
        async with httpx.AsyncClient() as client:
            page = await client.get(bkash_url)
            assert page.status_code == 200, page.text
            answer = await client.post(bkash_url, data={"wallet": wallet, "pin": pin, "action": action})
        assert answer.status_code == 302, answer.text
        return answer.headers["location"]
