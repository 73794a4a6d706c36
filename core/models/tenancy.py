"""Tenants, their staff, and the credentials staff and servers sign in with."""

from tortoise import fields
from tortoise.models import Model

from seva_crm.core.common.enums import Region, Role, SessionEndReason, TenantStatus, VerificationPurpose
from seva_crm.core.models.base import TenantModel, TimestampedModel


class Tenant(TimestampedModel):
    name = fields.CharField(max_length=200)
    region = fields.CharEnumField(Region, max_length=2)
    timezone = fields.CharField(max_length=64, default="Asia/Kolkata")
    locale = fields.CharField(max_length=16, default="en-IN")
    status = fields.CharEnumField(TenantStatus, max_length=16, default=TenantStatus.ACTIVE)
    terminated_at = fields.DatetimeField(null=True)
    channel_fallback = fields.JSONField(default=["whatsapp", "sms", "email"])  # after the customer's preferred channel
    slug = fields.CharField(max_length=64, null=True, unique=True)  # the readable name of its public privacy page

    class Meta:
        table = "tenant"


class User(TimestampedModel):
    """A member of staff (``tenant`` set) or an operator-level superuser (``tenant`` null)."""

    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, null=True, on_delete=fields.CASCADE)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200, default="")
    password_hash = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=16, default=Role.AGENT)
    is_superuser = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    phone = fields.CharField(max_length=20, null=True)
    email_verified_at = fields.DatetimeField(null=True)
    phone_verified_at = fields.DatetimeField(null=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "staff_user"


class Session(Model):
    """One sign-in of a member of staff: the family of refresh tokens rotated from one login
    (``RefreshToken.family`` is this id) and the access tokens issued with them (claim ``sid``).
    Every request checks it, so revoking it, deactivating the user, changing their role or
    closing the tenant takes effect on the next request."""

    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name=False, on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField()  # updated at most once a minute (core.identity.auth)
    expires_at = fields.DatetimeField()  # of its newest refresh token
    ip = fields.CharField(max_length=64, default="")  # at sign-in
    user_agent = fields.CharField(max_length=300, default="")  # at sign-in
    last_ip = fields.CharField(max_length=64, default="")
    revoked_at = fields.DatetimeField(null=True)
    revoked_reason = fields.CharEnumField(SessionEndReason, max_length=32, null=True)

    class Meta:
        table = "staff_session"
        indexes = (("user_id", "created_at"),)


class RefreshToken(Model):
    """A refresh token, stored only as a hash. Rotation keeps the ``family`` (the Session's id),
    and reuse of a rotated token revokes the whole family (it was stolen or replayed)."""

    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name=False, on_delete=fields.CASCADE)
    family = fields.UUIDField(db_index=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_token"


class ApiKey(TimestampedModel):
    """A server-to-server key: ``prefix`` finds the row, ``key_hash`` proves the secret."""

    tenant = fields.ForeignKeyField("models.Tenant", related_name=False, on_delete=fields.CASCADE)
    name = fields.CharField(max_length=100)
    role = fields.CharEnumField(Role, max_length=16)
    prefix = fields.CharField(max_length=16, unique=True)
    key_hash = fields.CharField(max_length=64)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_by = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "api_key"


class VerificationCode(Model):
    """A one-time code proving a staff member controls an email address or phone number."""

    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name=False, on_delete=fields.CASCADE)
    purpose = fields.CharEnumField(VerificationPurpose, max_length=16)
    target = fields.CharField(max_length=254)
    code_hash = fields.CharField(max_length=64)
    attempts = fields.IntField(default=0)
    expires_at = fields.DatetimeField()
    consumed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "verification_code"


class Invitation(TenantModel):
    """An invitation to join a tenant as staff, sent to an email address. Staff are added only
    this way (the operator's CLI aside): the inviting admin gets the same answer whether or not
    the address already has an account somewhere, and only the address's holder learns it."""

    email = fields.CharField(max_length=254)
    name = fields.CharField(max_length=200, default="")
    role = fields.CharEnumField(Role, max_length=16)
    token_hash = fields.CharField(max_length=64, unique=True)
    invited_by = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)
    expires_at = fields.DatetimeField()
    accepted_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    user = fields.ForeignKeyField("models.User", related_name=False, null=True, on_delete=fields.SET_NULL)

    class Meta:
        table = "staff_invitation"
        indexes = (("tenant_id", "email"),)
