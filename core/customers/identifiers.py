"""Sensitive identifiers a centre records for a customer (Aadhaar, voter id, NID, PAN,
passport): validated, encrypted at rest, shown masked (the last four characters). Only an
explicit reveal, by an owner or admin (the API checks the role), shows the value, and every
reveal is audited. Included in subject exports and erased with the customer
(``core.privacy.sources``)."""

from __future__ import annotations

import re
from uuid import UUID

from tortoise.transactions import in_transaction

from seva_crm.core.common import crypto
from seva_crm.core.common.errors import DomainError, ErrorCode, NotFound
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.customers.customers import ensure_not_erased, get_customer
from seva_crm.core.models import CustomerIdentifier
from seva_crm.core.platform import audit

# Verhoeff tables (the Aadhaar check digit)
_D = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5], [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
      [3, 4, 0, 1, 2, 8, 9, 5, 6, 7], [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
      [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3], [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
      [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
_P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4], [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
      [8, 9, 1, 6, 0, 4, 3, 5, 2, 7], [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
      [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]]


def verhoeff_ok(digits: str) -> bool:
    check = 0
    for i, d in enumerate(reversed(digits)):
        check = _D[check][_P[i % 8][int(d)]]
    return check == 0


def _aadhaar(v: str) -> str:
    v = re.sub(r"[\s-]", "", v)
    if not re.fullmatch(r"[2-9]\d{11}", v) or not verhoeff_ok(v):
        raise ValueError("an Aadhaar number is 12 digits, not starting with 0 or 1, with a valid check digit")
    return v


def _pattern(regex: str, what: str):
    def check(v: str) -> str:
        v = re.sub(r"[\s-]", "", v).upper()
        if not re.fullmatch(regex, v):
            raise ValueError(what)
        return v
    return check


KINDS = {
    "aadhaar": _aadhaar,
    "voter_id": _pattern(r"[A-Z]{3}\d{7}", "a voter id (EPIC) is 3 letters and 7 digits"),
    "nid": _pattern(r"\d{10}|\d{13}|\d{17}", "a Bangladesh NID is 10, 13 or 17 digits"),
    "pan": _pattern(r"[A-Z]{5}\d{4}[A-Z]", "a PAN is 5 letters, 4 digits and a letter"),
    "passport": _pattern(r"[A-Z0-9]{6,9}", "a passport number is 6 to 9 letters and digits"),
}


def _context(row_tenant: UUID, customer_id: UUID | str, kind: str) -> str:
    return f"customer-identifier:{row_tenant}:{customer_id}:{kind}"


def check(kind: str, value: str) -> str:
    """The identifier's stored form; ValueError saying what the kind looks like."""
    return KINDS[kind](value or "")


def seal(tenant_id: UUID, customer_id: UUID | str, kind: str, clean: str, *, secret: str | None = None) -> tuple[str, str]:
    """The ciphertext of a checked value (bound to its tenant, customer and kind) and its last four;
    under the key of ``secret`` where the settings are not at hand (the import's checking process)."""
    return crypto.encrypt(clean, _context(tenant_id, customer_id, kind), secret=secret), clean[-4:]


def masked(row: CustomerIdentifier) -> str:
    return "•" * 4 + " " + row.last4


async def set_identifier(tenant: TenantScope, customer_id: UUID | None, kind: str, value: str) -> CustomerIdentifier:
    """Record (or replace) the customer's identifier of ``kind``; audited without the value."""
    if kind not in KINDS:
        raise DomainError.of("kind", ErrorCode.INVALID, f"one of {', '.join(KINDS)}")
    try:
        clean = check(kind, value)
    except ValueError as exc:
        raise DomainError.of("value", ErrorCode.INVALID, str(exc)) from None
    customer = await get_customer(tenant.id, customer_id, "customerId")
    ensure_not_erased(customer, "customerId")
    cipher, last4 = seal(tenant.id, customer.id, kind, clean)
    async with in_transaction():
        row = await CustomerIdentifier.get_or_none(tenant_id=tenant.id, customer_id=customer.id, kind=kind)
        if row is None:
            row = await CustomerIdentifier.create(tenant_id=tenant.id, customer_id=customer.id, kind=kind, value=cipher,
                                                  last4=last4)
        else:
            await CustomerIdentifier.filter(id=row.id).update(value=cipher, last4=last4)
            row.value, row.last4 = cipher, last4
        await audit.record(tenant.id, "customer.identifier_set", subject_type="customer", subject_id=customer.id,
                           changed=[kind], details={"identifier": str(row.id), "kind": kind})
    return row


def plaintext(row: CustomerIdentifier) -> str:
    return crypto.decrypt(row.value, _context(row.tenant_id, row.customer_id, row.kind))


async def reveal(tenant: TenantScope, identifier_id: UUID | None) -> tuple[CustomerIdentifier, str]:
    """The full value, for an owner or admin; every reveal is an audit entry."""
    row = await CustomerIdentifier.get_or_none(id=identifier_id, tenant_id=tenant.id) if identifier_id else None
    if row is None:
        raise NotFound("identifier")
    value = plaintext(row)
    await audit.record(tenant.id, "customer.identifier_revealed", subject_type="customer", subject_id=row.customer_id,
                       details={"identifier": str(row.id), "kind": row.kind})
    return row, value


async def identifiers_of(tenant_id: UUID, customer_id: UUID) -> list[CustomerIdentifier]:
    return await CustomerIdentifier.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("kind")
