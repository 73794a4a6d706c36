"""The outbox: every outbound notification is a Message row first, then a job.

- ``queue_message`` writes the row (status queued) in the caller's transaction and enqueues
  the send only after that transaction commits (``core.transactions``): a rollback leaves
  neither a row nor a job, and a crash after the commit leaves a queued row for the sweeper.
- The ``outbox.send`` actor claims the row with a guarded UPDATE (queued and due, or sending
  with an expired lease -> sending, with a lease and ``attempts + 1``), so one sender at a time
  holds it; ``attempts`` at the claim is the fencing token every later write checks. It picks a
  channel (the customer's preferred one, then the tenant's ``channel_fallback``; skipping
  channels no plugin provides, that cannot reach the recipient, or, for marketing, whose kind
  lacks consent; a message pinned to a channel id or kind goes only on channels of it), calls
  the adapter with the message's idempotency key, and records the outcome:
  sent with the provider's id; a retryable error -> queued again after exponential backoff
  with jitter (at least the provider's retry_after) until ``outbox_max_attempts``; a fallback
  error -> queued for the next channel at once; anything else -> failed with its reason.
- Status only moves forward (``TRANSITIONS``); sending -> queued only to wait for a retry.
- Messages committed together are sent by one ``outbox.send_batch`` job per ``BATCH``: claimed
  by one guarded UPDATE, then their recipients, their tenants' channels and template bindings are
  loaded once. Their sends are recorded together (group commit: when ``GROUP_COMMIT`` are ready or
  ``GROUP_COMMIT_SECONDS`` after the first): one guarded UPDATE per channel for the batch's sent
  messages, their change-feed rows and disclosure-ledger entries each in one bulk write, in one
  transaction. A batch that runs past half its lease renews it for the messages it still holds,
  and skips those whose claim passed to another sender.
- The ``outbox.sweep`` periodic job (every minute) re-enqueues what is stuck: queued and
  overdue (a lost job), or sending with an expired lease (a crashed sender).

Logs carry message ids, channels and error codes: never addresses, names or bodies.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

from tortoise import connections
from tortoise.expressions import F, Q
from tortoise.queryset import UpdateQuery

from seva_crm.core.customers.households import shared_phone
from seva_crm.core.messaging.channel_registry import ChannelBinding, channels_for_tenant
from seva_crm.core.messaging import attachments, sealed
from seva_crm.core.messaging.consent import may_send
from seva_crm.core.platform import disclosures
from seva_crm.core.platform.channels import OutgoingMessage, Purpose, Recipient, SendError, carries_attachments
from seva_crm.core.messaging.templates import binding_for
from seva_crm.core.common.crypto import CryptoError
from seva_crm.core.common.enums import MessageStatus
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.jobs import enqueue, job
from seva_crm.core.jobs.schedule import periodic
from seva_crm.core.models import Customer, Message, Tenant, User
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.platform import changes as change_feed
from seva_crm.core.platform import events
from seva_crm.core.platform.changes import ChangeType, Op
from seva_crm.core.storage.returning import update_returning, update_returning_models
from seva_crm.core.storage.transactions import after_commit_gathered, transaction

log = logging.getLogger("seva.outbox")

S = MessageStatus
TRANSITIONS: dict[MessageStatus, set[MessageStatus]] = {
    S.QUEUED: {S.SENDING, S.FAILED},
    S.SENDING: {S.QUEUED, S.SENT, S.FAILED},  # back to queued only to wait for a retry
    S.SENT: {S.DELIVERED, S.READ, S.FAILED},  # a provider may report failure after accepting
    S.DELIVERED: {S.READ},
    S.READ: set(),
    S.FAILED: set(),
}
SEND_JOB = "outbox.send"
SEND_BATCH_JOB = "outbox.send_batch"
BATCH = 50  # messages one send_batch job claims and sends
GROUP_COMMIT = 50  # a batch's sent messages are recorded together when this many are ready ...
GROUP_COMMIT_SECONDS = 0.2  # ... or this long after the first of them was sent
SWEEP_JOB = "outbox.sweep"
SWEEP_BATCH = 5000
NO_CONSENT = "no consent"


def sources(to: MessageStatus) -> list[MessageStatus]:
    return [s for s, following in TRANSITIONS.items() if to in following]


async def advance(message_id: UUID, to: MessageStatus, *, fence: int | None = None, tenant_id: UUID | None = None,
                  **changes: Any) -> bool:
    """Move a message to ``to`` only if its status allows it (and, given ``fence``, only while
    the caller's claim is the latest): one guarded UPDATE. Returns whether the row moved.
    ``tenant_id``, when the caller knows it, saves reading it back for the change feed."""
    qs = Message.filter(id=message_id, status__in=sources(to))
    if fence is not None:
        qs = qs.filter(attempts=fence)
    async with transaction():
        moved = await qs.update(status=to, updated_at=utcnow(), **changes) == 1
        if moved:
            await _changed(message_id, to, tenant_id, changes.get("channel"))
    return moved


VISIBLE = (S.SENT, S.DELIVERED, S.READ, S.FAILED)  # moves announced as message.status_changed


async def _changed(message_id: UUID, to: MessageStatus, tenant_id: UUID | None = None, channel: str | None = None) -> None:
    """Inside the transaction of a status move: the change feed's row and, for the moves people
    follow, the event (webhooks, live subscriptions) after the commit."""
    if tenant_id is None or (channel is None and to in VISIBLE):
        row = await Message.get(id=message_id).only("id", "tenant_id", "channel")
        tenant_id, channel = row.tenant_id, channel or row.channel
    change_feed.record(tenant_id, ChangeType.MESSAGE, message_id, Op.UPDATED)
    if to in VISIBLE:
        await events.emit(events.new_event(events.MESSAGE_STATUS_CHANGED, tenant_id, message_id, status=to.value,
                                           channel=channel or ""))


async def record_status(tenant_id: UUID, message_id: UUID, status: MessageStatus) -> bool:
    """A provider's report (delivered, read, failed) for a sent message; repeats and reports
    that arrive out of order change nothing."""
    stamp = {S.DELIVERED: "delivered_at", S.READ: "read_at", S.FAILED: "failed_at"}.get(status)
    if stamp is None:
        raise ValueError(f"providers report delivered, read or failed, not {status}")
    if await Message.filter(id=message_id, tenant_id=tenant_id).count() == 0:
        return False
    return await advance(message_id, status, **{stamp: utcnow()})


async def queue_message(
    tenant_id: UUID, customer_id: UUID | None, *, purpose: Purpose, template: str, body: str,
    variables: dict[str, Any] | None = None, idempotency_key: str | None = None,
    user_id: UUID | None = None, only_channel: str | None = None, secret: str = "", sealed_to: dict[str, str] | None = None,
    attachment: dict[str, Any] | None = None,
) -> Message:
    """Write a message to the outbox and send it once the current transaction commits.

    Call it inside ``core.transactions.transaction()`` with the change that causes the message
    (or outside any transaction). A repeated ``idempotency_key`` returns the first message.
    The recipient is the customer, or with ``user_id`` a member of staff (service alerts);
    ``only_channel`` (a channel id or a kind) sends on channels of it or not at all (a code
    sent "by SMS", kind "sms", goes by one of the tenant's SMS channels). With ``secret`` (a kind of
    ``core.messaging.sealed``) the body and variables are stored sealed; ``sealed_to`` (an address,
    sealed with them) is where it goes instead of the customer's (an erased subject's last reply).
    ``attachment`` is a document's reference (``core.messaging.attachments``), rendered at send
    time; such a message goes only on channels that carry documents."""
    if (customer_id is None) == (user_id is None):
        raise ValueError("a message goes to a customer or to a member of staff")
    if idempotency_key:
        existing = await Message.get_or_none(tenant_id=tenant_id, idempotency_key=idempotency_key)
        if existing is not None:
            return existing
    detail = await check_body(tenant_id, body)
    message_id = uuid4()
    variables = variables or {}
    if secret:
        if secret not in sealed.KINDS:
            raise ValueError(f"unknown kind of secret {secret!r}")
        body, variables = sealed.seal(tenant_id, message_id, body, variables, sealed_to), {}
    async with transaction():  # a savepoint in the caller's transaction, if any
        message = await Message.create(
            detail=detail, secret=secret,
            id=message_id, tenant_id=tenant_id, customer_id=customer_id, user_id=user_id, only_channel=only_channel,
            attachment=attachment,
            purpose=Purpose(purpose).value,
            template=template, body=body, variables=variables, status=S.QUEUED, next_attempt_at=utcnow(),
            idempotency_key=idempotency_key or f"seva-{message_id.hex}",
        )
        change_feed.record(tenant_id, ChangeType.MESSAGE, message_id, Op.CREATED)
    after_commit_gathered(enqueue_sends, message_id)
    return message


async def check_body(tenant_id: UUID, body: str) -> dict[str, Any]:
    """Ask the tenant's channels that can check a text (``check``) what they make of it: their
    facts by channel name. If every channel that checks refuses it (and no other channel could
    take it), the message is refused now, as a ``DomainError`` on ``body``, rather than failing later."""
    facts: dict[str, Any] = {}
    refusals: list[SendError] = []
    bindings = await channels_for_tenant(tenant_id)
    for name, binding in bindings.items():
        check = getattr(binding.adapter, "check", None)
        if check is None:
            continue
        try:
            facts[name] = check(body, binding.settings)
        except SendError as exc:
            refusals.append(exc)
    if refusals and not facts and all(hasattr(b.adapter, "check") for b in bindings.values()):
        raise DomainError.of("body", ErrorCode.INVALID, "; ".join(f"{e.code}: {e.reason}" for e in refusals))
    return facts


def enqueue_sends(message_ids: list[UUID]) -> None:
    """Enqueue the sends of messages committed together: one job per BATCH of them (a single
    message gets the one-message job)."""
    if len(message_ids) == 1:
        enqueue_send(message_ids[0])
        return
    for start in range(0, len(message_ids), BATCH):
        chunk = [str(i) for i in message_ids[start:start + BATCH]]
        try:
            enqueue(SEND_BATCH_JOB, chunk)
        except Exception as exc:  # noqa: BLE001 - the rows are safe; the sweeper retries the enqueue
            log.warning("could not enqueue %d messages (%s); the sweeper will", len(chunk), type(exc).__name__)


def enqueue_send(message_id: UUID, delay_seconds: float | None = None) -> None:
    """Enqueue a send; if the broker is unreachable the row waits for the sweeper."""
    try:
        enqueue(SEND_JOB, str(message_id), delay_seconds=delay_seconds)
    except Exception as exc:  # noqa: BLE001 - the row is safe; the sweeper retries the enqueue
        log.warning("could not enqueue message %s (%s); the sweeper will", message_id, type(exc).__name__)


def backoff(attempt: int, retry_after: float | None = None, *, rng=random.random) -> float:
    """Seconds before attempt ``attempt + 1``: exponential from outbox_retry_base_seconds,
    capped at outbox_retry_max_seconds, with jitter over its upper half, and never sooner than
    the provider's retry_after."""
    settings = get_settings()
    ceiling = min(settings.outbox_retry_max_seconds, settings.outbox_retry_base_seconds * 2 ** (attempt - 1))
    delay = ceiling / 2 + rng() * ceiling / 2
    return max(delay, retry_after or 0.0)


