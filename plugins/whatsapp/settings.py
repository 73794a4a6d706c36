"""A tenant's WhatsApp Business Cloud API account, and the instance's address of the API."""

from pydantic import Field

from seva_crm.plugin_api import InstanceSettings, ProviderUrl, SecretStr, SettingsModel, instance_settings


class WhatsAppSettings(SettingsModel):
    phone_number_id: str = Field(min_length=1, description="The sending number's id in Meta's WhatsApp Manager")
    access_token: SecretStr = Field(description="A system user's permanent access token")
    app_secret: SecretStr = Field(description="The Meta app's secret: verifies X-Hub-Signature-256 on webhooks")
    verify_token: str = Field(min_length=1, description="Echoed by Meta when the webhook is subscribed")
    api_version: str = Field("v21.0", pattern=r"^v\d+\.\d+$", description="Graph API version")


class WhatsAppInstanceSettings(InstanceSettings):
    """The operator's, never a tenant's: tenants' tokens go only where the operator says."""

    base_url: ProviderUrl = Field("https://graph.facebook.com", description="SEVA_WHATSAPP_BASE_URL: the Graph API")


def instance() -> WhatsAppInstanceSettings:
    return instance_settings("whatsapp")
