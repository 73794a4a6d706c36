"""Personal data encrypted with ``core.common.crypto``, re-encrypted under a new SEVA_SECRET_KEY
(``seva secrets rotate``, beside plugin and webhook secrets): customers' identity numbers, sealed
message bodies (codes, links, replies) still waiting to be sent, and an erasure's sealed reply
address. All or nothing: a value that no key at hand opens is named (table and row id, never the
value) and nothing changes. Keyed digests (``h:...``) and the audit chain's hashes are one-way and
stay as they were."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from seva_crm.core.common import crypto
from seva_crm.core.common.errors import DomainError, ErrorCode, FieldError
from seva_crm.core.common.enums import RequestStatus
from seva_crm.core.customers.identifiers import _context as identifier_context
from seva_crm.core.messaging.sealed import _context as message_context
from seva_crm.core.models import CustomerIdentifier, Message, PrivacyRequest
from seva_crm.core.privacy.replies import _context as reply_context
from seva_crm.core.storage.transactions import transaction

log = logging.getLogger("seva.privacy")


@dataclass
class Rotation:
    rotated: dict[str, int] = field(default_factory=dict)  # per table, re-encrypted under the current key
    current: int = 0  # already under the current key


class _Rotator:
    def __init__(self, old_secrets: tuple[str, ...]) -> None:
        self.old, self.key = old_secrets, crypto.current_key_id()
        self.report, self.failures = Rotation(), []

    def again(self, table: str, row_id: Any, token: str, context: str) -> str | None:
        """``token`` under the current key, or None when it already is (or cannot be opened)."""
        try:
            if crypto.key_id_of(token) == self.key:
                self.report.current += 1
                return None
            fresh = crypto.encrypt(crypto.decrypt(token, context, old_secrets=self.old), context)
        except crypto.CryptoError as exc:
            self.failures.append(FieldError(None, ErrorCode.INVALID, f"{table} {row_id}: {exc}"))
            return None
        self.report.rotated[table] = self.report.rotated.get(table, 0) + 1
        return fresh


async def rotate_personal_data(old_secrets: tuple[str, ...], tenant_id: UUID | None = None) -> Rotation:
    """Every tenant's (or only ``tenant_id``'s) encrypted personal data under the current key."""
    r = _Rotator(old_secrets)
    scope = {"tenant_id": tenant_id} if tenant_id else {}
    async with transaction():
        for row in await CustomerIdentifier.filter(**scope).select_for_update():
            fresh = r.again("customer_identifier", row.id, row.value, identifier_context(row.tenant_id, row.customer_id, row.kind))
            if fresh:
                await CustomerIdentifier.filter(id=row.id).update(value=fresh)
        for row in await Message.filter(**scope, secret__not="").exclude(body="").select_for_update():
            fresh = r.again("message", row.id, row.body, message_context(row.tenant_id, row.id))
            if fresh:
                await Message.filter(id=row.id).update(body=fresh)
        for row in await PrivacyRequest.filter(**scope, status__in=[RequestStatus.IN_PROGRESS.value,
                                                                   RequestStatus.FAILED.value]).select_for_update():
            sealed = (row.result or {}).get("reply_to")
            if sealed:
                fresh = r.again("privacy_request", row.id, sealed, reply_context(row))
                if fresh:
                    await PrivacyRequest.filter(id=row.id).update(result={**row.result, "reply_to": fresh})
        if r.failures:
            raise DomainError(*r.failures)
    log.info("re-encrypted personal data under key %s: %s (%d were current)", r.key, r.report.rotated, r.report.current)
    return r.report
