"""Documents sent with outbox messages, kept as references and rendered at send time.

A message stores only a reference (``{"kind": "invoice_pdf", "id": "<uuid>", "language": "hi"}``
in ``Message.attachment``): the bytes are made again for each attempt by the renderer its part
registered (billing registers ``invoice_pdf``), so no document sits in the outbox, and one that
can no longer be made (the invoice is gone) fails the message. Logs carry the kind only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from seva_crm.core.platform.channels import Attachment

Renderer = Callable[[UUID, dict[str, Any]], Awaitable[Attachment]]
_renderers: dict[str, Renderer] = {}


class CannotRender(Exception):
    """The referenced document cannot be made (any more)."""


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    """Register ``fn(tenant_id, reference) -> Attachment`` for references of ``kind``."""
    def register(fn: Renderer) -> Renderer:
        _renderers[kind] = fn
        return fn
    return register


async def render(tenant_id: UUID, reference: dict[str, Any]) -> Attachment:
    """The document a reference names, for the tenant; CannotRender if it cannot be made."""
    fn = _renderers.get(str(reference.get("kind")))
    if fn is None:
        raise CannotRender(f"no renderer for attachments of kind {reference.get('kind')!r}")
    return await fn(tenant_id, reference)