class Unsendable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def claim(message_id: UUID, now: datetime) -> Message | None:
    """Take the message for sending, or None if it is not due or someone else holds it."""
    lease = now + timedelta(seconds=get_settings().outbox_lease_seconds)
    return await Message.get(id=message_id) if await _take(message_id, now, lease) else None


async def _take(message_id: UUID, now: datetime, lease: datetime) -> bool:
    """Whether this sender now holds the message."""
    return await _claims(now, lease, id=message_id) == 1


def _claims(now: datetime, lease: datetime, **which: Any) -> UpdateQuery:
    """The guarded UPDATE of a claim, for the messages ``which`` selects."""
    due = Q(status=S.QUEUED) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    abandoned = Q(status=S.SENDING) & Q(locked_until__lt=now)
    return Message.filter(due | abandoned, **which).update(
        status=S.SENDING, locked_until=lease, attempts=F("attempts") + 1, updated_at=now
    )


def channel_order(preferred: str | None, fallback: list[str], tried: list[str]) -> list[str]:
    order: list[str] = []
    for name in ([preferred] if preferred else []) + list(fallback or []):
        if name not in order and name not in tried:
            order.append(name)
    return order


async def choose_channel(message: Message, customer: Customer | None, fallback: list[str], recipient: Recipient,
                         bindings: dict[str, ChannelBinding]) -> str:
    lacked_consent = False
    preferred = (customer.preferred_channel or None) if customer else None
    if message.only_channel:
        pinned = message.only_channel
        order = [name for name in channel_order(preferred, [*fallback, *bindings], message.channels_tried)
                 if name in bindings and pinned in (name, bindings[name].kind)]
    elif message.attachment:  # after the tenant's order, any other of its channels that carries documents
        order = channel_order(preferred, [*fallback, *bindings], message.channels_tried)
    else:
        order = channel_order(preferred, fallback, message.channels_tried)
    for name in order:
        binding = bindings.get(name)
        if binding is None or not binding.adapter.can_reach(recipient):
            continue
        if message.attachment and not carries_attachments(binding.adapter):
            continue
        if customer is None:  # a staff alert: a service message, no consent involved
            if Purpose(message.purpose) is not Purpose.SERVICE:
                raise Unsendable("only service messages go to staff")
        elif not await may_send(message.tenant_id, customer, message.purpose, binding.kind):
            lacked_consent = True
            continue
        return name
    if lacked_consent:
        raise Unsendable(NO_CONSENT)
    if message.channels_tried:
        raise Unsendable(f"no channel left to try after {', '.join(message.channels_tried)}")
    if message.attachment:
        raise Unsendable("no channel that sends documents can reach the recipient")
    raise Unsendable("no channel can reach the recipient")


