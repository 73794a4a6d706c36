"""The change feed: every created, updated and deleted object of a tenant, in commit order, for
front ends that sync after hours offline (docs/events.md).

A service calls ``record(tenant_id, type, object_id, op)`` inside
``core.storage.transactions.transaction()``, next to the write it describes. The row is written
by a ``before_commit`` callback, so it commits with the change or not at all (a crash cannot lose
a change that committed).

Ordering: each write first bumps the tenant's ``change_counter`` row (an upsert returning the new
number). That row's lock is held until the commit, so a second transaction of the same tenant
waits, then reads the number the first one committed: numbers are handed out in commit order,
and a reader that has seen number N can never later find a smaller one committing late (the trap
of plain sequences, assigned at insert and committed in another order). The lock is taken last,
just before the commit, so it is held for the commit only and never waits behind another lock.
SQLite has one writer at a time: the same statements order it naturally.

Rows carry ids and the kind of change, never data: the feed's reader loads each object as it is
now, so an erased customer shows as a deletion with nothing personal in it."""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from tortoise import connections

from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.models import Change, ChangeCounter
from seva_crm.core.storage import bulk, transactions


class ChangeType(StrEnum):
    CUSTOMER = "customer"
    SERVICE_RECORD = "service_record"
    INVOICE = "invoice"
    PAYMENT = "payment"
    SUBSCRIPTION = "subscription"
    MESSAGE = "message"
    NOTE = "note"  # a customer note (core.crm.notes)
    TICKET = "ticket"  # tickets and incidents (core.crm.tickets)
    LEAD = "lead"  # core.crm.leads
    CONVERSATION = "conversation"  # a customer's thread: new inbound messages, read, assigned, replied


