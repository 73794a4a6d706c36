"""Bangladesh: the Personal Data Protection Ordinance 2025 (No. 61 of 2025, amended Feb 2026).

The ordinance leaves several figures to regulations not yet made; those are settings
(``BangladeshSettings``) with the conservative defaults in docs/privacy.md, and their citations
say so. Each answer carries its citation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from seva_crm.plugin_api import (
    BreachObligation,
    Cited,
    NoticeRequirements,
    RequestType,
    RetentionSchedule,
    SettingsRegionPolicy,
)
from seva_crm.plugins.bangladesh.settings import BangladeshSettings

PDPO = "PDPO 2025"


@dataclass(frozen=True)
class BangladeshPolicy(SettingsRegionPolicy):
    settings: BangladeshSettings = field(default_factory=BangladeshSettings)
    region: str = "BD"
    name: str = "Bangladesh (Personal Data Protection Ordinance 2025)"
    LOG_RETENTION_CITATION = f"no figure in the {PDPO}: setting, default one year"
    PURPOSE_SERVED_CITATION = f"{PDPO} s.13 (erasure once the purpose is served; medium confidence)"

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

    def retention_schedule(self) -> RetentionSchedule:
        years = self.settings.vat_retention_years
        return RetentionSchedule(
            log_retention=timedelta(days=self.settings.minimum_log_retention_days),
            tax_until=lambda day: _add_years(day, years),
            tax_basis="VAT records (invoices), customer anonymised",
            tax_citation=f"VAT and SD Act 2012 ({years} years; setting); {PDPO} s.13 (legal obligation)",
            erase_citation=f"{PDPO} s.13",
            consent_proof_citation=f"{PDPO} (the controller bears the burden of proof); s.13 (legal obligation)",
            traffic_log_basis="traffic logs, content removed",
            traffic_log_citation=f"{PDPO} s.13 (legal obligation); log retention setting",
            request_record_citation=f"{PDPO} s.13 (legal obligation)",
        )

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


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
