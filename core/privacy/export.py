"""Access and portability: everything held about a customer, from core and from each plugin,
as JSON and CSV files in a zip under the data dir, delivered by a signed link that expires.

The link is ``/privacy/exports/<token>``: the token names the request and its expiry, signed
with HMAC-SHA256 (key derived from the instance secret) and checked in constant time."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import os
import zipfile
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID

from seva_crm.core.jobs.schedule import HOUR, periodic
from seva_crm.core.models import PrivacyProfile, PrivacyRequest, Tenant
from seva_crm.core.platform import disclosures as platform_disclosures
from seva_crm.core.platform.tenant_plugins import privacy_fanouts
from seva_crm.core.privacy import disclosures
from seva_crm.core.privacy.fanout import plugin_name
from seva_crm.core.privacy.sources import all_sources
from seva_crm.core.common.security import derive_key, utcnow
from seva_crm.core.common.settings import get_settings

LINK_PREFIX = "/privacy/exports/"


def export_dir(tenant_id: UUID) -> Path:
    path = get_settings().data_dir / "privacy-exports" / str(tenant_id)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


async def collect(tenant_id: UUID, customer_id: UUID) -> dict[str, Any]:
    """Every source's rows for the customer, each plugin's data, and a plain summary of what is
    processed and with whom it was shared (DPDP s.11, Bangladesh s.11)."""
    tables: dict[str, list[dict[str, Any]]] = {}
    described = []
    for source in all_sources():
        rows = await source.export(tenant_id, customer_id)
        tables[source.table] = rows
        if rows:
            described.append({"data": source.label, "records": len(rows)})
    plugins: dict[str, Any] = {}
    shared_with = []
    for offer in await privacy_fanouts(tenant_id):
        data = await offer.adapter.export(tenant_id, customer_id)
        if data:
            plugins[offer.plugin_id] = data
            shared_with.append({"recipient": plugin_name(offer.plugin_id), "plugin": offer.plugin_id,
                                "what": "data the plugin stores itself"})
    shared_with.extend(await disclosures.shared_with(tenant_id, customer_id))
    tenant = await Tenant.get(id=tenant_id)
    profile = await PrivacyProfile.get_or_none(tenant_id=tenant_id)
    purposes = sorted({c["purpose"] for c in tables.get("consent", []) if c.get("granted")})
    summary = {
        "controller": tenant.name,
        "contact": {"name": profile.contact_name, "email": profile.contact_email, "phone": profile.contact_phone} if profile else {},
        "generated_at": utcnow().isoformat(),
        "data_held": described,
        "purposes_consented": purposes,
        "shared_with": shared_with,
    }
    return {"summary": summary, "tables": tables, "plugins": plugins}


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    columns = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v for k, v in row.items()})
    return out.getvalue()


def write_zip(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("summary.json", json.dumps(data["summary"], ensure_ascii=False, indent=2))
        zf.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        for table, rows in data["tables"].items():
            if rows:
                zf.writestr(f"{table}.csv", _csv(rows))
        for plugin_id, pdata in data["plugins"].items():
            zf.writestr(f"plugins/{plugin_id}.json", json.dumps(pdata, ensure_ascii=False, indent=2, default=str))
    os.replace(tmp, path)


# --- signed links ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _link_key() -> bytes:
    return derive_key("privacy-export-link")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def sign_link(request_id: UUID, expires_at: datetime) -> str:
    payload = f"{request_id}.{int(expires_at.timestamp())}"
    mac = hmac.new(_link_key(), payload.encode(), hashlib.sha256).digest()
    return LINK_PREFIX + _b64(payload.encode()) + "." + _b64(mac)


def absolute_link(request_id: UUID, expires_at: datetime) -> str:
    """The link as the subject gets it: under ``SEVA_PUBLIC_URL``, so it opens from a phone."""
    return get_settings().public_url.rstrip("/") + sign_link(request_id, expires_at)


def check_token(token: str, now: datetime | None = None) -> UUID | None:
    """The request id a token names, if its signature is right and it has not expired."""
    try:
        encoded, given = token.split(".")
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        expected = _b64(hmac.new(_link_key(), payload, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, given):
            return None
        rid, expires = payload.decode().split(".")
        if datetime.fromtimestamp(int(expires), timezone.utc) <= (now or utcnow()):
            return None
        return UUID(rid)
    except (ValueError, UnicodeDecodeError):
        return None


async def open_export(token: str) -> tuple[PrivacyRequest, Path] | None:
    """The request and file a valid link gives, or None (bad, expired, erased, or superseded)."""
    rid = check_token(token)
    if rid is None:
        return None
    request = await PrivacyRequest.get_or_none(id=rid)
    if request is None or not request.export_path or request.export_expires_at is None:
        return None
    if request.export_expires_at <= utcnow() or sign_link(request.id, request.export_expires_at) != LINK_PREFIX + token:
        return None
    path = Path(request.export_path)
    return (request, path) if path.exists() else None


async def record_download(request: PrivacyRequest) -> None:
    """An export left through its link: a disclosure to whoever holds the link (the subject)."""
    await platform_disclosures.record(request.tenant_id, request.customer_id, "export-link", ["everything held (export)"],
                                      subject_type="export", subject_id=request.id, purpose="access",
                                      recipient="the holder of the download link sent to you")


@periodic("privacy.expire_exports", every_seconds=HOUR)
async def expire_exports(now: datetime) -> int:
    """Delete export files whose links have expired (the sweep runs it)."""
    removed = 0
    for request in await PrivacyRequest.filter(export_expires_at__lt=now).exclude(export_path=""):
        Path(request.export_path).unlink(missing_ok=True)
        await PrivacyRequest.filter(id=request.id).update(export_path="", export_expires_at=None)
        removed += 1
    return removed