@job(SEND_JOB)
async def send(message_id: str) -> None:
    await deliver(UUID(message_id))


@job(SEND_BATCH_JOB)
async def send_batch(message_ids: list[str]) -> None:
    await deliver_batch([UUID(i) for i in message_ids])


# what sending reads of a message and of a customer: a batch loads only these (building the
# models' other columns, dates above all, was most of a batch's own CPU)
SEND_FIELDS = ("id", "tenant_id", "customer_id", "user_id", "only_channel", "purpose", "template", "body", "variables",
               "channel", "channels_tried", "status", "attempts", "last_error", "idempotency_key", "detail", "secret",
               "attachment")
RECIPIENT_FIELDS = ("id", "tenant_id", "name", "phone", "email", "language", "preferred_channel", "date_of_birth",
                    "deleted_at", "erased_at", "household_contact_id")


class Context:
    """What sending needs besides the message, loaded once for a batch: recipients, and per
    tenant its channel order, channels and template bindings."""

    def __init__(self) -> None:
        self.customers: dict[UUID, Customer] = {}
        self.users: dict[UUID, User] = {}
        self.fallback: dict[UUID, list[str]] = {}
        self.bindings: dict[UUID, dict[str, ChannelBinding]] = {}
        self.templates: dict[tuple, dict[str, Any]] = {}

    async def load(self, messages: list[Message]) -> Context:
        customer_ids = {(m.tenant_id, m.customer_id) for m in messages if m.customer_id}
        user_ids = {(m.tenant_id, m.user_id) for m in messages if m.user_id}
        if customer_ids:
            q = Q()
            for tenant_id in {t for t, _ in customer_ids}:
                q |= Q(tenant_id=tenant_id, id__in=[c for t, c in customer_ids if t == tenant_id])
            self.customers = {c.id: c for c in await Customer.filter(q).only(*RECIPIENT_FIELDS)}
        if user_ids:
            q = Q()
            for tenant_id in {t for t, _ in user_ids}:
                q |= Q(tenant_id=tenant_id, id__in=[u for t, u in user_ids if t == tenant_id])
            self.users = {u.id: u for u in await User.filter(q, is_active=True)}
        tenant_ids = list({m.tenant_id for m in messages})
        for tenant in await Tenant.filter(id__in=tenant_ids).only("id", "channel_fallback"):
            self.fallback[tenant.id] = tenant.channel_fallback
        for tenant_id in tenant_ids:
            self.bindings[tenant_id] = await channels_for_tenant(tenant_id)
        return self

    async def binding_for(self, tenant_id: UUID, template: str, channel: str, language: str | None) -> dict[str, Any]:
        key = (tenant_id, template, channel, language)
        if key not in self.templates:
            self.templates[key] = await binding_for(tenant_id, template, channel, language)
        return self.templates[key]


