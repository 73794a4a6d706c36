"""A tenant's Hello SMS account, and the instance's address of the provider."""

from pydantic import Field

from seva_crm.plugin_api import InstanceSettings, ProviderUrl, SecretStr, SettingsModel


class HelloInstanceSettings(InstanceSettings):
    """The operator's, never a tenant's: a tenant's key goes only where the operator says."""

    base_url: ProviderUrl = Field("https://api.hello.example", description="SEVA_HELLO_BASE_URL")


class HelloSettings(SettingsModel):
    """Secrets are encrypted at rest and never shown by the API (only whether they are set)."""

    api_key: SecretStr = Field(min_length=8, description="The tenant's Hello SMS API key")
    webhook_secret: SecretStr = Field(min_length=16, description="Signs Hello SMS delivery reports")
