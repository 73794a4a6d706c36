"""A local fake of SSLCommerz, for tests: real HTTP on 127.0.0.1 (uvicorn in a thread).

It enforces the documented contract, so a client that passes against it is not merely talking to
something that accepts anything:
- sessions (``POST /gwprocess/v4/api.php``, form-encoded): the store's id and password
  (``{status: FAILED, failedreason}`` otherwise), every mandatory field, an amount with two
  decimals of at least 10.00, a supported currency, a tran_id of at most 30 characters never used
  before by the store, absolute URLs, shipping_method NO; values value_a..value_d passed back;
- the payer's page (``GatewayPageURL``): ``pay`` plays the payer and returns the IPN and the
  browser's return, both carrying ``verify_sign``/``verify_key`` made with md5(store_passwd);
- validation (``validationserverAPI.php``): VALID the first time, VALIDATED after, INVALID_TRANSACTION
  for an unknown val_id or another store's credentials;
- ``merchantTransIDvalidationAPI.php``: by tran_id (``element``: the attempts), refunds by
  bank_tran_id (never beyond what is left; ``status`` success, or processing when
  ``refunds_processing`` is set), and a refund's status by refund_ref_id; wrong credentials are
  ``APIConnect: INVALID_REQUEST``;
- scripted trouble for the next call to a path: ``script("validationserverAPI.php", "500")``."""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from seva_crm.plugin_api import utcnow
from seva_crm.plugins.sslcommerz.signatures import sign
from seva_crm.testing.loopback import LoopbackServer

MANDATORY = ("total_amount", "currency", "tran_id", "success_url", "fail_url", "cancel_url", "cus_name", "cus_email", "cus_phone",
             "cus_add1", "cus_city", "cus_country", "shipping_method", "product_name", "product_category", "product_profile")
AMOUNT = re.compile(r"^\d{1,9}\.\d{2}$")
CURRENCIES = ("BDT", "USD", "EUR", "GBP", "INR")
SIGNED = ("amount", "bank_tran_id", "base_fair", "card_brand", "card_issuer", "card_issuer_country", "card_issuer_country_code",
          "card_no", "card_type", "currency", "currency_amount", "currency_rate", "currency_type", "risk_level", "risk_title",
          "status", "store_amount", "store_id", "tran_date", "tran_id", "val_id", "value_a", "value_b", "value_c", "value_d")
DHAKA = timezone(timedelta(hours=6))


def _minor(text: str) -> int:
    whole, _, fraction = text.partition(".")
    return int(whole) * 100 + int(fraction)


def _text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


@dataclass
class FakeTransaction:
    store_id: str
    session: dict[str, str]
    status: str = "PENDING"
    val_id: str = ""
    bank_tran_id: str = ""
    risk_level: str = "0"
    validations: int = 0
    refunds: list[dict] = field(default_factory=list)