async def deliver(message_id: UUID) -> MessageStatus | None:
    """One attempt at sending ``message_id``; returns the status it left, or None if it was
    not ours to send (not due, already done, or held by another sender)."""
    now = utcnow()
    message = await claim(message_id, now)
    if message is None:
        await _recheck_early(message_id, now)
        return None
    return await _deliver_claimed(message, await Context().load([message]))


async def deliver_batch(message_ids: list[UUID]) -> list[MessageStatus | None]:
    """``deliver`` for messages committed together: claimed by one guarded UPDATE (as ``claim``'s,
    returning the rows it took as they now are), then their recipients and their tenants'
    channels loaded once. Messages not ours to send (claimed elsewhere, already sent) are left alone.
    Sends are recorded in groups (``Sent``); a batch outliving half its lease renews it."""
    now = utcnow()
    lease_seconds = get_settings().outbox_lease_seconds
    claim = _claims(now, now + timedelta(seconds=lease_seconds), id__in=message_ids)
    messages = await update_returning_models(claim, Message, SEND_FIELDS)  # the rows as claimed, in the same statement
    claimed = {m.id for m in messages}
    for message_id in set(message_ids) - claimed:
        await _recheck_early(message_id, now)
    if not claimed:
        return []
    order = {message_id: i for i, message_id in enumerate(message_ids)}
    messages.sort(key=lambda m: order[m.id])
    context = await Context().load(messages)
    statuses: dict[UUID, MessageStatus | None] = {}
    sent = Sent(statuses)
    renew_at = now + timedelta(seconds=lease_seconds / 2)
    lost: set[UUID] = set()  # messages whose lease ran out and that another sender took
    with events.batch():  # listeners of the batch's events read their settings once (webhook endpoints)
        for index, message in enumerate(messages):
            if utcnow() >= renew_at:
                mine = [m for m in messages[index:] if m.id not in lost]
                held = await _renew(mine + [s.message for s in sent.pending], lease_seconds)
                lost |= {m.id for m in mine} - held
                renew_at = utcnow() + timedelta(seconds=lease_seconds / 2)
            if message.id in lost:
                statuses[message.id] = None
                continue
            statuses[message.id] = await _deliver_claimed(message, context, sent)
            if sent.due():
                await sent.record()
        await sent.record()
    return [statuses.get(message.id) for message in messages]


