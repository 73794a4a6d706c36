"""Messages that carry a data subject's secret: a verification code (``code``) or an export
download link (``link``), or the outcome of an erasure (``reply``: it travels with the address
it goes to, since the customer's own details are erased by then). Their body and variables are sealed with ``core.common.crypto`` when
queued, opened only by the outbox's sender to hand them to the channel, and emptied once the
message is sent or has failed. No API shows them: staff of every role see only what the message
is (``label``)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from seva_crm.core.common import crypto

KINDS = {"code": "verification code", "link": "export link", "reply": "erasure outcome"}


def _context(tenant_id: UUID, message_id: UUID) -> str:
    return f"message:{tenant_id}:{message_id}"


def seal(tenant_id: UUID, message_id: UUID, body: str, variables: dict[str, Any],
         to: dict[str, str] | None = None) -> str:
    """``to`` ({"phone": ...} or {"email": ...}): the address to send to instead of the customer's."""
    data = {"body": body, "variables": variables, **({"to": to} if to else {})}
    return crypto.encrypt(json.dumps(data, ensure_ascii=False), _context(tenant_id, message_id))


def unseal(tenant_id: UUID, message_id: UUID, sealed: str) -> tuple[str, dict[str, Any]]:
    """The body and variables; ``crypto.CryptoError`` if they cannot be opened (e.g. the key changed)."""
    body, variables, _ = unseal_with_address(tenant_id, message_id, sealed)
    return body, variables


def unseal_with_address(tenant_id: UUID, message_id: UUID, sealed: str) -> tuple[str, dict[str, Any], dict[str, str]]:
    data = json.loads(crypto.decrypt(sealed, _context(tenant_id, message_id)))
    return data["body"], data["variables"], data.get("to") or {}


def label(secret: str) -> str:
    """What staff see instead of the body of a message holding a secret."""
    return KINDS.get(secret, "secret")
