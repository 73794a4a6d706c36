"""Our payment link for an invoice: a signed URL on this instance. Each visit starts a fresh bKash
checkout for what is due at that moment (a bKash payment id is good for one attempt only), so the
link a household got in a reminder keeps working after a cancelled or failed attempt."""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID

from seva_crm.plugin_api import public_url, signing_key, tenant_global_id

PURPOSE = "bkash-pay-links"


def _mac(tenant_id: UUID, invoice_id: UUID) -> str:
    digest = hmac.new(signing_key(PURPOSE), tenant_id.bytes + invoice_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def pay_token(tenant_id: UUID, invoice_id: UUID) -> str:
    return base64.urlsafe_b64encode(invoice_id.bytes).decode().rstrip("=") + "." + _mac(tenant_id, invoice_id)


def invoice_of(tenant_id: UUID, token: str) -> UUID | None:
    """The invoice a pay token names, if the token is ours for this tenant (constant-time check)."""
    head, _, mac = token.partition(".")
    try:
        invoice_id = UUID(bytes=base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:
        return None
    return invoice_id if hmac.compare_digest(_mac(tenant_id, invoice_id).encode(), mac.encode("utf-8", "replace")) else None


def pay_url(tenant_id: UUID, invoice_id: UUID) -> str:
    return f"{public_url().rstrip('/')}/webhooks/bkash/{tenant_global_id(tenant_id)}/pay/{pay_token(tenant_id, invoice_id)}"


def callback_url(tenant_id: UUID) -> str:
    """Where bKash sends the payer's browser back (it adds paymentID and status)."""
    return f"{public_url().rstrip('/')}/webhooks/bkash/{tenant_global_id(tenant_id)}/callback"