async def _renew(messages: list[Message], lease_seconds: float) -> set[UUID]:
    """Extend the lease of the messages this sender still holds (status sending, its fence);
    returns their ids: the others were taken by another sender after their lease ran out."""
    now = utcnow()
    fences: dict[int, list[UUID]] = {}
    for message in messages:
        fences.setdefault(message.attempts, []).append(message.id)
    held: set[UUID] = set()
    for fence, ids in fences.items():
        query = Message.filter(id__in=ids, status=S.SENDING, attempts=fence).update(
            locked_until=now + timedelta(seconds=lease_seconds), updated_at=now)
        held |= {UUID(str(i)) for i in await update_returning(query)}
    return held


@dataclasses.dataclass
class _Accepted:
    message: Message
    channel: str
    binding: ChannelBinding
    provider_id: str


class Sent:
    """A batch's messages the provider accepted, recorded together (group commit): one guarded
    UPDATE per (channel, whether a secret is emptied) moves them to sent, only while their claim
    is still this sender's; then in the same transaction their change-feed rows (one write per
    tenant) and disclosure-ledger entries (one bulk insert), and after the commit their events, together
    (``events.listen_many``: one Redis round trip for the live subscribers).
    Until recorded they stay sending under this sender's lease: a crash before the record leaves
    them to the sweeper, and the provider sees the same idempotency key again."""

    def __init__(self, statuses: dict[UUID, MessageStatus | None]) -> None:
        self.statuses = statuses
        self.pending: list[_Accepted] = []
        self.since: datetime | None = None

    def add(self, message: Message, channel: str, binding: ChannelBinding, provider_id: str) -> None:
        if not self.pending:
            self.since = utcnow()
        self.pending.append(_Accepted(message, channel, binding, provider_id[:128]))

    def due(self) -> bool:
        return bool(self.pending) and (len(self.pending) >= GROUP_COMMIT
                                       or utcnow() - self.since >= timedelta(seconds=GROUP_COMMIT_SECONDS))

    async def record(self) -> None:
        accepted, self.pending = self.pending, []
        if not accepted:
            return
        now = utcnow()
        groups: dict[tuple[str, bool], list[_Accepted]] = {}
        for item in accepted:
            groups.setdefault((item.channel, bool(item.message.secret)), []).append(item)
        async with transaction():
            moved: set[UUID] = set()
            for (channel, spent), items in groups.items():
                moved |= await _mark_sent(channel, spent, items, now)
            done = [item for item in accepted if item.message.id in moved]
            by_tenant: dict[UUID, list[UUID]] = {}
            for item in done:
                by_tenant.setdefault(item.message.tenant_id, []).append(item.message.id)
            for tenant_id, ids in by_tenant.items():
                change_feed.record_many(tenant_id, ChangeType.MESSAGE, ids, Op.UPDATED)
            await events.emit_many([events.new_event(events.MESSAGE_STATUS_CHANGED, item.message.tenant_id, item.message.id,
                                                     status=S.SENT.value, channel=item.channel) for item in done])
            await disclosures.record_messages(
                [(i.message.tenant_id, i.message.customer_id, i.binding.plugin_id, i.binding.kind, i.message.id,
                  i.message.purpose) for i in done], at=now)
        for item in accepted:
            if item.message.id in moved:
                log.info("message %s sent via %s (attempt %d)", item.message.id, item.channel, item.message.attempts)
                self.statuses[item.message.id] = S.SENT
            else:
                log.warning("message %s sent via %s but its claim had passed to another sender", item.message.id, item.channel)
                self.statuses[item.message.id] = None


