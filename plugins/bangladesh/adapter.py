"""Bangladesh: the Personal Data Protection Ordinance 2025 (No. 61 of 2025, amended Feb 2026).

The ordinance leaves several figures to regulations not yet made; those are settings
(``BangladeshSettings``) with the conservative defaults in docs/privacy.md, and their citations
say so. Each answer carries its citation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from seva_crm.plugin_api import (
    BreachObligation,
    Cited,
    Disposition,
    NoticeRequirements,
    RecordCategory,
    RecordRef,
    RequestType,
    RetentionDecision,
)
from seva_crm.plugins.bangladesh.settings import BangladeshSettings

PDPO = "PDPO 2025"


@dataclass(frozen=True)
class BangladeshPolicy:
    settings: BangladeshSettings = field(default_factory=BangladeshSettings)
    region: str = "BD"
    name: str = "Bangladesh (Personal Data Protection Ordinance 2025)"

    def configured(self, values: Mapping[str, Any]) -> BangladeshPolicy:
        return BangladeshPolicy(BangladeshSettings.model_validate(dict(values)))

    def request_types(self) -> dict[RequestType, Cited[bool]]:
        return {
            RequestType.ACCESS: Cited(True, f"{PDPO} s.11 (summary in an understandable format)"),
            RequestType.PORTABILITY: Cited(True, f"{PDPO} s.11"),
            RequestType.CORRECTION: Cited(True, f"{PDPO} s.12"),
            RequestType.ERASURE: Cited(True, f"{PDPO} s.13"),
            RequestType.CONSENT_WITHDRAWAL: Cited(True, f"{PDPO} s.13 (withdraw fully or partly)"),
            RequestType.GRIEVANCE: Cited(False, f"no controller grievance procedure in the {PDPO}: offered voluntarily"),
            RequestType.OBJECTION: Cited(True, f"{PDPO} s.13 (objection to a processing; erasure follows unless an "
                                               "exception applies)"),
        }

    def response_deadline(self, kind: RequestType) -> Cited[timedelta]:
        days = self.settings.response_days
        return Cited(timedelta(days=days), f"{PDPO}: period left to regulations; setting, default 30 days (unverified), "
                     f"now {days} days", setting="response_days")

    def identity_methods(self, kind: RequestType) -> Cited[frozenset[str]]:
        return Cited(frozenset({"otp", "in_person"}), f"{PDPO} ss.11-13 (the controller verifies who asks)")

    def minimum_age(self) -> Cited[int]:
        return Cited(18, f"{PDPO} (a child is under eighteen)")

    def guardian_consent_required(self) -> Cited[bool]:
        return Cited(True, f"{PDPO} (parent or guardian consent for a child)")

    def child_restricted_purposes(self) -> Cited[frozenset[str]]:
        return Cited(frozenset({"marketing", "profiling", "tracking", "targeted_ads"}),
                     f"{PDPO} (no profiling, tracking or targeted advertising of children)")

    def notice_requirements(self) -> NoticeRequirements:
        return NoticeRequirements(
            elements=frozenset({"personal_data", "purposes", "withdraw_link", "contact"}),
            languages=frozenset({"en", "bn"}),
            citation=f"{PDPO} (consent explicit, specific, informed and revocable)",
        )

    def retention(self, record: RecordRef, today: date) -> RetentionDecision:
        logs = timedelta(days=self.settings.minimum_log_retention_days)
        erase = f"{PDPO} s.13"
        match record.category:
            case RecordCategory.PROFILE:
                return RetentionDecision(Disposition.ANONYMISE, "erasure: the stub keeps retained records consistent", erase)
            case RecordCategory.TRANSACTION:
                day = record.tax_date or record.created_at.date()
                until = _add_years(day, self.settings.vat_retention_years)
                if until >= today:
                    return RetentionDecision(Disposition.RETAIN, "VAT records (invoices), customer anonymised",
                                             f"VAT and SD Act 2012 ({self.settings.vat_retention_years} years; setting); "
                                             f"{PDPO} s.13 (legal obligation)", until)
                return RetentionDecision(Disposition.ERASE, "the tax retention period has passed", erase)
            case RecordCategory.CONSENT_PROOF:
                until = record.created_at.date() + logs  # kept a log period from when it was made, then erased
                if until < today:
                    return RetentionDecision(Disposition.ERASE, "log retention period has passed", erase)
                return RetentionDecision(Disposition.RETAIN, "proof of consent and its withdrawal, evidence masked",
                                         f"{PDPO} (the controller bears the burden of proof); s.13 (legal obligation)", until)
            case RecordCategory.TRAFFIC_LOG:
                until = record.created_at.date() + logs
                if until >= today:
                    return RetentionDecision(Disposition.RETAIN, "traffic logs, content removed",
                                             f"{PDPO} s.13 (legal obligation); log retention setting", until)
                return RetentionDecision(Disposition.ERASE, "log retention period has passed", erase)
            case RecordCategory.REQUEST_RECORD:
                until = record.created_at.date() + logs
                if until < today:
                    return RetentionDecision(Disposition.ERASE, "log retention period has passed", erase)
                return RetentionDecision(Disposition.RETAIN, "record of how the request was answered, subject's text removed",
                                         f"{PDPO} s.13 (legal obligation)", until)
            case _:
                return RetentionDecision(Disposition.ERASE, "erasure on request", erase)

    def minimum_log_retention(self) -> Cited[timedelta]:
        return Cited(timedelta(days=self.settings.minimum_log_retention_days),
                     f"no figure in the {PDPO}: setting, default one year", setting="minimum_log_retention_days")

    def breach_obligations(self) -> list[BreachObligation]:
        hours = self.settings.breach_hours
        return [BreachObligation("bd.authority", "authority", "report the breach to the data protection authority",
                                 timedelta(hours=hours), f"{PDPO}: {hours} hours (draft-era figure; setting, low confidence)")]

    def cross_border_allowed(self, country: str) -> Cited[bool]:
        allowed = country.upper() == "BD" or country.upper() in {c.upper() for c in self.settings.authorised_transfer_countries}
        return Cited(allowed, f"{PDPO} as amended Feb 2026 (unauthorised cross-border transfer is an offence)",
                     setting="authorised_transfer_countries")

    def dispute_mark(self) -> Cited[bool]:
        return Cited(True, f"{PDPO} s.12 (a refused correction is marked disputed on request)")

    def purpose_served_erasure(self) -> Cited[timedelta | None]:
        """How long after the purpose is served (the last service completed) a customer's data is
        erased, as the tenant publishes it; None: not set, nothing is swept."""
        days = self.settings.service_retention_days
        return Cited(timedelta(days=days) if days else None,
                     f"{PDPO} s.13 (erasure once the purpose is served; medium confidence)",
                     setting="service_retention_days")


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