class Op(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


MAX_PAGE = 500


def record(tenant_id: UUID, type: str, object_id: UUID, op: Op | str = Op.UPDATED) -> None:
    """Note that ``object_id`` of ``type`` was created, updated or deleted, in the current
    ``transaction()`` (it raises outside one). ``type`` is a ``ChangeType`` value, or a new
    area's own name (``"ticket"``): the feed serves any type."""
    record_many(tenant_id, type, [object_id], op)


def record_many(tenant_id: UUID, type: str, object_ids: Sequence[UUID | str], op: Op | str = Op.UPDATED) -> None:
    """``record`` for many objects at once (an import, which passes its ids as text). Every change
    of a tenant recorded in one transaction (``record`` and ``record_many`` calls alike, savepoints
    included) is written by one counter update and one insert just before the commit, in the
    order they were recorded."""
    if not object_ids:
        return
    transactions.before_commit_gathered(("change_log", tenant_id), _write_gathered,
                                        (tenant_id, str(type), tuple(object_ids), Op(op).value, utcnow()))


async def write_many(tenant_id: UUID, type: str, object_ids: Sequence[UUID | str], op: Op | str = Op.UPDATED) -> None:
    """``record_many``, written at once on SQLite: there a write transaction holds the database's
    one write lock from its first write to its commit, so numbers taken now still follow the
    commit order, and a long transaction (an import, chunk after chunk) writes its feed rows as it
    goes rather than all of them at the end. They come before any change of the same transaction
    recorded for its commit. On PostgreSQL it is ``record_many``: a number taken now would keep
    the tenant's counter locked, and every other writer of the tenant waiting, until the commit."""
    if bulk.is_postgres():
        record_many(tenant_id, type, object_ids, op)
    elif not transactions.holding():  # as record_many: a number taken outside one would be a gap in the feed
        raise transactions.TransactionMisuse("write_many needs core.storage.transactions.transaction() around the change")
    elif object_ids:
        await _write_gathered([(tenant_id, str(type), object_ids, Op(op).value, utcnow())])


async def _write_gathered(items: list[tuple[UUID, str, Sequence[UUID | str], str, datetime]]) -> None:
    """The changes of one tenant gathered in a transaction (``record_many`` calls, in order): one
    row each, numbered from the counter."""
    tenant_id, count = items[0][0], sum(len(ids) for _, _, ids, _, _ in items)
    seq, rows = itertools.count(await _take_seqs(tenant_id, count) - count + 1), []
    for _, type, ids, op, now in items:
        rows += [(tenant_id, next(seq), type, object_id, op, now) for object_id in ids]
    await bulk.insert("change_log", ("tenant_id", "seq", "type", "object_id", "op", "occurred_at"), rows)


async def _take_seqs(tenant_id: UUID, count: int) -> int:
    """Bump the tenant's counter by ``count`` (its row stays locked until the commit); returns the last number taken."""
    conn = connections.get("default")
    postgres = conn.capabilities.dialect == "postgres"
    marks = ("$1", "$2") if postgres else ("?", "?")
    rows = await conn.execute_query_dict(
        f"INSERT INTO change_counter (tenant_id, seq, pruned_through) VALUES ({marks[0]}, {marks[1]}, 0) "
        "ON CONFLICT (tenant_id) DO UPDATE SET seq = change_counter.seq + EXCLUDED.seq RETURNING seq",
        [tenant_id if postgres else str(tenant_id), count],
    )
    return int(rows[0]["seq"])


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"c1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, seq = text.split(":")
        if prefix != "c1" or not seq.isdigit():
            raise ValueError
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise DomainError.of("since", ErrorCode.INVALID, "not a cursor this feed gave out") from None


@dataclass(frozen=True)
class ChangePage:
    changes: list[Change]
    cursor: str  # pass as ``since`` next time: everything up to here has been seen
    has_more: bool


async def read(tenant_id: UUID, since: str | None, types: list[str] | None = None, first: int = 100) -> ChangePage:
    """The tenant's changes after ``since`` (None: from the start), oldest first, at most
    ``first``. A cursor older than the retention window is EXPIRED: the client reads everything
    afresh, then follows the feed from ``head``."""
    first = max(1, min(first, MAX_PAGE))
    after = decode_cursor(since) if since else 0
    counter = await ChangeCounter.get_or_none(tenant_id=tenant_id)
    head, pruned = (counter.seq, counter.pruned_through) if counter else (0, 0)
    if after < pruned:
        raise DomainError.of("since", ErrorCode.EXPIRED, "changes since this cursor are no longer kept: read everything "
                             "afresh, then follow the feed from changesHead")
    if after > head:
        raise DomainError.of("since", ErrorCode.INVALID, "not a cursor this feed gave out")
    # only up to the head read above: every change up to it has committed (numbers follow commits)
    qs = Change.filter(tenant_id=tenant_id, seq__gt=after, seq__lte=head)
    if types:
        qs = qs.filter(type__in=types)
    rows = await qs.order_by("seq").limit(first + 1)
    has_more = len(rows) > first
    rows = rows[:first]
    end = rows[-1].seq if has_more else head
    return ChangePage(rows, encode_cursor(end), has_more)


async def head(tenant_id: UUID) -> str:
    """The cursor of the tenant's latest change: read it before a full read, then follow from it."""
    counter = await ChangeCounter.get_or_none(tenant_id=tenant_id)
    return encode_cursor(counter.seq if counter else 0)


async def prune(now: datetime, retention_days: int | None = None) -> int:
    """Drop changes older than the retention window (a daily job); cursors before them resync."""
    days = retention_days or get_settings().changes_retention_days
    cutoff = now - timedelta(days=days)
    dropped = 0
    tenants = await Change.filter(occurred_at__lt=cutoff).distinct().values_list("tenant_id", flat=True)
    for tenant_id in tenants:
        async with transactions.transaction():
            newest = await (Change.filter(tenant_id=tenant_id, occurred_at__lt=cutoff)
                            .order_by("-seq").first().values_list("seq", flat=True))
            if newest is None:
                continue
            dropped += await Change.filter(tenant_id=tenant_id, seq__lte=newest).delete()
            await ChangeCounter.filter(tenant_id=tenant_id, pruned_through__lt=newest).update(pruned_through=newest)
    return dropped
