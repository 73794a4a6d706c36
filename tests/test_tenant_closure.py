"""Closing a tenant: the purge keeps what tax law keeps (invoices, their lines, payments, paid
service records), anonymised and with the customer's details removed from their text, until
their date, then the holds are released; the rest goes. The owner can reopen during the grace
period, not after the purge."""

import io
import logging
import secrets
import zipfile
from datetime import timedelta

import pytest
from pypdf import PdfReader
from tortoise import Tortoise

from seva_crm.core.billing import invoices as billing_invoices, payments as billing_payments
from seva_crm.core.billing.html import invoice_html
from seva_crm.core.billing.pdf import invoice_pdf
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.common.settings import get_settings
from seva_crm.core.customers.identifiers import set_identifier, verhoeff_ok
from seva_crm.core.common.enums import Role, TenantStatus
from seva_crm.core.common.errors import DomainError
from seva_crm.core.models import AuditEvent, Customer, Invoice, InvoiceLine, Payment, ServiceRecord, Tenant, User
from seva_crm.core.platform import audit
from seva_crm.core.privacy.retention import close_tenant, purge_terminated_tenants, reopen_tenant
from seva_crm.core.privacy.tenant_export import export_closed_tenant
from tests.conftest import LOGIN, PASSWORD, Api
from tests.test_customers import create
from tests.test_plugin_settings import WHATSAPP
from tests.test_service_records import add

# a name no other test (nor the demo, which some tests load into the same database) uses
NAME, PHONE = "Kamala Thirunavukkarasu", f"97{secrets.randbelow(10**8):08d}"
EMAIL = f"kamala.{PHONE}@example.net"
AADHAAR = next(f"4{PHONE}{d}" for d in "0123456789" if verhoeff_ok(f"4{PHONE}{d}"))
NEEDLES = (NAME, "Kamala", "Thirunavukkarasu", PHONE, EMAIL, f"kamala.{PHONE}", AADHAAR)


async def rows_naming() -> list[str]:
    """Every text value of every row of every model (core's and the plugins'), on the database the
    run uses, searched for the subject's details (which no other test uses)."""
    found = []
    for model in (m for app in Tortoise.apps.values() for m in app.values()):
        for row in await model.all().values():
            text = " ".join(str(v) for v in row.values()).lower()
            found += [f"{model._meta.db_table}: {n}" for n in NEEDLES if n.lower() in text]
    return found


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def test_purge_keeps_tax_records_anonymised_until_their_date(tenant, caplog):
    caplog.set_level(logging.DEBUG, logger="seva")
    customer = (await create(tenant.api, name=NAME, phone=PHONE, email=EMAIL,
                             notes=f"{NAME} walks in on Mondays"))["customer"]
    await set_identifier(tenant.scope, from_global_id(customer["id"], "Customer"), "aadhaar", AADHAAR)
    await add(tenant.api, customer["id"], f"Aadhaar update for {NAME}", feeAmount=5000)
    await add(tenant.api, customer["id"], "Enquiry")  # no fee: not a tax record
    cid = (await Customer.get(tenant_id=tenant.id, phone="+91" + PHONE)).id
    invoice = await billing_invoices.create_invoice(tenant.scope, {"customer_id": cid, "lines": [
        {"description": f"Form filling for {NAME}", "unit_amount": 5000}]})
    await billing_payments.record_payment(tenant.scope, invoice.id, {"amount": invoice.total, "method": "upi",
                                                                     "reference": f"UPI {PHONE}"})
    assert f"customer: {NAME}" in await rows_naming()  # the scan finds them while they are there
    tenant_row = await Tenant.get(id=tenant.id)
    await close_tenant(tenant.id, tenant_row.name)
    closed_at = (await Tenant.get(id=tenant.id)).terminated_at

    (done,) = [i for i in await purge_terminated_tenants(closed_at + timedelta(days=91)) if i.tenant_id == tenant.id]
    assert done.stage == "data"
    kept = await Invoice.get(id=invoice.id)  # the law keeps it: still there, still paid, same number and total
    assert kept.status.value == "paid" and kept.total == invoice.total and kept.customer_id == cid
    assert (await InvoiceLine.get(invoice_id=invoice.id)).description == "Form filling for [erased]"
    assert (await Payment.get(invoice_id=invoice.id)).reference.startswith("h:")
    assert [r.service_name for r in await ServiceRecord.filter(tenant_id=tenant.id)] == ["Aadhaar update for [erased]"]
    stub = await Customer.get(id=cid)
    assert stub.name == "Erased customer" and stub.phone is None and stub.notes == ""
    assert await User.filter(tenant_id=tenant.id).count() == 0
    assert await rows_naming() == []
    # the invoice the law keeps, as it would be printed again: anonymised, HTML and PDF alike
    html, pdf = await invoice_html(kept), pdf_text(await invoice_pdf(kept))
    for text in (html, pdf):
        assert kept.number in text and "Erased customer" in text and "[erased]" in text
        assert not [n for n in NEEDLES if n.lower() in text.lower()]
    assert not [n for n in NEEDLES if n.lower() in caplog.text.lower()]
    purged = await AuditEvent.get(chain=str(tenant.id), action="tenant.purged")
    assert purged.details["held"]["billing_invoice"] == 1 and purged.details["held"]["service_record"] == 1
    with pytest.raises(DomainError, match="grace period is over"):
        await reopen_tenant(tenant.id)

    # years later, past the logs but within GST's 72 months: the holds stay, the log with them
    assert [i for i in await purge_terminated_tenants(closed_at + timedelta(days=91 + 400)) if i.tenant_id == tenant.id] == []
    assert await Invoice.exists(id=invoice.id) and await Tenant.exists(id=tenant.id)
    # past the tax period: the holds are released, then the log and the tenant go
    later = closed_at + timedelta(days=365 * 9)
    stages = [i.stage for i in await purge_terminated_tenants(later) if i.tenant_id == tenant.id]
    assert stages == ["holds", "logs"]
    assert not await Invoice.exists(id=invoice.id) and not await Customer.exists(id=cid) and not await Tenant.exists(id=tenant.id)
    assert (await audit.verify(audit.PLATFORM)).ok


