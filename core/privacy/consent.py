"""The consent ledger: per customer, purpose and kind of channel, granted or withdrawn, with the
notice version shown and the evidence (actor, IP, user agent). Entries are appended, never
changed (erasure masks their evidence only). An entry names a kind ("sms", "whatsapp", "email",
or a plugin channel's own kind) or none (every channel); given a channel id, its kind is
recorded, so consent for "sms" covers every SMS channel. The newest entry for the kind, or for
every channel, is in force; with none, consent is not given (``core.messaging.consent``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from tortoise.transactions import in_transaction

from seva_crm.core.platform import audit
from seva_crm.core.customers.customers import get_customer
from seva_crm.core.common.enums import ConsentSource
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.messaging.consent import has_consent, may_send, set_child_rule  # noqa: F401 - the ledger's decision, also asked here
from seva_crm.core.models import Consent, Customer
from seva_crm.core.platform.channel_catalog import check_kind, loaded_channels
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.privacy.notices import find_notice, latest_notice, lists_purpose
from seva_crm.core.privacy.policy import tenant_policy
from seva_crm.core.privacy.profile import purposes_of
from seva_crm.core.common.security import utcnow


@dataclass(frozen=True)
class Guardian:
    """The parent or guardian who consents for a child: an identifiable adult (DPDP Rule 10)."""

    name: str
    relation: str
    verified_by: str  # how their identity and adulthood were checked: "in person, voter id"


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


async def is_child(tenant_id: UUID, customer: Customer, today: date | None = None) -> bool:
    if customer.date_of_birth is None:
        return False  # no date of birth recorded: treated as an adult (staff record it when in doubt)
    minimum = (await tenant_policy(tenant_id)).minimum_age().value
    return age_on(customer.date_of_birth, today or utcnow().date()) < minimum


def _evidence(extra: dict[str, Any] | None) -> dict[str, Any]:
    actor = audit.current_actor()
    return {"actor_type": actor.type, "actor_id": actor.id, "ip": actor.ip, "user_agent": actor.user_agent,
            **(extra or {})}


async def _check_purpose(tenant_id: UUID, purpose: str, channel: str | None) -> tuple[str, str | None]:
    purpose = (purpose or "").strip().lower()
    if purpose not in await purposes_of(tenant_id):
        raise DomainError.of("purpose", ErrorCode.INVALID, f"unknown purpose {purpose!r}: define it in the privacy profile first")
    return purpose, kind_for(channel)


def kind_for(channel: str | None) -> str | None:
    """The kind a consent entry records for ``channel`` (a kind or a channel id; None: every
    channel); DomainError on ``channel`` for one no loaded plugin provides."""
    return None if channel is None else check_kind(channel, loaded_channels(), "channel")


async def grant(
    tenant: TenantScope, customer_id: UUID | None, purpose: str, channel: str | None = None, *,
    source: ConsentSource = ConsentSource.STAFF, notice_version: int | None = None, language: str | None = None,
    guardian: Guardian | None = None, evidence: dict[str, Any] | None = None,
) -> Consent:
    """Record consent given after the notice was shown. A child cannot consent to a restricted
    purpose (marketing, profiling) at all; for other purposes a guardian consents where the
    region requires it."""
    customer = await get_customer(tenant.id, customer_id, "customerId")
    if customer.erased_at is not None:
        raise DomainError.of("customerId", ErrorCode.INVALID, "this customer's data was erased")
    purpose, channel = await _check_purpose(tenant.id, purpose, channel)
    policy = await tenant_policy(tenant.id)
    guardian_row: dict[str, Any] = {}
    if await is_child(tenant.id, customer):
        restricted = policy.child_restricted_purposes()
        if purpose in restricted.value:
            raise DomainError.of("purpose", ErrorCode.FORBIDDEN,
                                 f"a customer under {policy.minimum_age().value} cannot be asked for {purpose} consent "
                                 f"({restricted.citation})")
        required = policy.guardian_consent_required()
        if required.value:
            if guardian is None or not (guardian.name.strip() and guardian.relation.strip() and guardian.verified_by.strip()):
                raise DomainError.of("guardian", ErrorCode.REQUIRED,
                                     f"a parent or guardian must consent for a child, with name, relation and how "
                                     f"they were verified ({required.citation})")
            guardian_row = {"name": guardian.name.strip(), "relation": guardian.relation.strip(),
                            "verified_by": guardian.verified_by.strip(), "citation": required.citation}
    language = language or customer.language.value
    notice = await (find_notice(tenant.id, language, notice_version) if notice_version else latest_notice(tenant.id, language))
    if notice is None:
        raise DomainError.of("noticeVersion", ErrorCode.REQUIRED,
                             f"no published consent notice{f' version {notice_version}' if notice_version else ''} in "
                             f"{language}: consent follows the notice ({policy.notice_requirements().citation})")
    if not lists_purpose(notice, purpose):
        raise DomainError.of("purpose", ErrorCode.INVALID,
                             f"notice version {notice.version} ({notice.language}) does not list {purpose}: publish one "
                             f"whose purposes name it (\"{purpose}: ...\") before asking for it "
                             f"({policy.notice_requirements().citation})")
    async with in_transaction():
        row = await Consent.create(
            tenant_id=tenant.id, customer_id=customer.id, purpose=purpose, channel=channel, granted=True,
            source=ConsentSource(source).value, notice_version=str(notice.version), notice_language=notice.language,
            evidence=_evidence(evidence), guardian=guardian_row,
        )
        await audit.record(tenant.id, "consent.granted", subject_type="customer", subject_id=customer.id,
                           details={"consent": str(row.id), "purpose": purpose, "channel": channel,
                                    "source": row.source, "notice": f"{notice.language}/{notice.version}",
                                    "guardian": bool(guardian_row)})
    return row


async def withdraw(
    tenant: TenantScope, customer_id: UUID | None, purpose: str, channel: str | None = None, *,
    source: ConsentSource = ConsentSource.STAFF, evidence: dict[str, Any] | None = None,
) -> Consent:
    """Record withdrawal: as easy as giving (a mutation, a STOP reply, an unsubscribe link).
    Channel null withdraws on every channel; a kind or channel id, on every channel of its kind."""
    customer = await get_customer(tenant.id, customer_id, "customerId")
    purpose, channel = await _check_purpose(tenant.id, purpose, channel)
    async with in_transaction():
        row = await Consent.create(tenant_id=tenant.id, customer_id=customer.id, purpose=purpose, channel=channel,
                                   granted=False, source=ConsentSource(source).value, evidence=_evidence(evidence))
        await audit.record(tenant.id, "consent.withdrawn", subject_type="customer", subject_id=customer.id,
                           details={"consent": str(row.id), "purpose": purpose, "channel": channel, "source": row.source})
    return row


async def _restricted_for_child(tenant_id: UUID, customer: Customer, purpose: str) -> bool:
    restricted = (await tenant_policy(tenant_id)).child_restricted_purposes().value
    return purpose in restricted and await is_child(tenant_id, customer)


set_child_rule(_restricted_for_child)


async def in_force(tenant_id: UUID, customer_id: UUID) -> list[Consent]:
    """The entries now deciding each (purpose, kind) with consent granted."""
    rows = await Consent.filter(tenant_id=tenant_id, customer_id=customer_id).order_by("created_at", "id")
    latest: dict[tuple[str, str | None], Consent] = {}
    for row in rows:
        if row.channel is None:  # an every-channel entry overrides the purpose's channel entries
            for key in [k for k in latest if k[0] == row.purpose]:
                del latest[key]
        latest[(row.purpose, row.channel)] = row
    return [r for r in latest.values() if r.granted]


async def withdraw_all(tenant: TenantScope, customer_id: UUID, source: ConsentSource, reference: str) -> int:
    """Withdraw every consent in force (a consent-withdrawal or erasure request)."""
    purposes = {r.purpose for r in await in_force(tenant.id, customer_id)}
    for purpose in sorted(purposes):
        await withdraw(tenant, customer_id, purpose, None, source=source, evidence={"reference": reference})
    return len(purposes)
