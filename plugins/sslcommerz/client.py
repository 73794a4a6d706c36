"""An async SSLCommerz client (httpx): sessions, validation, queries by tran_id, refunds and
their status.

Retries only where they are safe: the validation and query APIs (reads) retry network errors
and 5xx with exponential backoff and full jitter; a session is retried too (a session nobody
opens costs nothing, and each has its own tran_id). A refund is sent once: after an unclear
answer it is not repeated (SSLCommerz has no lookup by our refe_id), and staff are told to look
before trying again. Logs carry the path and status only: never bodies, store passwords or payers."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from seva_crm.plugins.sslcommerz.config import SslcommerzConfig
from seva_crm.plugins.sslcommerz.errors import SslcommerzError, SslcommerzUnavailable

log = logging.getLogger("seva.sslcommerz")
SESSION = "gwprocess/v4/api.php"
VALIDATION = "validator/api/validationserverAPI.php"
MERCHANT = "validator/api/merchantTransIDvalidationAPI.php"


class SslcommerzClient:
    def __init__(self, config: SslcommerzConfig, *, attempts: int = 3, backoff: float = 0.5, max_backoff: float = 8.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.config, self.attempts, self.backoff, self.max_backoff, self.sleep = config, attempts, backoff, max_backoff, sleep
        self.http = httpx.AsyncClient(base_url=config.base_url.rstrip("/") + "/", transport=transport,
                                      timeout=httpx.Timeout(config.timeout, connect=min(config.timeout, 5.0)),
                                      headers={"accept": "application/json", "user-agent": "seva-crm"})

    async def __aenter__(self) -> SslcommerzClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    @property
    def _credentials(self) -> dict[str, str]:
        return {"store_id": self.config.store_id, "store_passwd": self.config.store_passwd.get_secret_value()}

    async def _once(self, method: str, path: str, *, params: dict | None = None, data: dict | None = None) -> dict[str, Any]:
        response = await self.http.request(method, path, params=params, data=data)
        log.info("sslcommerz %s /%s -> %s", method, path, response.status_code)
        if response.status_code >= 400:
            raise SslcommerzError(f"HTTP {response.status_code}", http_status=response.status_code)
        try:
            body = response.json()
        except ValueError:
            raise SslcommerzError("an answer that is not JSON", http_status=response.status_code) from None
        if not isinstance(body, dict):
            raise SslcommerzError("an answer that is not a JSON object")
        return body

    async def _retrying(self, method: str, path: str, *, params: dict | None = None, data: dict | None = None) -> dict[str, Any]:
        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                return await self._once(method, path, params=params, data=data)
            except SslcommerzError as exc:
                if not exc.retryable:
                    raise
                if last:
                    raise SslcommerzUnavailable(f"/{path}: HTTP {exc.http_status} after {self.attempts} attempts") from None
            except httpx.TransportError:
                if last:
                    raise SslcommerzUnavailable(f"/{path}: no answer after {self.attempts} attempts") from None
            await self.sleep(random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt)))
        raise AssertionError("unreachable")

    async def _merchant_api(self, params: dict[str, str]) -> dict[str, Any]:
        body = await self._retrying("GET", MERCHANT, params={**params, **self._credentials, "format": "json"})
        if body.get("APIConnect") != "DONE":
            raise SslcommerzError(f"APIConnect {body.get('APIConnect') or 'missing'}")
        return body

    async def check_credentials(self) -> None:
        """A query for a tran_id nobody uses: SSLCommerz answers APIConnect INVALID_REQUEST to a wrong store."""
        await self.transactions("seva-credentials-check")

    # ------------------------------------------------------------------ checkout

    async def create_session(self, fields: dict[str, str]) -> dict[str, Any]:
        """A hosted payment session: ``{sessionkey, GatewayPageURL}``; FAILED raises with its reason."""
        body = await self._retrying("POST", SESSION, data={**self._credentials, **fields})
        if body.get("status") != "SUCCESS" or not body.get("GatewayPageURL"):
            raise SslcommerzError(str(body.get("failedreason") or "session refused"))
        return body

    async def validate(self, val_id: str) -> dict[str, Any]:
        """The validation API's verdict on a val_id (status VALID, VALIDATED or INVALID_TRANSACTION)."""
        return await self._retrying("GET", VALIDATION, params={"val_id": val_id, **self._credentials, "format": "json"})

    async def transactions(self, tran_id: str) -> list[dict[str, Any]]:
        """What SSLCommerz knows of our tran_id (each attempt at paying it)."""
        body = await self._merchant_api({"tran_id": tran_id})
        found = body.get("element")
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []

    # ------------------------------------------------------------------ refunds

    async def refund(self, *, bank_tran_id: str, amount: str, remarks: str, refe_id: str) -> dict[str, Any]:
        """Initiate a refund, once: ``{status: success|processing, refund_ref_id}``; failed raises."""
        params = {"bank_tran_id": bank_tran_id, "refund_amount": amount, "refund_remarks": remarks, "refe_id": refe_id,
                  **self._credentials, "format": "json"}
        try:
            body = await self._once("GET", MERCHANT, params=params)
        except httpx.TransportError:
            raise SslcommerzUnavailable("refund: no answer; not repeated") from None
        if body.get("APIConnect") != "DONE" or body.get("status") not in ("success", "processing") or not body.get("refund_ref_id"):
            raise SslcommerzError(str(body.get("errorReason") or f"refund {body.get('status') or body.get('APIConnect')}"))
        return body

    async def refund_status(self, refund_ref_id: str) -> dict[str, Any]:
        """A refund's progress: status refunded, processing or cancelled."""
        return await self._merchant_api({"refund_ref_id": refund_ref_id})
