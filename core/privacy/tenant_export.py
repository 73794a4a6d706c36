"""Everything a tenant holds, for its owner: one zip (a CSV and a JSON file per table; secrets,
password and token digests left out) behind a signed link that expires, like a subject's export.
Asked for by the owner (``tenantExport``) or, for a closed tenant during its grace period, by the
operator (``seva tenant export``); each export and download is audited."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import zipfile
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from uuid import UUID

from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.security import derive_key, utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.models import Tenant
from seva_crm.core.platform import audit
from seva_crm.core.platform.personal_data import row_dict
from seva_crm.core.privacy.export import _csv
from seva_crm.core.privacy import retention
from seva_crm.core.privacy.retention import _query, tenant_tables

LINK_PREFIX = "/tenant-exports/"
LEFT_OUT = ("password_hash", "key_hash", "token_hash", "secrets", "code_hash", "secret_hash")


def _dir(tenant_id: UUID) -> Path:
    return get_settings().data_dir / "tenant-exports" / str(tenant_id)


@lru_cache(maxsize=1)
def _key() -> bytes:
    return derive_key("tenant-export-link")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sign_link(tenant_id: UUID, expires_at: datetime) -> str:
    payload = f"{tenant_id}.{int(expires_at.timestamp())}".encode()
    return LINK_PREFIX + _b64(payload) + "." + _b64(hmac.new(_key(), payload, hashlib.sha256).digest())


async def export_tenant(tenant_id: UUID) -> tuple[str, datetime]:
    """Write the tenant's zip; its signed link (absolute, under ``SEVA_PUBLIC_URL``) and when it stops working."""
    tenant = await Tenant.get(id=tenant_id)
    expires = utcnow().replace(microsecond=0) + timedelta(hours=get_settings().privacy_export_link_hours)
    tables = {}
    for model, path in tenant_tables():
        rows = [row_dict(r, ("tenant_id", *LEFT_OUT)) for r in await _query(model, path, tenant.id).order_by(model._meta.pk_attr)]
        if rows:
            tables[model._meta.db_table] = rows
    folder = _dir(tenant.id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{int(expires.timestamp())}.zip"
    fd = os.open(target.with_suffix(".part"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("tenant.json", json.dumps({"id": str(tenant.id), "name": tenant.name, "region": tenant.region.value,
                                               "exported_at": utcnow().isoformat(),
                                               "tables": {t: len(r) for t, r in tables.items()}}, indent=2, ensure_ascii=False))
        for table, rows in tables.items():
            zf.writestr(f"{table}.csv", _csv(rows))
            zf.writestr(f"{table}.json", json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    os.replace(target.with_suffix(".part"), target)
    await audit.record(tenant.id, "tenant.exported", subject_type="tenant", subject_id=tenant.id,
                       details={"tables": {t: len(r) for t, r in tables.items()}, "expires_at": expires.isoformat()})
    return get_settings().public_url.rstrip("/") + sign_link(tenant.id, expires), expires  # absolute: opens anywhere


def open_export(token: str, now: datetime | None = None) -> tuple[UUID, Path] | None:
    """The tenant and file a valid, unexpired link names, or None."""
    try:
        encoded, given = token.split(".")
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        if not hmac.compare_digest(_b64(hmac.new(_key(), payload, hashlib.sha256).digest()), given):
            return None
        tid, expires = payload.decode().split(".")
        if datetime.fromtimestamp(int(expires), timezone.utc) <= (now or utcnow()):
            return None
        path = _dir(UUID(tid)) / f"{int(expires)}.zip"
        return (UUID(tid), path) if path.exists() else None
    except (ValueError, UnicodeDecodeError):
        return None


async def export_closed_tenant(tenant_id: UUID) -> tuple[str, datetime]:
    """``export_tenant`` for a closed tenant in its grace period; refused once its data was purged."""
    tenant = await Tenant.get(id=tenant_id)
    if await retention.was_purged(tenant):
        raise DomainError.of("tenant", ErrorCode.INVALID_TRANSITION, "the grace period is over: the tenant's data was purged")
    return await export_tenant(tenant_id)
