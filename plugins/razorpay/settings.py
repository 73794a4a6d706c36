"""A tenant's Razorpay account."""

from pydantic import Field

from seva_crm.plugin_api import SecretStr, SettingsModel


class RazorpaySettings(SettingsModel):
    key_id: str = Field(pattern=r"^rzp_(test|live)_\w+$", description="API key id, rzp_test_... or rzp_live_...")
    key_secret: SecretStr = Field(description="API key secret (HTTP Basic password; signs checkout callbacks)")
    webhook_secret: SecretStr = Field(description="The webhook's own secret: verifies X-Razorpay-Signature")
    base_url: str = Field("https://api.razorpay.com/v1", pattern=r"^https?://", description="API base URL")
