"""A tenant's SMTP server and sender. With no host, the tenant's email goes through the
instance's server (SEVA_SMTP_*), under the tenant's from name if it set one."""

from pydantic import EmailStr, Field, model_validator

from seva_crm.plugin_api import InstanceSettings, SecretStr, SettingsModel, SmtpSecurity


class EmailInstanceSettings(InstanceSettings):
    processing_countries: str = Field("", description=(
        "SEVA_EMAIL_PROCESSING_COUNTRIES: where the instance's SMTP server processes mail (ISO codes, comma separated; "
        "empty: with this instance)"))


class EmailSettings(SettingsModel):
    host: str = Field("", description="SMTP server host name (empty: the instance's server)")
    port: int = Field(587, ge=1, le=65535, description="587 with STARTTLS, 465 with TLS")
    security: SmtpSecurity = Field(SmtpSecurity.STARTTLS, description="starttls (port 587), tls (port 465) or none")
    username: str = Field("", description="SMTP login (empty: no authentication)")
    password: SecretStr | None = Field(None, description="SMTP password")
    from_name: str = Field("", max_length=100, description="Sender's display name")
    from_address: EmailStr | None = Field(None, description="Sender's address (required with a host)")
    server_countries: list[str] = Field(default_factory=list, description=(
        "Where the tenant's own SMTP server processes mail (ISO codes); checked against the region's transfer rules"))

    @model_validator(mode="after")
    def _sender_with_host(self) -> "EmailSettings":
        if self.host and not self.from_address:
            raise ValueError("fromAddress is required with a host")
        return self
