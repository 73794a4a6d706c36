"""India: the Digital Personal Data Protection Act 2023 and the DPDP Rules 2025 (G.S.R. 846(E)).

Each answer carries its citation. Figures the law leaves to the fiduciary, or that another law
sets, are settings (``DpdpSettings``) whose defaults are the conservative ones in docs/privacy.md;
the validators refuse values the law does not allow (a response period over 90 days, log
retention under one year, GST records kept under 72 months)."""

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
from seva_crm.plugins.dpdp.settings import DpdpSettings

ACT = "DPDP Act 2023"
RULES = "DPDP Rules 2025"
ERASE = f"{ACT} s.8(7), s.12(3)"


@dataclass(frozen=True)
class DpdpPolicy(SettingsRegionPolicy):
    settings: DpdpSettings = field(default_factory=DpdpSettings)
    region: str = "IN"
    name: str = "India (DPDP Act 2023 and Rules 2025)"
    LOG_RETENTION_CITATION = f"{RULES} Rule 8(3), Rule 6(1)(e) (at least one year)"
    PURPOSE_SERVED_CITATION = f"{ACT} s.8(7)(a) (erase once the specified purpose is no longer served)"

    def request_types(self) -> dict[RequestType, Cited[bool]]:
        return {
            RequestType.ACCESS: Cited(True, f"{ACT} s.11 (summary of data, processing, and with whom shared)"),
            RequestType.CORRECTION: Cited(True, f"{ACT} s.12(1)-(2) (correction, completion, updating)"),
            RequestType.ERASURE: Cited(True, f"{ACT} s.12(3)"),
            RequestType.CONSENT_WITHDRAWAL: Cited(True, f"{ACT} s.6(4)"),
            RequestType.GRIEVANCE: Cited(True, f"{ACT} s.13"),
            RequestType.NOMINATION: Cited(True, f"{ACT} s.14; {RULES} Rule 14(4)"),
            RequestType.PORTABILITY: Cited(False, f"not a right under the {ACT}: export offered voluntarily"),
        }

    def response_deadline(self, kind: RequestType) -> Cited[timedelta]:
        days = self.settings.response_days
        return Cited(timedelta(days=days), f"{RULES} Rule 14(3): {days} days as published by the fiduciary "
                     "(at most 90)", setting="response_days")

    def identity_methods(self, kind: RequestType) -> Cited[frozenset[str]]:
        return Cited(frozenset({"otp", "in_person"}), f"{RULES} Rule 14(1), 14(5) (the identifier the fiduciary publishes)")

    def minimum_age(self) -> Cited[int]:
        return Cited(18, f"{ACT} s.2(f) (a child is under eighteen)")

    def guardian_consent_required(self) -> Cited[bool]:
        return Cited(True, f"{ACT} s.9(1); {RULES} Rule 10 (verifiable consent of a parent, an identifiable adult)")

    def child_restricted_purposes(self) -> Cited[frozenset[str]]:
        return Cited(frozenset({"marketing", "profiling", "tracking", "targeted_ads"}),
                     f"{ACT} s.9(3) (no tracking, behavioural monitoring or targeted advertising of children)")

    def notice_requirements(self) -> NoticeRequirements:
        return NoticeRequirements(
            elements=frozenset({"personal_data", "purposes", "goods_services", "withdraw_link", "rights_link",
                                "complaint_link", "contact"}),
            languages=frozenset({"en", "hi", "bn"}),  # English, or any Eighth Schedule language Seva offers
            citation=f"{RULES} Rule 3; {ACT} s.5(3), s.6(4)",
        )

    def retention_schedule(self) -> RetentionSchedule:
        months = self.settings.gst_retention_months
        return RetentionSchedule(
            log_retention=timedelta(days=self.settings.minimum_log_retention_days),
            tax_until=lambda day: gst_retention_until(day, months),
            tax_basis="GST records (tax invoices and accounts), customer anonymised",
            tax_citation=f"CGST Act 2017 s.36 ({months} months from the annual return's due date); {ERASE}",
            erase_citation=ERASE,
            consent_proof_citation=f"{ACT} s.6(10); {RULES} Rule 8(3)",
            traffic_log_basis="traffic and processing logs, content removed",
            traffic_log_citation=f"{RULES} Rule 8(3) (at least one year)",
            request_record_citation=f"{RULES} Rule 8(3), Rule 14",
        )

    def breach_obligations(self) -> list[BreachObligation]:
        return [
            BreachObligation("in.persons", "affected_persons",
                             "tell each affected person: nature, extent, timing and location; likely consequences; "
                             "mitigation; safety steps; a contact", None, f"{ACT} s.8(6); {RULES} Rule 7(1)"),
            BreachObligation("in.board.initial", "board", "initial report to the Data Protection Board",
                             None, f"{ACT} s.8(6); {RULES} Rule 7(2)(a)"),
            BreachObligation("in.board.detailed", "board",
                             "detailed report to the Board: facts, causes, mitigation, findings, remedies, notices given",
                             timedelta(hours=72), f"{RULES} Rule 7(2)(b) (within 72 hours of becoming aware)"),
        ]

    def cross_border_allowed(self, country: str) -> Cited[bool]:
        restricted = {c.upper() for c in self.settings.restricted_countries}
        return Cited(country.upper() not in restricted, f"{ACT} s.16; {RULES} Rule 15 (allowed except where restricted)",
                     setting="restricted_countries")

    def dispute_mark(self) -> Cited[bool]:
        return Cited(False, f"{ACT} s.12 (no disputed mark)")

    def inactivity_erasure(self) -> Cited[timedelta | None]:
        """Large platforms erase a user's data three years after their last approach or use,
        telling them 48 hours before (Rule 8(1)-(2), Third Schedule)."""
        if not self.settings.large_platform:
            return Cited(None, f"{RULES} Rule 8(1): only the Third Schedule's large platforms", setting="large_platform")
        return Cited(timedelta(days=3 * 365), f"{RULES} Rule 8(1)-(2), Third Schedule (three years; notice 48 hours before)",
                     setting="large_platform")


def gst_retention_until(day: date, months: int) -> date:
    """The last day GST records of ``day`` must be kept: ``months`` after the due date of the
    annual return (31 December after the financial year, which ends on 31 March)."""
    fy_end_year = day.year if day.month <= 3 else day.year + 1
    due = date(fy_end_year, 12, 31)
    years, extra = divmod(months, 12)
    month = due.month + extra
    year = due.year + years + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, min(due.day, _days_in(year, month)))


def _days_in(year: int, month: int) -> int:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day
