"""A tenant's SMTP server and sender."""

from pydantic import BaseModel, EmailStr, Field, SecretStr, model_validator


class EmailSettings(BaseModel):
    host: str = Field(min_length=1, description="SMTP server host name")
    port: int = Field(587, ge=1, le=65535, description="587 with STARTTLS, 465 with TLS")
    username: str = Field("", description="SMTP login (empty: no authentication)")
    password: SecretStr | None = Field(None, description="SMTP password")
    use_tls: bool = Field(False, description="TLS from the first byte (port 465)")
    start_tls: bool = Field(True, description="Upgrade with STARTTLS (port 587)")
    from_name: str = Field("", max_length=100, description="Sender's display name")
    from_address: EmailStr = Field(description="Sender's address")

    @model_validator(mode="after")
    def _one_tls_mode(self) -> "EmailSettings":
        if self.use_tls and self.start_tls:
            raise ValueError("choose useTls or startTls, not both")
        return self
