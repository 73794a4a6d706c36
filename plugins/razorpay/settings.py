"""A tenant's Razorpay account, and the instance's address of the API."""

from pydantic import Field

from seva_crm.plugin_api import InstanceSettings, ProviderUrl, SecretStr, SettingsModel


class RazorpaySettings(SettingsModel):
    key_id: str = Field(pattern=r"^rzp_(test|live)_\w+$", description="API key id, rzp_test_... or rzp_live_...")
    key_secret: SecretStr = Field(description="API key secret (HTTP Basic password; signs checkout callbacks)")
    webhook_secret: SecretStr = Field(description="The webhook's own secret: verifies X-Razorpay-Signature")


class RazorpayInstanceSettings(InstanceSettings):
    """The operator's, never a tenant's: tenants' keys go only where the operator says."""

    base_url: ProviderUrl = Field("https://api.razorpay.com/v1", description="SEVA_RAZORPAY_BASE_URL: the API")
