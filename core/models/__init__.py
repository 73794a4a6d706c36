"""Tortoise models. Every row of tenant data carries ``tenant_id``; services scope every query by it."""

from core.models.customers import Customer, CustomerTag, ServiceRecord
from core.models.tenancy import ApiKey, LoginAttempt, RefreshToken, Tenant, User, VerificationCode

__all__ = [
    "ApiKey",
    "Customer",
    "CustomerTag",
    "LoginAttempt",
    "RefreshToken",
    "ServiceRecord",
    "Tenant",
    "User",
    "VerificationCode",
]
