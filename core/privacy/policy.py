"""Which law applies to a tenant, and the stricter answer where more than one does.

A tenant answers to the policy of its own region and of every region in its privacy profile's
``also_answers_to``. Policies come from plugins (``seva_region_policies``); each is configured
with the tenant's settings for that plugin (``core.tenant_plugins.plugin_config``). ``combine`` merges
several: the earlier deadline, the longer retention, the higher minimum age, the union of
notice contents and breach duties, transfers only where all allow them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from seva_crm.core.common.enums import Region, RequestType
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.models import PrivacyProfile, Tenant
from seva_crm.core.platform.context import kept
from seva_crm.core.platform.plugin_types import (
    BreachObligation,
    Cited,
    Disposition,
    NoticeRequirements,
    RecordRef,
    RegionPolicy,
    RetentionDecision,
)
from seva_crm.core.platform.plugin_settings import set_transfer_check
from seva_crm.core.platform.plugins import Plugins, get_plugins
from seva_crm.core.platform.tenant_plugins import plugin_config

_RANK = {Disposition.ERASE: 0, Disposition.ANONYMISE: 1, Disposition.RETAIN: 2}


def _join(items: Sequence[Cited]) -> str:
    return "; ".join(dict.fromkeys(c.citation for c in items))


@dataclass(frozen=True)
class CombinedPolicy:
    """Several region policies as one: each answer is the stricter of theirs."""

    policies: tuple[RegionPolicy, ...]

    @property
    def region(self) -> str:
        return "+".join(p.region for p in self.policies)

    @property
    def name(self) -> str:
        return " and ".join(p.name for p in self.policies)

    def configured(self, values: Mapping[str, Any]) -> CombinedPolicy:
        return self

    def inactivity_erasure(self) -> Cited[timedelta | None]:
        """The shortest inactivity after which a customer's data must be erased (with notice), of
        the policies that set one (an optional method of a region policy); None: no such rule."""
        answers = [c for c in (getattr(p, "inactivity_erasure", lambda: None)() for p in self.policies)
                   if c is not None and c.value is not None]
        if not answers:
            return Cited(None, "no inactivity erasure applies")
        return min(answers, key=lambda c: c.value)

    def purpose_served_erasure(self) -> Cited[timedelta | None]:
        """The shortest period after the purpose is served at which a customer's data is erased,
        of the policies that set one (optional, as inactivity_erasure)."""
        answers = [c for c in (getattr(p, "purpose_served_erasure", lambda: None)() for p in self.policies)
                   if c is not None and c.value is not None]
        if not answers:
            return Cited(None, "no purpose-served erasure is set")
        return min(answers, key=lambda c: c.value)

    def request_types(self) -> dict[RequestType, Cited[bool]]:
        merged: dict[RequestType, list[Cited[bool]]] = {}
        for p in self.policies:
            for kind, cited in p.request_types().items():
                merged.setdefault(kind, []).append(cited)
        return {k: Cited(any(c.value for c in cs), _join(cs)) for k, cs in merged.items()}

    def response_deadline(self, kind: RequestType) -> Cited[timedelta]:
        applicable = [p for p in self.policies if kind in p.request_types()] or list(self.policies)
        return min((p.response_deadline(kind) for p in applicable), key=lambda c: c.value)

    def identity_methods(self, kind: RequestType) -> Cited[frozenset[str]]:
        answers = [p.identity_methods(kind) for p in self.policies]
        common = frozenset.intersection(*(a.value for a in answers))
        return Cited(common, _join(answers))

    def minimum_age(self) -> Cited[int]:
        return max((p.minimum_age() for p in self.policies), key=lambda c: c.value)

    def guardian_consent_required(self) -> Cited[bool]:
        answers = [p.guardian_consent_required() for p in self.policies]
        required = [a for a in answers if a.value]
        return Cited(bool(required), _join(required or answers))

    def child_restricted_purposes(self) -> Cited[frozenset[str]]:
        answers = [p.child_restricted_purposes() for p in self.policies]
        return Cited(frozenset().union(*(a.value for a in answers)), _join(answers))

    def notice_requirements(self) -> NoticeRequirements:
        reqs = [p.notice_requirements() for p in self.policies]
        languages = frozenset.intersection(*(r.languages for r in reqs)) or frozenset({"en"})
        return NoticeRequirements(frozenset().union(*(r.elements for r in reqs)), languages,
                                  "; ".join(dict.fromkeys(r.citation for r in reqs)))

    def retention(self, record: RecordRef, today: date) -> RetentionDecision:
        decisions = [p.retention(record, today) for p in self.policies]
        top = max(_RANK[d.disposition] for d in decisions)
        strongest = [d for d in decisions if _RANK[d.disposition] == top]
        until = max((d.retain_until for d in strongest if d.retain_until), default=None)
        first = next((d for d in strongest if d.retain_until == until), strongest[0])
        return RetentionDecision(first.disposition, first.basis,
                                 "; ".join(dict.fromkeys(d.citation for d in strongest)), until)

    def minimum_log_retention(self) -> Cited[timedelta]:
        return max((p.minimum_log_retention() for p in self.policies), key=lambda c: c.value)

    def breach_obligations(self) -> list[BreachObligation]:
        by_key: dict[str, BreachObligation] = {}
        for p in self.policies:
            for ob in p.breach_obligations():
                known = by_key.get(ob.key)
                if known is None or _sooner(ob, known):
                    by_key[ob.key] = ob
        return list(by_key.values())

    def cross_border_allowed(self, country: str) -> Cited[bool]:
        answers = [p.cross_border_allowed(country) for p in self.policies]
        refusals = [a for a in answers if not a.value]
        return Cited(not refusals, _join(refusals or answers))

    def dispute_mark(self) -> Cited[bool]:
        answers = [p.dispute_mark() for p in self.policies]
        granted = [a for a in answers if a.value]
        return Cited(bool(granted), _join(granted or answers))


def _sooner(a: BreachObligation, b: BreachObligation) -> bool:
    if a.within is None:
        return b.within is not None
    return b.within is not None and a.within < b.within


def combine(policies: Sequence[RegionPolicy]) -> RegionPolicy:
    """One policy for a tenant that answers to several regions (the stricter answer wins)."""
    if not policies:
        raise ValueError("no policies to combine")
    return policies[0] if len(policies) == 1 else CombinedPolicy(tuple(policies))


# --- the policies of a tenant ------------------------------------------------------------


def region_policies(plugins: Plugins | None = None) -> dict[str, tuple[str, RegionPolicy]]:
    """Region code -> (plugin id, default policy), from the loaded plugins (the first per region)."""
    found: dict[str, tuple[str, RegionPolicy]] = {}
    for plugin_id, policy in (plugins or get_plugins()).provided("seva_region_policies"):
        found.setdefault(policy.region, (plugin_id, policy))
    return found


async def regions_of(tenant_id: UUID) -> list[str]:
    tenant = await Tenant.get(id=tenant_id)
    profile = await PrivacyProfile.get_or_none(tenant_id=tenant_id)
    extra = [r for r in (profile.also_answers_to if profile else []) if r != tenant.region.value]
    return [tenant.region.value, *dict.fromkeys(extra)]


async def tenant_policy(tenant_id: UUID) -> RegionPolicy:
    """The policy the tenant answers to, configured with its settings (stricter of several); kept
    for the request or job (``core.platform.context``)."""
    return await kept("privacy_policy", tenant_id, lambda: _tenant_policy(tenant_id))


async def _tenant_policy(tenant_id: UUID) -> RegionPolicy:
    available = region_policies()
    policies = []
    for region in await regions_of(tenant_id):
        if region not in available:
            raise DomainError.of(None, ErrorCode.INVALID, f"no privacy policy plugin is installed for region {region}")
        plugin_id, policy = available[region]
        settings = await plugin_config(tenant_id, plugin_id)
        policies.append(policy.configured(settings.model_dump() if settings else {}))
    return combine(policies)


def known_region(value: str) -> str:
    try:
        return Region(value.upper()).value
    except ValueError:
        raise DomainError.of("alsoAnswersTo", ErrorCode.INVALID, f"unknown region {value!r}") from None


async def check_transfer(tenant_id: UUID, provider: str, countries: tuple[str, ...]) -> None:
    """Refuse (TRANSFER_NOT_ALLOWED, with the law) a provider processing personal data in a
    country the tenant's rules forbid: Bangladesh only to authorised destinations, India except
    to restricted ones, the stricter where a tenant answers to both. An instance running without
    the policy plugin of a tenant's region (SEVA_PLUGINS) has no rule to apply."""
    available = region_policies()
    if not all(region in available for region in await regions_of(tenant_id)):
        return
    policy = await tenant_policy(tenant_id)
    for country in countries:
        answer = policy.cross_border_allowed(country)
        if not answer.value:
            where = f" (setting {answer.setting})" if answer.setting else ""
            raise DomainError.of("enabled", ErrorCode.TRANSFER_NOT_ALLOWED,
                                 f"{provider} processes personal data in {country}, and this tenant's rules do not allow "
                                 f"transfers there: {answer.citation}{where}")


set_transfer_check(check_transfer)
