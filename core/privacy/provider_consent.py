"""Consent given or withdrawn through a channel's provider: a STOP or START reply, an
unsubscribe link, a provider's opt-out report (WhatsApp ``user_preferences``, a DND failure).

- Consent is per kind of channel (``sms``, ``whatsapp``, ``email``, or a plugin channel's own):
  a report through channel ``via`` is recorded for ``via``'s kind.
- Withdrawn on one kind (an SMS STOP, an email unsubscribe), or, with ``every_channel``, on
  all of them (a WhatsApp STOP: a customer who says STOP expects no more offers by any way).
  Only recorded where consent is in force, so repeated reports add nothing.
- Given again on one channel or, with ``every_channel``, on all of them except those the
  customer opted out of on that channel itself (an SMS STOP is not undone by a WhatsApp START).
- Refusals of the ledger (a child, no published notice, an unknown customer) are logged and
  answered False: a webhook must not fail for them."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from seva_crm.core.platform import audit
from seva_crm.core.common.enums import ConsentSource
from seva_crm.core.common.errors import DomainError
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.models import Consent, Customer, Tenant
from seva_crm.core.platform.channel_catalog import loaded_channels
from seva_crm.core.privacy import consent

log = logging.getLogger("seva.consent")


@contextmanager
def _acting(via: str, source: ConsentSource, ip: str, user_agent: str):
    """A person acting through a signed link is the audit actor (their IP and user agent become
    the evidence); a provider's report keeps the current actor (the system)."""
    if not (ip or user_agent):
        yield
        return
    token = audit.set_actor(audit.Actor("link", f"{via}-{ConsentSource(source).value}", ip, user_agent[:300]))
    try:
        yield
    finally:
        audit.reset_actor(token)


async def _current(tenant_id: UUID, customer_id: UUID) -> bool:
    return await Customer.filter(id=customer_id, tenant_id=tenant_id, deleted_at__isnull=True).exists()


async def _scope(tenant_id: UUID) -> TenantScope:
    tenant = await Tenant.get(id=tenant_id).only("id", "region")
    return TenantScope(tenant.id, tenant.region)


async def withdrawn(tenant_id: UUID, customer_id: UUID, *, via: str, purpose: str = "marketing", every_channel: bool = False,
                    source: ConsentSource = ConsentSource.PROVIDER, evidence: dict[str, Any] | None = None,
                    ip: str = "", user_agent: str = "") -> bool:
    """Record that the customer withdrew ``purpose`` through ``via``; False if it was not in
    force (nothing recorded) or the ledger refused."""
    channel = None if every_channel else consent.kind_for(via)
    if not await _current(tenant_id, customer_id):
        return False
    if every_channel:
        in_force = any(row.purpose == purpose for row in await consent.in_force(tenant_id, customer_id))
    else:
        in_force = await consent.has_consent(tenant_id, customer_id, purpose, channel)
    if not in_force:
        return False
    try:
        with _acting(via, source, ip, user_agent):
            await consent.withdraw(await _scope(tenant_id), customer_id, purpose, channel, source=source,
                                   evidence={**(evidence or {}), "via": via})
    except DomainError as exc:
        log.warning("could not withdraw %s consent for customer %s: %s", purpose, customer_id, exc)
        return False
    return True


async def opted_out_on_their_own(tenant_id: UUID, customer_id: UUID, purpose: str, via: str) -> set[str]:
    """Kinds of channel (other than ``via``'s) whose own latest entry for ``purpose`` is a
    withdrawal not since overridden by an every-channel grant: the customer stopped there itself."""
    state: dict[str, bool] = {}
    rows = await Consent.filter(tenant_id=tenant_id, customer_id=customer_id, purpose=purpose).order_by("created_at", "id")
    for row in rows:
        if row.channel is None:
            if row.granted:  # granted for every channel afterwards: earlier channel opt-outs are over
                state.clear()
            continue  # an every-channel withdrawal keeps each channel's own choice underneath it
        state[row.channel] = row.granted
    return {kind for kind, granted in state.items() if not granted and kind != consent.kind_for(via)}


async def given(tenant_id: UUID, customer_id: UUID, *, via: str, purpose: str = "marketing", every_channel: bool = False,
                source: ConsentSource = ConsentSource.PROVIDER, evidence: dict[str, Any] | None = None,
                ip: str = "", user_agent: str = "") -> bool:
    """Record that the customer gave ``purpose`` again through ``via`` (the latest published
    notice applies); False where the ledger refused (logged, nothing recorded)."""
    evidence = {**(evidence or {}), "via": via}
    channels: list[str | None] = [consent.kind_for(via)]
    if every_channel:
        excluded = await opted_out_on_their_own(tenant_id, customer_id, purpose, via)
        kinds = sorted({info.kind for info in loaded_channels().values()} - excluded)
        channels = [None] if not excluded else kinds
    try:
        scope = await _scope(tenant_id)
        with _acting(via, source, ip, user_agent):
            for channel in channels:
                await consent.grant(scope, customer_id, purpose, channel, source=source, evidence=evidence)
    except DomainError as exc:
        log.warning("could not record %s consent for customer %s: %s", purpose, customer_id, exc)
        return False
    return True