async def _mark_sent(channel: str, spent: bool, items: list[_Accepted], now: datetime) -> set[UUID]:
    """sending -> sent for ``items`` (one channel), each only at its fence: one UPDATE with the
    provider's id per row; returns the ids it moved."""
    conn = connections.get("default")
    sets = ("status = {status}, channel = {channel}, provider_id = v.pid, sent_at = {now}, updated_at = {now}, "
            "locked_until = NULL, last_error = ''" + (", body = ''" if spent else ""))
    if conn.capabilities.dialect == "postgres":
        sql = ("WITH changed AS (UPDATE message AS m SET " + sets.format(status="$1", channel="$2", now="$3") +
               " FROM unnest($4::uuid[], $5::uuid[], $6::int[], $7::text[]) AS v(mid, tid, fence, pid)"
               " WHERE m.id = v.mid AND m.tenant_id = v.tid AND m.attempts = v.fence AND m.status = $8"
               " RETURNING m.id) SELECT id FROM changed")
        params = [S.SENT.value, channel, now, [i.message.id for i in items], [i.message.tenant_id for i in items],
                  [i.message.attempts for i in items], [i.provider_id for i in items], S.SENDING.value]
    else:
        rows = " UNION ALL ".join(["SELECT ? AS mid, ? AS tid, ? AS fence, ? AS pid"] + ["SELECT ?, ?, ?, ?"] * (len(items) - 1))
        sql = ("UPDATE message SET " + sets.format(status="?", channel="?", now="?") + f" FROM ({rows}) AS v"
               " WHERE message.id = v.mid AND message.tenant_id = v.tid AND message.attempts = v.fence"
               " AND message.status = ? RETURNING id")
        stamp = now.astimezone(timezone.utc).isoformat(" ")  # as Tortoise (and core.storage.bulk) store it
        params = [S.SENT.value, channel, stamp, stamp]
        for item in items:
            params += [str(item.message.id), str(item.message.tenant_id), item.message.attempts, item.provider_id]
        params.append(S.SENDING.value)
    _, rows = await conn.execute_query(sql, params)
    return {UUID(str(row["id"])) for row in rows}


