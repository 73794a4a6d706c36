"""Value types exchanged through the hooks in ``core.hookspecs``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, Protocol, TypeVar
from uuid import UUID

from pydantic import AfterValidator, BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict

from seva_crm.core.common.enums import RequestType

T = TypeVar("T")


class InstanceSettings(BaseSettings):
    """Settings of a plugin that are the operator's for the whole instance, never a tenant's
    (a provider's address): read from ``SEVA_<PLUGIN ID>_<FIELD>`` environment variables
    when the plugins load, so a bad value stops start-up naming the variable."""

    model_config = SettingsConfigDict(extra="ignore")


def _provider_url(value: str) -> str:
    from seva_crm.core.common.settings import get_settings

    if not value.startswith(("https://", "http://")):
        raise ValueError("must start with https:// (or http:// in development)")
    if value.startswith("http://") and not get_settings().is_development:
        raise ValueError("must start with https:// when SEVA_ENV=production")
    return value.rstrip("/")


# A provider's base URL in InstanceSettings: https:// in production (http:// for local fakes)
ProviderUrl = Annotated[str, AfterValidator(_provider_url)]


@dataclass(frozen=True)
class PluginManifest:
    id: str  # equals the entry-point name; used in URLs (/webhooks/<id>/) and settings
    name: str
    version: str
    description: str = ""
    settings_model: type[BaseModel] | None = None  # per tenant; SecretStr fields are encrypted at rest
    instance_settings: type[InstanceSettings] | None = None  # the operator's: SEVA_<ID>_* variables
    enabled_by_default: bool = False  # for tenants that have not chosen
    # The plugin's own tables: a module of Tortoise models (one Tortoise app, labelled with the
    # plugin's id; foreign keys to core as "models.Tenant") and the package of its migrations.
    models: str | None = None  # "seva_crm.plugins.email.models"
    migrations: str | None = None  # "seva_crm.plugins.email.migrations"
    # Where the plugin's provider processes personal data (ISO 3166 alpha-2 codes), or a function
    # of the tenant's validated settings (None if it has none) answering that (an SMS gateway in
    # India or in Bangladesh). Enabling the plugin is refused where the tenant's region rules
    # forbid a transfer there. Empty: data stays with this instance.
    processing_countries: tuple[str, ...] | Callable[[Any], Sequence[str]] = ()

    def countries(self, settings: Any) -> tuple[str, ...]:
        found = self.processing_countries(settings) if callable(self.processing_countries) else self.processing_countries
        return tuple(dict.fromkeys(c.strip().upper() for c in found if c and c.strip()))


@dataclass(frozen=True)
class GraphQLContribution:
    query: type | None = None  # a @strawberry.type whose fields join Query
    mutation: type | None = None  # a @strawberry.type whose fields join Mutation
    types: tuple[type, ...] = ()  # extra types reachable only through interfaces or unions


@dataclass(frozen=True)
class ScheduledJob:
    name: str  # unique; the lease that keeps several schedulers from running it twice
    every_seconds: int
    actor_name: str  # the dramatiq actor to enqueue (no arguments)


@dataclass(frozen=True)
class DomainEvent:
    name: str  # "customer.created", "payment.recorded", "privacy_request.completed", ...
    tenant_id: UUID
    subject_id: UUID
    data: dict[str, Any] = field(default_factory=dict)  # ids and states only, no personal data
    occurred_at: datetime | None = None


class PaymentGateway(Protocol):
    name: str


# --- region policies ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cited(Generic[T]):
    """A rule's answer with the law it comes from. ``setting`` names the policy setting that
    holds the figure when the law leaves it open or it is uncertain (see docs/privacy.md)."""

    value: T
    citation: str
    setting: str | None = None


class RecordCategory(StrEnum):
    """What a stored record is, for the retention decision (sources map their rows to one)."""

    PROFILE = "profile"  # the customer row itself
    TAG = "tag"
    SERVICE_HISTORY = "service_history"  # work done, no money changed hands
    TRANSACTION = "transaction"  # a paid service record, an invoice, a payment: tax law keeps it
    CONSENT_PROOF = "consent_proof"  # the consent ledger: the fiduciary's burden of proof
    TRAFFIC_LOG = "traffic_log"  # messages sent: processing and traffic logs
    REQUEST_RECORD = "request_record"  # the privacy request being answered, and earlier ones
    IDENTIFIER = "identifier"  # a government identifier (Aadhaar, NID, PAN...): nothing keeps it after erasure


@dataclass(frozen=True)
class RecordRef:
    category: RecordCategory
    table: str
    record_id: str
    created_at: datetime
    tax_date: date | None = None  # the date a tax record relates to (invoice date)


class Disposition(StrEnum):
    ERASE = "erase"  # delete the row
    ANONYMISE = "anonymise"  # keep the row, personal fields masked, no retention duty
    RETAIN = "retain"  # a law requires keeping it until ``retain_until``: masked where possible


@dataclass(frozen=True)
class RetentionDecision:
    disposition: Disposition
    basis: str  # plain words: "GST records", "proof of consent"
    citation: str
    retain_until: date | None = None


@dataclass(frozen=True)
class RetentionSchedule:
    """What an erasure keeps, by category, as the privacy laws Seva knows share it; a region
    policy gives its own figures and citations and answers ``retention`` with ``decide``:

    - the customer row (``PROFILE``) is anonymised into a stub the kept records point at;
    - tax records (``TRANSACTION``) are kept until ``tax_until(the record's tax date)``;
    - consent proof, traffic logs and request records are kept ``log_retention`` from when they
      were made;
    - everything else is erased. A record whose date has passed is erased (the daily
      ``retention.kept_records`` job asks again each day)."""

    log_retention: timedelta
    tax_until: Callable[[date], date]  # the last day a tax record of that date is kept
    tax_basis: str  # "GST records (tax invoices and accounts), customer anonymised"
    tax_citation: str
    erase_citation: str  # the right to erasure
    consent_proof_citation: str
    traffic_log_basis: str
    traffic_log_citation: str
    request_record_citation: str

    def decide(self, record: RecordRef, today: date) -> RetentionDecision:
        logged = record.created_at.date() + self.log_retention
        match record.category:
            case RecordCategory.PROFILE:
                return RetentionDecision(Disposition.ANONYMISE, "erasure: the stub keeps retained records consistent",
                                         self.erase_citation)
            case RecordCategory.TRANSACTION:
                return self._kept(self.tax_until(record.tax_date or record.created_at.date()), today, self.tax_basis,
                                  self.tax_citation, "the tax retention period has passed")
            case RecordCategory.CONSENT_PROOF:
                return self._kept(logged, today, "proof of consent and its withdrawal, evidence masked",
                                  self.consent_proof_citation)
            case RecordCategory.TRAFFIC_LOG:
                return self._kept(logged, today, self.traffic_log_basis, self.traffic_log_citation)
            case RecordCategory.REQUEST_RECORD:
                return self._kept(logged, today, "record of how the request was answered, subject's text removed",
                                  self.request_record_citation)
            case _:
                return RetentionDecision(Disposition.ERASE, "erasure on request", self.erase_citation)

    def _kept(self, until: date, today: date, basis: str, citation: str,
              passed: str = "log retention period has passed") -> RetentionDecision:
        if until >= today:
            return RetentionDecision(Disposition.RETAIN, basis, citation, until)
        return RetentionDecision(Disposition.ERASE, passed, self.erase_citation)


class SettingsRegionPolicy:
    """What a region policy whose figures are a tenant's settings shares with the others: a
    frozen dataclass with a ``settings`` field (a pydantic model with ``minimum_log_retention_days``
    and ``service_retention_days``) that subclasses this names its law's citations
    (``LOG_RETENTION_CITATION``, ``PURPOSE_SERVED_CITATION``) and its ``retention_schedule()``,
    and gets ``configured``, ``retention``, ``minimum_log_retention`` and
    ``purpose_served_erasure``; it answers the rest of ``RegionPolicy`` itself."""

    settings: Any
    LOG_RETENTION_CITATION: ClassVar[str]
    PURPOSE_SERVED_CITATION: ClassVar[str]

    def configured(self, values: Mapping[str, Any]) -> Any:
        return dataclasses.replace(self, settings=type(self.settings).model_validate(dict(values)))

    def retention_schedule(self) -> RetentionSchedule:
        raise NotImplementedError

    def retention(self, record: RecordRef, today: date) -> RetentionDecision:
        return self.retention_schedule().decide(record, today)

    def minimum_log_retention(self) -> Cited[timedelta]:
        return Cited(timedelta(days=self.settings.minimum_log_retention_days), self.LOG_RETENTION_CITATION,
                     setting="minimum_log_retention_days")

    def purpose_served_erasure(self) -> Cited[timedelta | None]:
        """How long after the purpose is served (the last service completed) a customer's data is
        erased, as the tenant publishes it; None: not set, nothing is swept."""
        days = self.settings.service_retention_days
        return Cited(timedelta(days=days) if days else None, self.PURPOSE_SERVED_CITATION, setting="service_retention_days")


@dataclass(frozen=True)
class NoticeRequirements:
    """What a consent notice must contain, and the languages it may be written in."""

    elements: frozenset[str]  # keys of core.privacy.notices.ELEMENTS
    languages: frozenset[str]  # Language values: en, hi, bn
    citation: str


@dataclass(frozen=True)
class BreachObligation:
    key: str  # stable per regulator and step: "in.board.detailed"
    recipient: str  # "affected_persons", "board", "authority"
    what: str
    within: timedelta | None  # None: without delay (due as soon as the tenant is aware)
    citation: str


class RegionPolicy(Protocol):
    """The privacy law of one region, as a plugin provides it (``seva_region_policies``).
    ``configured(values)`` returns the policy with one tenant's settings applied; every answer
    carries its citation. ``core.privacy.policy.combine`` merges several (stricter wins)."""

    region: str  # "IN", "BD"
    name: str

    def configured(self, values: Mapping[str, Any]) -> RegionPolicy: ...

    def request_types(self) -> dict[RequestType, Cited[bool]]:
        """The request types the tenant must (value True: a statutory right) or may answer."""

    def response_deadline(self, kind: RequestType) -> Cited[timedelta]: ...

    def identity_methods(self, kind: RequestType) -> Cited[frozenset[str]]:
        """How a requester may prove who they are: "otp" (to the phone or email on record), "in_person"."""

    def minimum_age(self) -> Cited[int]: ...

    def guardian_consent_required(self) -> Cited[bool]: ...

    def child_restricted_purposes(self) -> Cited[frozenset[str]]:
        """Purposes a child may not be processed for (marketing, profiling, tracking)."""

    def notice_requirements(self) -> NoticeRequirements: ...

    def retention(self, record: RecordRef, today: date) -> RetentionDecision: ...

    def minimum_log_retention(self) -> Cited[timedelta]: ...

    def breach_obligations(self) -> list[BreachObligation]: ...

    def cross_border_allowed(self, country: str) -> Cited[bool]: ...

    def dispute_mark(self) -> Cited[bool]:
        """Whether a refused correction may be marked "disputed" at the subject's request."""


class PrivacyFanout(Protocol):
    """A plugin's own store of customers' personal data, for access and erasure requests."""

    async def export(self, tenant_id: UUID, customer_id: UUID) -> dict[str, Any]:
        """Everything the plugin holds about the customer (JSON-serialisable); empty if nothing.
        A non-empty answer lists the plugin under "shared with" in the access summary."""

    async def erase(self, tenant_id: UUID, customer_id: UUID) -> dict[str, Any]:
        """Erase it; idempotent. Answer ``{"erased": n, "kept": [{"count", "basis", "citation",
        "retain_until"}]}`` naming anything a law makes the plugin keep."""
