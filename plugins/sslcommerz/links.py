"""Our payment link for an invoice: a signed URL on this instance. Each visit opens a fresh
SSLCommerz session for what is due at that moment (each attempt has its own tran_id), so the link
a household got in a reminder keeps working after a cancelled, failed or expired attempt."""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID

from seva_crm.plugin_api import public_url, signing_key, tenant_global_id

PURPOSE = "sslcommerz-pay-links"


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
    return f"{public_url().rstrip('/')}/webhooks/sslcommerz/{tenant_global_id(tenant_id)}/pay/{pay_token(tenant_id, invoice_id)}"


def return_url(tenant_id: UUID, outcome: str) -> str:
    """Where SSLCommerz sends the payer's browser back (``success``, ``fail`` or ``cancel``)."""
    return f"{public_url().rstrip('/')}/webhooks/sslcommerz/{tenant_global_id(tenant_id)}/return/{outcome}"


def ipn_url(tenant_id: UUID) -> str:
    return f"{public_url().rstrip('/')}/webhooks/sslcommerz/{tenant_global_id(tenant_id)}/ipn"