async def test_the_owner_can_reopen_during_the_grace_period(app, tenant):
    name = (await Tenant.get(id=tenant.id)).name
    await close_tenant(tenant.id, name)
    refused = await Api(app).ok(LOGIN, email=tenant.owner_email, password=PASSWORD)
    assert refused["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    reopened = await reopen_tenant(tenant.id)
    assert reopened.status is TenantStatus.ACTIVE
    again = await Api(app).ok(LOGIN, email=tenant.owner_email, password=PASSWORD)
    assert again["login"]["errors"] == []
    assert await AuditEvent.filter(chain=str(tenant.id), action="tenant.reopened").count() == 1


async def test_the_owner_exports_every_table_behind_a_signed_expiring_link(app, tenant, clock):
    await create(tenant.api, name="Export Me", phone="9876599001")
    await tenant.api.ok('mutation($s: JSON) { pluginSettingsUpdate(plugin: "whatsapp", enabled: true, settings: $s) '
                        '{ errors { code } } }', s=WHATSAPP)
    made = (await tenant.api.ok("mutation { tenantExport { url expiresAt errors { code } } }"))["tenantExport"]
    client = Api(app).http
    assert made["url"].startswith(get_settings().public_url + "/tenant-exports/")  # absolute: opens from anywhere
    download = await client.get(made["url"])
    assert download.status_code == 200 and download.headers["cache-control"] == "no-store"
    with zipfile.ZipFile(io.BytesIO(download.content)) as z:
        names = set(z.namelist())
        everything = b" ".join(z.read(n) for n in names)
    assert {"tenant.json", "customer.csv", "customer.json", "staff_user.csv", "plugin_settings.json"} <= names
    assert b"Export Me" in everything and tenant.owner_email.encode() in everything
    assert b"EAAG-very-secret" not in everything and b"argon2" not in everything  # no secrets, no password digests
    assert (await client.get(made["url"][:-3] + "abc")).status_code == 404  # a forged signature
    actions = await AuditEvent.filter(chain=str(tenant.id), action__startswith="tenant.export").values_list("action", flat=True)
    assert sorted(actions) == ["tenant.export_downloaded", "tenant.exported"]
    viewer = await tenant.api_as(Role.ADMIN)
    assert (await viewer("mutation { tenantExport { url } }"))["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    clock.advance(hours=73)
    assert (await client.get(made["url"])).status_code == 404  # expired


CLOSE = 'mutation($n: String!) { tenantClose(confirmName: $n) { errors { code } } }'
CLOSED_EXPORT = 'mutation($e: String!, $p: String!) { closedTenantExport(email: $e, password: $p) { ok url errors { code } } }'
CLOSED_REOPEN = 'mutation($e: String!, $p: String!) { closedTenantReopen(email: $e, password: $p) { ok errors { code } } }'


async def test_the_owner_of_a_closed_tenant_exports_and_reopens_it_in_graphql(app, tenant):
    """Signed out by the closure, the owner still gets everything out and can reopen, with their
    email and password; nobody else can, and both are audited with the owner as actor."""
    await create(tenant.api, name="Closing Customer", phone="9876599101")
    admin = await tenant.api_as(Role.ADMIN)
    admin_user = await User.filter(tenant_id=tenant.id, role=Role.ADMIN).first()
    public = Api(app)
    refused = await public.ok(CLOSED_REOPEN, e=tenant.owner_email, p=PASSWORD)
    assert refused["closedTenantReopen"] == {"ok": False, "errors": [{"code": "INVALID_CREDENTIALS"}]}  # not closed
    name = (await Tenant.get(id=tenant.id)).name
    assert (await tenant.api.ok(CLOSE, n=name))["tenantClose"]["errors"] == []
    assert (await admin("query { customers { totalCount } }"))["errors"]  # everyone is out

    for email, password in ((tenant.owner_email, "not-the-password"), (admin_user.email, PASSWORD),
                            ("nobody@example.com", PASSWORD)):
        body = (await public.ok(CLOSED_EXPORT, e=email, p=password))["closedTenantExport"]
        assert body == {"ok": False, "url": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}, email
    made = (await public.ok(CLOSED_EXPORT, e=tenant.owner_email, p=PASSWORD))["closedTenantExport"]
    assert made["ok"] and made["errors"] == []
    download = await public.http.get(made["url"])
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as z:
        assert b"Closing Customer" in z.read("customer.csv")

    reopened = (await public.ok(CLOSED_REOPEN, e=tenant.owner_email, p=PASSWORD))["closedTenantReopen"]
    assert reopened == {"ok": True, "errors": []}
    assert (await Tenant.get(id=tenant.id)).status is TenantStatus.ACTIVE
    assert (await public.ok(LOGIN, email=tenant.owner_email, password=PASSWORD))["login"]["errors"] == []
    owner = await User.get(tenant_id=tenant.id, role=Role.OWNER)
    for action in ("tenant.exported", "tenant.reopened"):
        [event] = await AuditEvent.filter(chain=str(tenant.id), action=action)
        assert (event.actor_type, event.actor_id) == ("user", str(owner.id)), action
    assert (await audit.verify(str(tenant.id))).ok


async def test_after_the_purge_the_closed_tenant_can_neither_be_exported_nor_reopened(app, tenant):
    await close_tenant(tenant.id, (await Tenant.get(id=tenant.id)).name)
    closed_at = (await Tenant.get(id=tenant.id)).terminated_at
    await purge_terminated_tenants(closed_at + timedelta(days=91))
    public = Api(app)
    for mutation, key in ((CLOSED_EXPORT, "closedTenantExport"), (CLOSED_REOPEN, "closedTenantReopen")):
        body = (await public.ok(mutation, e=tenant.owner_email, p=PASSWORD))[key]
        assert body["ok"] is False and [e["code"] for e in body["errors"]] == ["INVALID_CREDENTIALS"], key
    with pytest.raises(DomainError, match="the grace period is over"):
        await export_closed_tenant(tenant.id)  # the service refuses it too, whoever asks
