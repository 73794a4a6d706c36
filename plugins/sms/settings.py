"""A tenant's SMS gateway account, and the instance's addresses of the gateways."""

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from seva_crm.plugin_api import InstanceSettings, ProviderUrl, SecretStr, SettingsModel, instance_settings


class SmsInstanceSettings(InstanceSettings):
    """The operator's, never a tenant's: tenants' tokens go only where the operator says."""

    msg91_base_url: ProviderUrl = Field("https://control.msg91.com", description="SEVA_SMS_MSG91_BASE_URL")
    sslwireless_base_url: ProviderUrl = Field("https://smsplus.sslwireless.com", description="SEVA_SMS_SSLWIRELESS_BASE_URL")


class DltTemplate(BaseModel):
    """A template registered on the DLT platform: its id and its exact text, ``{#var#}`` for
    each variable, and the names of the variables in order."""

    dlt_template_id: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=2000)
    variables: list[str] = Field(default_factory=list)


class SmsSettings(SettingsModel):
    gateway: Literal["msg91", "sslwireless"] = Field(description="msg91 (India) or sslwireless (Bangladesh)")
    api_token: SecretStr = Field(description="MSG91 authkey, or SSL Wireless api_token")
    sender: str = Field(min_length=1, max_length=20, description="Sender header (India: 6 letters) or SSL Wireless sid")
    entity_id: str | None = Field(None, validate_default=True, description="TRAI DLT entity id (required for msg91)")
    webhook_token: SecretStr | None = Field(
        None, min_length=24, description="Secret in the delivery-report URL /webhooks/sms/<gateway>/<token> "
                                         "(these gateways do not sign their callbacks)")
    max_segments: int = Field(6, ge=1, le=20, description="Longest text accepted, in SMS parts")
    price_per_segment: Decimal | None = Field(None, ge=0, description="For cost estimates, in the tenant's currency")
    otp_dlt_template_id: str | None = Field(None, max_length=40, description="India: DLT template id for staff verification codes")
    otp_text: str = Field("{#var#} is your Seva verification code. It expires in 10 minutes.", max_length=500,
                          description="The verification-code text ({#var#}: the code); for India, as registered on DLT")

    def otp_binding(self) -> dict:
        """The DLT binding a staff verification code is sent with."""
        if self.otp_dlt_template_id:
            return {"dlt_template_id": self.otp_dlt_template_id, "text": self.otp_text, "variables": ["code"]}
        return {}

    @field_validator("entity_id")
    @classmethod
    def _dlt_entity_for_india(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("gateway") == "msg91" and not value:
            raise ValueError("a DLT entity id is required for msg91")
        return value

    @field_validator("sender")
    @classmethod
    def _header(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("gateway") == "msg91" and not (len(value) == 6 and value.isascii() and value.isalpha()):
            raise ValueError("an Indian sender header is 6 letters")
        return value

    @property
    def url(self) -> str:
        """The gateway's address, as the operator set it (SEVA_SMS_<GATEWAY>_BASE_URL)."""
        return getattr(instance_settings("sms"), f"{self.gateway}_base_url")
