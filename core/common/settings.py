"""Configuration from ``SEVA_*`` environment variables, validated once at start-up."""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SmtpSecurity(StrEnum):
    STARTTLS = "starttls"  # port 587: upgrade with STARTTLS, required
    TLS = "tls"  # port 465: TLS from the first byte
    NONE = "none"  # plain text (a local relay only)


class ConfigError(Exception):
    """A ``SEVA_*`` variable has a value we cannot start with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEVA_", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path(".seva")
    database_url: str = ""  # default: SQLite file in data_dir
    secret_key: str = ""  # development: generated once and kept in data_dir
    graphiql: bool | None = None  # default: on in development, off in production

    plugins: str = ""  # "whatsapp,sms" allows only those; "-razorpay" denies one
    broker_url: str = ""  # redis://... or amqp://...; empty: jobs run inside the web process

    # The outbox (core.outbox): a sender's lease on a message, retries with backoff, the sweeper.
    outbox_lease_seconds: float = Field(120, gt=0)  # must exceed outbox_send_timeout_seconds
    outbox_send_timeout_seconds: float = Field(30, gt=0)
    outbox_max_attempts: int = Field(8, ge=1, le=100)
    outbox_retry_base_seconds: float = Field(15, ge=0)
    outbox_retry_max_seconds: float = Field(3600, ge=0)
    outbox_sweep_grace_seconds: float = Field(60, ge=0)  # a queued message this late gets re-enqueued

    # Where the public reach this instance (links in emails: one-click unsubscribe).
    public_url: str = "http://127.0.0.1:8000"

    # The instance's SMTP server: staff mail (verification codes) and the email channel of tenants
    # that have not configured their own. Empty host: none.
    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from_name: str = "Seva CRM"
    smtp_from_address: str = ""
    smtp_timeout_seconds: float = Field(20, gt=0)
    smtp_ca_file: str = ""  # a PEM bundle of extra CAs to trust (a private CA; tests)

    # Password hashing (argon2id). The defaults are argon2-cffi's (RFC 9106's low-memory profile):
    # 3 passes over 64 MiB with 4 lanes. Hashes carry their parameters, so changing these only
    # affects new hashes (and old ones are re-hashed at the next sign-in). Hashing runs on a
    # pool of ``threads`` threads (0: one per CPU), never on the event loop.
    password_hash_time_cost: int = Field(3, ge=1, le=100)
    password_hash_memory_kib: int = Field(65536, ge=8, le=4 * 1024 * 1024)
    password_hash_parallelism: int = Field(4, ge=1, le=64)
    password_hash_threads: int = Field(0, ge=0, le=256)

    access_token_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(30, ge=1, le=365)
    session_retention_days: int = Field(90, ge=1)  # ended sessions are listed this long, then deleted
    invitation_days: int = Field(7, ge=1, le=30)  # an invitation to join a tenant can be accepted this long
    db_pool_size: int = Field(20, ge=1, le=500)

    # GraphQL limits
    max_query_depth: int = Field(10, ge=2, le=50)
    max_aliases: int = Field(30, ge=1, le=1000)
    max_tokens: int = Field(5000, ge=100, le=100_000)
    max_query_cost: int = Field(10_000, ge=10)  # fields resolved, estimated from page sizes (docs/limits.md)
    max_query_bytes: int = Field(64 * 1024, ge=1024)  # the document's text, comments included
    max_variables_bytes: int = Field(1024 * 1024, ge=1024)  # the variables as JSON
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)  # any request body (GraphQL, uploads, webhooks)
    introspection: bool | None = None  # default: on in development, off in production
    # query plans (schema/plan.py): auto plans a document from its 2nd request, always from its 1st
    graphql_plan: Literal["auto", "always", "off"] = "auto"

    # Sign-in throttling (core.identity.login_limits): per client (account and IP), growing waits
    # after the free attempts; per account and per IP, refusing only clients never signed in from.
    login_window_seconds: int = Field(900, ge=1)
    login_max_failures_per_client: int = Field(5, ge=1)
    login_max_failures_per_account: int = Field(20, ge=1)
    login_max_failures_per_ip: int = Field(20, ge=1)

    # Privacy: the public request endpoints, export links, and closed tenants' grace period.
    privacy_window_seconds: int = Field(3600, ge=1)
    privacy_max_per_ip: int = Field(10, ge=1)
    privacy_max_per_identifier: int = Field(3, ge=1)
    privacy_public_min_seconds: float = Field(0.25, ge=0, le=10)  # every public answer takes this long, known subject or not
    privacy_export_link_hours: int = Field(72, ge=1, le=24 * 30)
    terminated_tenant_grace_days: int = Field(90, ge=0)

    # Backups (docs/operations.md): where the scheduled backup writes (empty: no scheduled
    # backup), and the key they are sealed with (default: derived from the instance secret).
    backup_dir: str = ""
    backup_key: SecretStr = SecretStr("")

    # GET /metrics (Prometheus): with a token, only for `Authorization: Bearer <token>`;
    # without one, only for clients on loopback.
    metrics_token: SecretStr = SecretStr("")
    # Events out (docs/events.md): the change feed's retention, outbound webhooks, live subscriptions.
    changes_retention_days: int = Field(30, ge=1)  # a change-feed cursor older than this must resync fully
    webhook_timeout_seconds: float = Field(10, gt=0, le=60)
    webhook_max_attempts: int = Field(8, ge=1, le=30)
    webhook_retry_base_seconds: float = Field(30, ge=0)
    webhook_retry_max_seconds: float = Field(6 * 3600, ge=0)
    webhook_disable_after_failures: int = Field(50, ge=1)  # consecutive failed deliveries ...
    webhook_disable_after_days: float = Field(3, gt=0)  # ... or failing without a success for this long
    webhook_allow_private: bool = False  # deliver to loopback and private addresses (tests, local development)
    pubsub_url: str = ""  # redis:// for live subscriptions across processes; default: SEVA_BROKER_URL if redis
    ws_init_timeout_seconds: float = Field(10, gt=0, le=300)
    ws_max_subscriptions: int = Field(20, ge=1, le=1000)  # per WebSocket connection

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ValueError("must start with sqlite://, postgres:// or postgresql://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
            raise ValueError("must start with redis:// or amqp:// (or be empty for in-process jobs)")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// in development)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _smtp_sender(self) -> Settings:
        if self.smtp_host and "@" not in self.smtp_from_address:
            raise ValueError("SEVA_SMTP_FROM_ADDRESS is required with SEVA_SMTP_HOST")
        return self

    @model_validator(mode="after")
    def _lease_outlasts_send(self) -> Settings:
        if self.outbox_lease_seconds <= self.outbox_send_timeout_seconds:
            raise ValueError("SEVA_OUTBOX_LEASE_SECONDS must be greater than SEVA_OUTBOX_SEND_TIMEOUT_SECONDS")
        return self

    @model_validator(mode="after")
    def _password_hash_cost(self) -> Settings:
        if self.password_hash_memory_kib < 8 * self.password_hash_parallelism:
            raise ValueError("SEVA_PASSWORD_HASH_MEMORY_KIB must be at least 8 x SEVA_PASSWORD_HASH_PARALLELISM (argon2)")
        weak = self.password_hash_memory_kib < 7168 or self.password_hash_memory_kib * self.password_hash_time_cost < 35840
        if self.env is Environment.PRODUCTION and weak:
            raise ValueError("SEVA_PASSWORD_HASH_MEMORY_KIB x SEVA_PASSWORD_HASH_TIME_COST is below OWASP's argon2id minimum "
                             "(at least 7168 KiB, and 35840 for the product; for example 19456 KiB x 2) in production")
        return self

    @property
    def password_hash_pool_size(self) -> int:
        return self.password_hash_threads or os.cpu_count() or 2

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: str) -> str:
        if value and len(value) < 32:
            raise ValueError("must be at least 32 characters")
        return value

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.env is Environment.PRODUCTION and not self.secret_key:
            raise ValueError("SEVA_SECRET_KEY is required when SEVA_ENV=production")
        return self

    @property
    def is_development(self) -> bool:
        return self.env is Environment.DEVELOPMENT

    @property
    def graphiql_enabled(self) -> bool:
        return self.is_development if self.graphiql is None else self.graphiql

    @property
    def introspection_enabled(self) -> bool:
        return self.is_development if self.introspection is None else self.introspection

    @property
    def pubsub_redis_url(self) -> str:
        """Where live events cross processes: SEVA_PUBSUB_URL, else a redis SEVA_BROKER_URL, else '' (in-process)."""
        url = self.pubsub_url or self.broker_url
        return url if url.startswith(("redis://", "rediss://")) else ""

    @property
    def db_url(self) -> str:
        if self.database_url:
            url = self.database_url.replace("postgresql://", "postgres://", 1)
            if url.startswith("postgres://") and "maxsize=" not in url:
                url += ("&" if "?" in url else "?") + f"maxsize={self.db_pool_size}"
            return url
        return f"sqlite://{(self.data_dir / 'seva.sqlite3').resolve()}"

    @cached_property
    def secret(self) -> str:
        """The instance secret; in development created on first use and kept in data_dir (read once
        per settings object: encryption and token checks ask for it on every call)."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.data_dir.chmod(0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not even briefly
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
        return path.read_text().strip()


def load_settings() -> Settings:
    """Read and validate the environment; a bad value raises ConfigError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "SEVA_" + "_".join(str(p) for p in err["loc"]).upper() if err["loc"] else ""
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if name else message)
        raise ConfigError("; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
