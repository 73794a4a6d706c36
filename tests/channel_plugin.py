"""A test plugin whose channels send to the fake provider (tests/fake_provider.py) over HTTP.

Tests register ``ChannelPlugin(...)`` instances in code. This module is also a plugin by
itself, for ``seva worker --plugin tests.channel_plugin`` in a subprocess: its channels read
the provider's address from ``SEVA_TEST_PROVIDER_URL`` and ``SEVA_TEST_PROVIDER_TOKEN``."""

from __future__ import annotations

import asyncio
import os
import weakref

import httpx

from seva_crm.core.platform.channels import OutgoingMessage, Recipient, SendError, SendResult
from seva_crm.core.platform.hookspecs import hookimpl
from seva_crm.core.platform.plugin_types import PluginManifest


class HttpChannel:
    """A channel adapter for the fake provider, honouring its errors as the outbox expects."""

    def __init__(self, name: str, base_url: str, token: str, address: str = "phone", kind: str | None = None) -> None:
        self.name, self.base_url, self.token, self.address = name, base_url, token, address
        self.kind = kind or name
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # one per event loop

    def can_reach(self, recipient: Recipient) -> bool:
        return bool(getattr(recipient, self.address))

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = httpx.AsyncClient(base_url=self.base_url, timeout=10)
        return client

    async def send(self, message: OutgoingMessage, settings) -> SendResult:
        payload = {"to": getattr(message.recipient, self.address), "body": message.body, "reference": str(message.id)}
        headers = {"authorization": f"Bearer {self.token}", "idempotency-key": message.idempotency_key}
        try:
            response = await self._client().post(f"/v1/{self.name}/messages", json=payload, headers=headers)
        except httpx.TransportError as exc:
            raise SendError("network", type(exc).__name__, retryable=True) from None
        body = response.json()
        if response.status_code == 200:
            return SendResult(provider_id=body["id"])
        error = body.get("error", {})
        code, reason = error.get("code", "unknown"), error.get("message", "")
        if response.status_code == 429:
            raise SendError(code, reason, retryable=True, retry_after=float(response.headers.get("retry-after", 0)))
        if response.status_code >= 500:
            raise SendError(code, reason, retryable=True)
        if code == "not_on_channel":
            raise SendError(code, reason, retryable=False, fallback=True)
        raise SendError(code, reason, retryable=False)


class NullChannel:
    """Accepts everything at once (for benchmarks)."""

    def __init__(self, name: str = "whatsapp") -> None:
        self.name = name

    def can_reach(self, recipient: Recipient) -> bool:
        return True

    async def send(self, message: OutgoingMessage, settings) -> SendResult:
        return SendResult(provider_id=f"null-{message.id.hex}")


ADDRESSES = {"whatsapp": "phone", "sms": "phone", "email": "email"}


def http_channels(base_url: str, token: str, names=("whatsapp", "sms", "email")) -> list[HttpChannel]:
    return [HttpChannel(n, base_url, token, ADDRESSES[n]) for n in names]


class ChannelPlugin:
    def __init__(self, channels: list, plugin_id: str = "test-channels") -> None:
        self.channels, self.plugin_id = channels, plugin_id

    @hookimpl
    def seva_manifest(self) -> PluginManifest:
        return PluginManifest(id=self.plugin_id, name="Test channels", version="0", enabled_by_default=True)

    @hookimpl
    def seva_notification_channels(self) -> list:
        return self.channels


# This module as a plugin (for subprocesses).
_from_env: list | None = None


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(id="test-channels", name="Test channels (from the environment)", version="0", enabled_by_default=True)


@hookimpl
def seva_notification_channels() -> list:
    global _from_env
    if _from_env is None:
        _from_env = http_channels(os.environ["SEVA_TEST_PROVIDER_URL"], os.environ["SEVA_TEST_PROVIDER_TOKEN"])
    return _from_env
