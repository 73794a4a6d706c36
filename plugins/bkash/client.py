"""An async bKash tokenized checkout client (httpx): token grant and refresh, create, execute,
status, search and refund.

The grant token is cached per merchant (app key, username and secrets) in the process until a minute
before it expires, then refreshed with its refresh token (grant calls are rate limited); a call
refused with 2079 (invalid app token) drops the cached token and is sent once more with a new one.

Retries only where they are safe. Reads (status, search, refund status) and create (a stray
Initiated payment costs nothing: the payer never sees it) retry network errors, 5xx and 9999 with
exponential backoff and full jitter. Execute is NEVER retried: after a timeout or an unclear
answer it asks the payment's status before anything else. A refund is not retried either: after
an unclear answer the refunds made on the payment are asked for and matched by ``sku`` (our
receipt). Logs carry the path, status code and attempt only: never bodies, tokens or wallets."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from seva_crm.plugin_api import utcnow
from seva_crm.plugins.bkash.config import BkashConfig
from seva_crm.plugins.bkash.errors import ALREADY_COMPLETED, EXECUTE_ALREADY_CALLED, BkashError, BkashUnavailable

log = logging.getLogger("seva.bkash")
INVALID_TOKEN = "2079"
TOKEN_MARGIN = timedelta(seconds=60)
REFRESH_LIFETIME = timedelta(days=28)


@dataclass
class _Token:
    id_token: str
    refresh_token: str
    expires_at: datetime
    refresh_until: datetime


_tokens: dict[tuple[str, str, str], _Token] = {}  # (base url, app key and username, secrets' digest) -> the merchant's token


def forget_tokens() -> None:
    """Drop every cached token (tests; a changed password)."""
    _tokens.clear()


class BkashClient:
    def __init__(self, config: BkashConfig, *, attempts: int = 3, backoff: float = 0.5, max_backoff: float = 8.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.config, self.attempts, self.backoff, self.max_backoff, self.sleep = config, attempts, backoff, max_backoff, sleep
        self.http = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/") + "/", transport=transport,
            timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 5.0)),
            headers={"content-type": "application/json", "accept": "application/json", "user-agent": "seva-crm"},
        )

    async def __aenter__(self) -> BkashClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    # ------------------------------------------------------------------ transport

    @property
    def _key(self) -> tuple[str, str, str]:
        # the secrets are part of the key (as a digest): changed credentials are granted anew
        secrets = f"{self.config.app_secret.get_secret_value()}\0{self.config.password.get_secret_value()}"
        return (self.config.base_url, f"{self.config.app_key}\0{self.config.username}", hashlib.sha256(secrets.encode()).hexdigest())

    async def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        response = await self.http.post(path, json=body, headers=headers)
        try:
            data = response.json()
        except ValueError:
            data = None
        error = BkashError.of(data, response.status_code)
        log.info("bkash POST /%s -> %s %s", path, response.status_code, error.code if error else "0000")
        if error is not None:
            raise error
        return data

    async def _pause(self, attempt: int) -> None:
        await self.sleep(random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt)))

    async def _token(self) -> str:
        token = _tokens.get(self._key)
        now = utcnow()
        if token is not None and now < token.expires_at - TOKEN_MARGIN:
            return token.id_token
        secret = {"app_key": self.config.app_key, "app_secret": self.config.app_secret.get_secret_value()}
        auth = {"username": self.config.username, "password": self.config.password.get_secret_value()}
        data = None
        if token is not None and now < token.refresh_until:
            try:
                data = await self._post("tokenized/checkout/token/refresh", {**secret, "refresh_token": token.refresh_token}, auth)
            except BkashError:
                data = None  # the refresh token is no longer good: grant a new one
        if data is None:
            data = await self._post("tokenized/checkout/token/grant", secret, auth)
        if not data.get("id_token"):
            raise BkashError("TOKEN", "no id_token in the grant answer")
        lifetime = data.get("expires_in") if isinstance(data.get("expires_in"), int) else 3600
        _tokens[self._key] = _Token(data["id_token"], str(data.get("refresh_token") or ""), now + timedelta(seconds=lifetime),
                                    now + REFRESH_LIFETIME)
        return data["id_token"]

    async def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One authorised call; a refused token is replaced once."""
        for renewed in (False, True):
            headers = {"Authorization": await self._token(), "X-APP-Key": self.config.app_key}
            try:
                return await self._post(path, body, headers)
            except BkashError as exc:
                if exc.code != INVALID_TOKEN or renewed:
                    raise
                _tokens.pop(self._key, None)
        raise AssertionError("unreachable")

    async def _retrying(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """A call that is safe to repeat: retried on network errors, 5xx and 9999."""
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                return await self._call(path, body)
            except BkashError as exc:
                if not exc.retryable:
                    raise
                if last:
                    raise BkashUnavailable(f"/{path}: {exc.code} after {self.attempts} attempts") from None
            except httpx.TransportError:
                if last:
                    raise BkashUnavailable(f"/{path}: no answer after {self.attempts} attempts") from None
            await self._pause(attempt)
        raise AssertionError("unreachable")

    async def check_credentials(self) -> None:
        """A token (cached, or granted now): bKash refuses wrong credentials here."""
        await self._token()

    # ------------------------------------------------------------------ checkout

    async def create_payment(self, *, amount: str, payer_reference: str, callback_url: str, invoice_number: str) -> dict[str, Any]:
        body = {"mode": "0011", "payerReference": payer_reference, "callbackURL": callback_url, "amount": amount,
                "currency": "BDT", "intent": "sale", "merchantInvoiceNumber": invoice_number}
        return await self._retrying("tokenized/checkout/create", body)

    async def status(self, payment_id: str) -> dict[str, Any]:
        return await self._retrying("tokenized/checkout/payment/status", {"paymentID": payment_id})

    async def search(self, trx_id: str) -> dict[str, Any]:
        return await self._retrying("tokenized/checkout/general/searchTransaction", {"trxID": trx_id})

    async def execute(self, payment_id: str) -> dict[str, Any]:
        """Execute once. After a timeout, a 5xx, a 9999, or bKash saying it was executed or
        completed already, the payment's status is the answer."""
        try:
            return await self._call("tokenized/checkout/execute", {"paymentID": payment_id})
        except BkashError as exc:
            if not (exc.retryable or exc.code in (EXECUTE_ALREADY_CALLED, ALREADY_COMPLETED)):
                raise
            log.warning("bkash execute unclear (%s): asking the status", exc.code)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise BkashUnavailable("/tokenized/checkout/execute: cannot connect") from None
        except httpx.TransportError as exc:
            log.warning("bkash execute got no answer (%s): asking the status", type(exc).__name__)
        return await self.status(payment_id)

    # ------------------------------------------------------------------ refunds

    async def refund(self, *, payment_id: str, trx_id: str, amount: str, sku: str, reason: str) -> dict[str, Any]:
        """Refund once; after an unclear answer, the refund made with this ``sku`` (or raise)."""
        body = {"paymentID": payment_id, "trxID": trx_id, "amount": amount, "sku": sku, "reason": reason}
        try:
            return await self._call("tokenized/checkout/payment/refund", body)
        except BkashError as exc:
            if not exc.retryable:
                raise
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise BkashUnavailable("/tokenized/checkout/payment/refund: cannot connect") from None
        except httpx.TransportError:
            pass
        found = await self.find_refund(payment_id, trx_id, sku)
        if found is None:
            raise BkashUnavailable("refund: no answer, and bKash reports no refund with our receipt")
        return found

    async def refunds(self, payment_id: str, trx_id: str) -> list[dict[str, Any]]:
        data = await self._retrying("tokenized/checkout/payment/refund", {"paymentID": payment_id, "trxID": trx_id})
        items = data.get("refundTransactions")
        return [r for r in items if isinstance(r, dict)] if isinstance(items, list) else []

    async def find_refund(self, payment_id: str, trx_id: str, sku: str) -> dict[str, Any] | None:
        return next((r for r in await self.refunds(payment_id, trx_id) if r.get("sku") == sku), None)