class FakeSslcommerz:
    def __init__(self, store_id: str = "sevat0000000001", store_passwd: str = "sevat0000000001@ssl") -> None:
        self.stores = {store_id: store_passwd}
        self.store_id, self.store_passwd = store_id, store_passwd
        self.transactions: dict[str, FakeTransaction] = {}  # tran_id -> the attempt
        self.sessions: dict[str, str] = {}  # sessionkey -> tran_id
        self.calls: list[str] = []
        self.refunds_processing = False
        self._script: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self.app = Starlette(routes=[
            Route("/gwprocess/v4/api.php", self._session, methods=["POST"]),
            Route("/gwprocess/v4/gw.php", self._page, methods=["GET"]),
            Route("/validator/api/validationserverAPI.php", self._validate, methods=["GET"]),
            Route("/validator/api/merchantTransIDvalidationAPI.php", self._merchant, methods=["GET"]),
        ])
        self._server: LoopbackServer | None = None
        self.base_url = ""

    def start(self) -> str:
        self._server = LoopbackServer(self._guarded, "fake SSLCommerz")
        self.base_url = self._server.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def script(self, path: str, kind: str) -> None:
        """Trouble for the next call to the path ending in ``path``: "500"."""
        with self._lock:
            self._script.setdefault(path, []).append(kind)

    def count(self, path: str) -> int:
        return sum(1 for p in self.calls if p.endswith(path))

    async def _guarded(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            self.calls.append(path)
            with self._lock:
                key = next((k for k in self._script if path.endswith(k) and self._script[k]), None)
                trouble = self._script[key].pop(0) if key else None
            if trouble == "500":
                return await Response("<html>Internal Server Error</html>", status_code=500)(scope, receive, send)
        await self.app(scope, receive, send)

    def _store(self, values) -> str | None:
        store_id, passwd = str(values.get("store_id") or ""), str(values.get("store_passwd") or "")
        known = self.stores.get(store_id)
        return store_id if known is not None and secrets.compare_digest(known, passwd) else None

    # ------------------------------------------------------------------ sessions and the payer

    async def _session(self, request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        store_id = self._store(form)
        if store_id is None:
            return JSONResponse({"status": "FAILED", "failedreason": "Store Credential Error Or Store is De-active"})
        missing = [name for name in MANDATORY if not form.get(name)]
        if missing:
            return JSONResponse({"status": "FAILED", "failedreason": f"Invalid Data imputed: {missing[0]} is required"})
        if not AMOUNT.match(form["total_amount"]) or _minor(form["total_amount"]) < 1000:
            return JSONResponse({"status": "FAILED", "failedreason": "Invalid total_amount: at least 10.00"})
        if form["currency"] not in CURRENCIES:
            return JSONResponse({"status": "FAILED", "failedreason": "Invalid currency"})
        if len(form["tran_id"]) > 30 or form["tran_id"] in self.transactions:
            return JSONResponse({"status": "FAILED", "failedreason": "Invalid or duplicate tran_id"})
        urls = [form[name] for name in ("success_url", "fail_url", "cancel_url")] + ([form["ipn_url"]] if form.get("ipn_url") else [])
        if not all(u.startswith(("http://", "https://")) for u in urls) or form["shipping_method"] != "NO":
            return JSONResponse({"status": "FAILED", "failedreason": "Invalid URL or shipping_method"})
        sessionkey = secrets.token_hex(16).upper()
        self.transactions[form["tran_id"]] = FakeTransaction(store_id, form)
        self.sessions[sessionkey] = form["tran_id"]
        return JSONResponse({"status": "SUCCESS", "failedreason": "", "sessionkey": sessionkey,
                             "GatewayPageURL": f"{self.base_url}/gwprocess/v4/gw.php?Q=pay&SESSIONKEY={sessionkey}",
                             "storeBanner": "", "storeLogo": "", "desc": []})

    async def _page(self, request: Request) -> Response:
        tran_id = self.sessions.get(request.query_params.get("SESSIONKEY", ""))
        if tran_id is None:
            return Response("Invalid session", status_code=404)
        return Response(f"Pay {self.transactions[tran_id].session['total_amount']} {self.transactions[tran_id].session['currency']}")

    def _fields(self, t: FakeTransaction) -> dict[str, str]:
        s = t.session
        fields = {
            "status": t.status, "tran_date": utcnow().astimezone(DHAKA).strftime("%Y-%m-%d %H:%M:%S"), "tran_id": s["tran_id"],
            "val_id": t.val_id, "amount": s["total_amount"], "store_amount": _text(_minor(s["total_amount"]) * 975 // 1000),
            "currency": "BDT", "bank_tran_id": t.bank_tran_id, "card_type": "BKASH-BKash" if t.val_id else "",
            "card_no": "", "card_issuer": "BKash Mobile Banking", "card_brand": "MOBILEBANKING", "card_issuer_country": "Bangladesh",
            "card_issuer_country_code": "BD", "store_id": t.store_id, "currency_type": s["currency"], "currency_amount": s["total_amount"],
            "currency_rate": "1.0000", "base_fair": "0.00", "value_a": s.get("value_a", ""), "value_b": s.get("value_b", ""),
            "value_c": s.get("value_c", ""), "value_d": s.get("value_d", ""), "risk_level": t.risk_level,
            "risk_title": "Safe" if t.risk_level == "0" else "High",
        }
        return fields

    def _signed(self, fields: dict[str, str], store_passwd: str) -> dict[str, str]:
        keys = list(SIGNED)
        return {**fields, "verify_sign": sign(fields, keys, store_passwd), "verify_key": ",".join(keys)}

    async def pay(self, gateway_url: str, *, status: str = "VALID", risk_level: str = "0") -> tuple[str, dict, str, dict]:
        """Play the payer at the page: (ipn_url, IPN fields, browser return URL, its fields), signed."""
        async with httpx.AsyncClient() as client:
            assert (await client.get(gateway_url)).status_code == 200
        tran_id = self.sessions[parse_qs(urlsplit(gateway_url).query)["SESSIONKEY"][0]]
        t = self.transactions[tran_id]
        assert t.status == "PENDING", "this session was used"
        t.status, t.risk_level = status, risk_level
        if status == "VALID":
            t.val_id, t.bank_tran_id = secrets.token_hex(10), secrets.token_hex(8).upper()
        fields = self._signed(self._fields(t), self.stores[t.store_id])
        back = {"VALID": "success_url", "FAILED": "fail_url"}.get(status, "cancel_url")
        return t.session.get("ipn_url", ""), fields, t.session[back], fields

    # ------------------------------------------------------------------ validation, queries, refunds

    async def _validate(self, request: Request) -> Response:
        q = request.query_params
        t = next((t for t in self.transactions.values() if t.val_id and t.val_id == q.get("val_id")), None)
        if self._store(q) is None or t is None or t.store_id != q.get("store_id") or t.status != "VALID":
            return JSONResponse({"status": "INVALID_TRANSACTION"})
        with self._lock:
            t.validations += 1
            first = t.validations == 1
        fields = self._fields(t)
        fields["status"] = "VALID" if first else "VALIDATED"
        return JSONResponse({**fields, "validated_on": fields["tran_date"], "gw_version": "", "APIConnect": "DONE"})

    async def _merchant(self, request: Request) -> Response:
        q = request.query_params
        store_id = self._store(q)
        if store_id is None:
            return JSONResponse({"APIConnect": "INVALID_REQUEST"})
        if q.get("refund_ref_id"):
            found = next((r for t in self.transactions.values() if t.store_id == store_id for r in t.refunds
                          if r["refund_ref_id"] == q["refund_ref_id"]), None)
            if found is None:
                return JSONResponse({"APIConnect": "DONE", "status": "failed", "errorReason": "Invalid refund_ref_id"})
            return JSONResponse({"APIConnect": "DONE", "bank_tran_id": found["bank_tran_id"], "tran_id": found["tran_id"],
                                 "refund_ref_id": found["refund_ref_id"], "status": found["status"], "errorReason": ""})
        if q.get("bank_tran_id"):
            return self._refund(store_id, q)
        if q.get("tran_id"):
            elements = [dict(self._fields(t), status=t.status) for t in self.transactions.values()
                        if t.store_id == store_id and t.session["tran_id"] == q["tran_id"]]
            return JSONResponse({"APIConnect": "DONE", "no_of_trans_found": len(elements), "element": elements})
        return JSONResponse({"APIConnect": "INVALID_REQUEST"})

    def _refund(self, store_id: str, q) -> Response:
        t = next((t for t in self.transactions.values() if t.store_id == store_id and t.bank_tran_id == q["bank_tran_id"]), None)
        amount, remarks = q.get("refund_amount", ""), q.get("refund_remarks", "")
        if t is None or t.status != "VALID":
            return JSONResponse({"APIConnect": "DONE", "status": "failed", "errorReason": "Invalid bank_tran_id"})
        if not AMOUNT.match(amount) or _minor(amount) <= 0 or not remarks:
            return JSONResponse({"APIConnect": "DONE", "status": "failed", "errorReason": "Invalid refund_amount or refund_remarks"})
        left = _minor(t.session["total_amount"]) - sum(_minor(r["amount"]) for r in t.refunds if r["status"] != "cancelled")
        if _minor(amount) > left:
            return JSONResponse({"APIConnect": "DONE", "status": "failed", "errorReason": "Refund amount exceeds the amount left"})
        refund = {"refund_ref_id": secrets.token_hex(8), "bank_tran_id": t.bank_tran_id, "tran_id": t.session["tran_id"],
                  "amount": amount, "refe_id": q.get("refe_id", ""), "status": "processing" if self.refunds_processing else "refunded"}
        t.refunds.append(refund)
        return JSONResponse({"APIConnect": "DONE", "bank_tran_id": t.bank_tran_id, "trans_id": t.session["tran_id"],
                             "refund_ref_id": refund["refund_ref_id"],
                             "status": "processing" if self.refunds_processing else "success", "errorReason": ""})

    def finish_refunds(self, status: str = "refunded") -> None:
        """SSLCommerz finishes every refund still processing."""
        for t in self.transactions.values():
            for refund in t.refunds:
                if refund["status"] == "processing":
                    refund["status"] = status
