"""The bangladesh policy's per-tenant settings: the figures the law leaves open, with conservative defaults."""

from pydantic import Field

from seva_crm.plugin_api import SettingsModel


class BangladeshSettings(SettingsModel):
    response_days: int = Field(30, ge=1, le=90, description="Not fixed by the ordinance (left to regulations): default 30 days")
    breach_hours: int = Field(72, ge=1, le=72, description=(
        "Breach report to the authority: 72 hours from draft-era sources; a shorter window only"))
    vat_retention_years: int = Field(5, ge=5, description="VAT and SD Act 2012: invoices kept 5 years")
    minimum_log_retention_days: int = Field(365, ge=365, description=(
        "No figure in the ordinance; at least one year keeps the controller's evidence (burden of proof)"))
    authorised_transfer_countries: list[str] = Field(default_factory=list, description=(
        "Countries personal data may be transferred to under an authorisation; none by default"))
    service_retention_days: int | None = Field(None, ge=1, le=3650, description=(
        "s.13: the purpose is served: days after a customer's last completed service (none open, nothing owed, no consent "
        "in force but for service) after which their data is erased, told 48 hours before; empty: not swept"))
