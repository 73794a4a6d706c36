"""A tenant's SMS gateway account."""

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator

GATEWAY_URLS = {
    "msg91": "https://control.msg91.com/api/v5/flow/",
    "sslwireless": "https://smsplus.sslwireless.com/api/v3/send-sms",
}


class SmsSettings(BaseModel):
    gateway: Literal["msg91", "sslwireless"] = Field(description="msg91 (India) or sslwireless (Bangladesh)")
    api_token: SecretStr = Field(description="MSG91 authkey, or SSL Wireless api_token")
    sender: str = Field(min_length=1, max_length=20, description="Sender header (India: 6 letters) or SSL Wireless sid")
    entity_id: str | None = Field(None, validate_default=True, description="TRAI DLT entity id (required for msg91)")
    base_url: str | None = Field(None, pattern=r"^https?://", description="Default: the gateway's own URL")

    @field_validator("entity_id")
    @classmethod
    def _dlt_entity_for_india(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("gateway") == "msg91" and not value:
            raise ValueError("a DLT entity id is required for msg91")
        return value

    @property
    def url(self) -> str:
        return self.base_url or GATEWAY_URLS[self.gateway]
