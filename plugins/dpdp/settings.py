"""The dpdp policy's per-tenant settings: the figures the law leaves open, with conservative defaults."""

from pydantic import Field

from seva_crm.plugin_api import SettingsModel


class DpdpSettings(SettingsModel):
    response_days: int = Field(30, ge=1, le=90, description=(
        "Days to answer a request or grievance, as the fiduciary publishes it (Rule 14(3): at most 90). "
        "Default 30: well inside the cap, and the same as Bangladesh's default."))
    minimum_log_retention_days: int = Field(365, ge=365, description="Rule 8(3): at least one year")
    gst_retention_months: int = Field(72, ge=72, description="CGST Act s.36: 72 months from the annual return's due date")
    restricted_countries: list[str] = Field(default_factory=list, description=(
        "ISO country codes the Government has restricted transfers to (Act s.16); none notified by default"))
    large_platform: bool = Field(False, description=(
        "The tenant is a large e-commerce, social media or gaming platform (Third Schedule): inactivity erasure applies"))
    service_retention_days: int | None = Field(None, ge=1, le=3650, description=(
        "Act s.8(7)(a): the purpose is served: days after a customer's last completed service (none open, nothing owed, no consent "
        "in force but for service) after which their data is erased, told 48 hours before; empty: not swept"))
