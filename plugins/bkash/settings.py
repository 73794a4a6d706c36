"""A tenant's bKash merchant account, and the instance's address of the tokenized API."""

from pydantic import Field

from seva_crm.plugin_api import InstanceSettings, ProviderUrl, SecretStr, SettingsModel


class BkashSettings(SettingsModel):
    app_key: str = Field(min_length=1, max_length=200, description="The merchant's app key (X-APP-Key)")
    app_secret: SecretStr = Field(description="The merchant's app secret (token grant)")
    username: str = Field(min_length=1, max_length=200, description="The merchant's API username (token grant)")
    password: SecretStr = Field(description="The merchant's API password (token grant)")


class BkashInstanceSettings(InstanceSettings):
    """The operator's, never a tenant's: tenants' credentials go only where the operator says."""

    base_url: ProviderUrl = Field("https://tokenized.pay.bka.sh/v1.2.0-beta", description=(
        "SEVA_BKASH_BASE_URL: the tokenized API (sandbox: https://tokenized.sandbox.bka.sh/v1.2.0-beta)"))
    timeout_seconds: float = Field(30.0, gt=0, le=120, description="SEVA_BKASH_TIMEOUT_SECONDS: the longest one API call may take")