async def _deliver_claimed(message: Message, context: Context, sent: Sent | None = None) -> MessageStatus | None:
    """One claimed message's attempt. With ``sent`` (a batch), a message the provider accepted
    is left to be recorded with others: its status is then ``S.SENT`` until ``sent.record()``
    says otherwise."""
    settings = get_settings()
    fence = message.attempts
    if fence > settings.outbox_max_attempts:
        return await _fail(message, fence, message.last_error or f"gave up after {fence - 1} attempts")

    customer = context.customers.get(message.customer_id) if message.customer_id else None
    body, variables, sealed_to = message.body, message.variables, {}
    if message.secret:
        try:
            body, variables, sealed_to = sealed.unseal_with_address(message.tenant_id, message.id, message.body)
        except (CryptoError, ValueError, KeyError):
            return await _fail(message, fence, "its sealed content cannot be opened (the secret key changed)")
    if message.user_id:
        user = context.users.get(message.user_id)
        if user is None:
            return await _fail(message, fence, "the staff member no longer exists")
        recipient = Recipient(None, user.name, user.phone, user.email, "en")
    elif customer is None or (customer.deleted_at is not None and not sealed_to):
        return await _fail(message, fence, "the customer no longer exists")
    else:
        # a household member is reached on its contact's phone, in its own name (core.customers.households)
        recipient = Recipient(customer.id, customer.name, await shared_phone(customer), customer.email, customer.language.value)
        if sealed_to:  # the customer's details were erased; the reply carries its address
            recipient = dataclasses.replace(recipient, phone=sealed_to.get("phone"), email=sealed_to.get("email"))
    bindings = context.bindings[message.tenant_id]
    try:
        channel = await choose_channel(message, customer, context.fallback[message.tenant_id], recipient, bindings)
    except Unsendable as exc:
        return await _fail(message, fence, exc.reason)

    binding = bindings[channel]
    document = None
    if message.attachment:
        try:
            document = await attachments.render(message.tenant_id, message.attachment)
        except attachments.CannotRender as exc:
            return await _fail(message, fence, f"its document cannot be made: {exc}")
    outgoing = OutgoingMessage(
        id=message.id, tenant_id=message.tenant_id, channel=channel, purpose=Purpose(message.purpose),
        template=message.template, body=body, variables=variables, recipient=recipient,
        idempotency_key=message.idempotency_key, attempt=fence,
        binding=await context.binding_for(message.tenant_id, message.template, channel, recipient.language),
        attachment=document,
    )
    try:
        async with asyncio.timeout(settings.outbox_send_timeout_seconds):  # no task per send, as wait_for makes
            result = await binding.adapter.send(outgoing, binding.settings)
    except SendError as exc:
        error = exc
    except TimeoutError:
        error = SendError("timeout", "the provider did not answer in time", retryable=True)
    except Exception as exc:  # noqa: BLE001 - an adapter bug or a network error: retry, then fail
        error = SendError(type(exc).__name__, "the channel adapter raised an unexpected error", retryable=True)
    else:
        if sent is not None and not result.detail:
            sent.add(message, channel, binding, result.provider_id)
            return S.SENT
        detail = {**message.detail, channel: result.detail} if result.detail else message.detail
        if await advance(message.id, S.SENT, fence=fence, tenant_id=message.tenant_id, channel=channel,
                         provider_id=result.provider_id[:128], detail=detail, sent_at=utcnow(), locked_until=None,
                         last_error="", **_spent(message)):
            log.info("message %s sent via %s (attempt %d)", message.id, channel, fence)
            await disclosures.record_message(message.tenant_id, message.customer_id, binding.plugin_id, binding.kind,
                                             message.id, message.purpose)
            return S.SENT
        log.warning("message %s sent via %s but its claim had passed to another sender", message.id, channel)
        return None

    reason = f"{channel} {error.code}: {error.reason}"[:2000]
    log.info("message %s: %s error %s on attempt %d (retryable=%s, fallback=%s)",
             message.id, channel, error.code, fence, error.retryable, error.fallback)
    if error.fallback:
        moved = await advance(message.id, S.QUEUED, fence=fence, tenant_id=message.tenant_id, channel=None, locked_until=None,
                              last_error=reason,
                              channels_tried=[*message.channels_tried, channel], next_attempt_at=utcnow())
        if moved:
            enqueue_send(message.id)
        return S.QUEUED if moved else None
    if error.retryable and fence < settings.outbox_max_attempts:
        delay = backoff(fence, error.retry_after)
        moved = await advance(message.id, S.QUEUED, fence=fence, tenant_id=message.tenant_id, channel=channel, locked_until=None,
                              last_error=reason,
                              next_attempt_at=utcnow() + timedelta(seconds=delay))
        if moved:
            enqueue_send(message.id, delay_seconds=delay)
        return S.QUEUED if moved else None
    if error.retryable:
        reason = f"{reason} (gave up after {fence} attempts)"
    return await _fail(message, fence, reason, channel=channel)


