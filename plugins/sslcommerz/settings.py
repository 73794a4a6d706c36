"""A tenant's SSLCommerz store, and the instance's address of SSLCommerz."""

from pydantic import Field

from seva_crm.plugin_api import InstanceSettings, ProviderUrl, SecretStr, SettingsModel


class SslcommerzSettings(SettingsModel):
    store_id: str = Field(min_length=1, max_length=100, description="The store id SSLCommerz issued")
    store_passwd: SecretStr = Field(description="The store password: API calls, and the key of every IPN's verify_sign")


class SslcommerzInstanceSettings(InstanceSettings):
    """The operator's, never a tenant's: stores' passwords go only where the operator says."""

    base_url: ProviderUrl = Field("https://securepay.sslcommerz.com", description=(
        "SEVA_SSLCOMMERZ_BASE_URL: sessions, validation, queries and refunds (sandbox: https://sandbox.sslcommerz.com)"))
    timeout_seconds: float = Field(30.0, gt=0, le=120, description="SEVA_SSLCOMMERZ_TIMEOUT_SECONDS: the longest one API call may take")