FailureHandler = Callable[[Message], Awaitable[None]]
_on_failed: dict[str, FailureHandler] = {}


def on_failed(template: str, handler: FailureHandler) -> None:
    """Call ``handler`` with each message of ``template`` that ends failed (after its status
    moved): the privacy engine falls back to another channel for a code no channel could send."""
    _on_failed[template] = handler


def _spent(message: Message) -> dict[str, Any]:
    """A secret's sealed content is emptied once the message is done with."""
    return {"body": ""} if message.secret else {}


async def _fail(message: Message, fence: int, reason: str, channel: str | None = None) -> MessageStatus | None:
    moved = await advance(message.id, S.FAILED, fence=fence, failed_at=utcnow(), locked_until=None,
                          last_error=reason[:2000], **({"channel": channel} if channel else {}), **_spent(message))
    if moved:
        log.info("message %s failed after %d attempts", message.id, fence)
        handler = _on_failed.get(message.template)
        if handler is not None:
            try:
                await handler(message)
            except Exception:  # noqa: BLE001 - the failure is recorded; the handler's own problem is logged
                log.exception("failure handler for message %s raised", message.id)
    return S.FAILED if moved else None


async def _recheck_early(message_id: UUID, now: datetime) -> None:
    """A retry's job that arrived before the message's next_attempt_at (clocks differ a little)
    is sent again for then, instead of waiting for the sweeper."""
    row = await Message.get_or_none(id=message_id).only("id", "status", "next_attempt_at")
    if row is not None and row.status is S.QUEUED and row.next_attempt_at and row.next_attempt_at > now:
        enqueue_send(message_id, delay_seconds=(row.next_attempt_at - now).total_seconds())


@periodic(SWEEP_JOB, every_seconds=60)
async def sweep_once(now: datetime) -> int:
    """Re-enqueue stuck messages: queued past their next attempt by more than
    outbox_sweep_grace_seconds, or sending with an expired lease. Returns how many."""
    overdue = now - timedelta(seconds=get_settings().outbox_sweep_grace_seconds)
    late = Q(status=S.QUEUED) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=overdue))
    abandoned = Q(status=S.SENDING) & Q(locked_until__lt=now)
    ids = await Message.filter(late | abandoned).order_by("next_attempt_at").limit(SWEEP_BATCH).values_list("id", flat=True)
    if ids:
        enqueue_sends(list(ids))
        log.info("outbox sweep re-enqueued %d messages", len(ids))
    return len(ids)
