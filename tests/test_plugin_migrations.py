"""Plugins own their tables: ``seva migrate`` creates them with core's, ``seva plugins
drop-data`` reverses only the plugin's migrations, and upgrading a database from before the
move keeps the data (the suppression list's rows, WhatsApp's reachability). Each scenario runs
in a process of its own against its own SQLite database, as an operator runs the commands."""

import json
import os
import sqlite3
import subprocess
import sys

import pytest

UPGRADE = """
import asyncio, json
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as migrate_to
from seva_crm.core.common.enums import Region
from seva_crm.core.common.settings import get_settings
from seva_crm.core.identity.tenants import create_tenant
from seva_crm.core.models import Customer
from seva_crm.core.platform.database import close_db, init_db, migrate, tortoise_config
from seva_crm.plugins.email.models import EmailSuppression
from seva_crm.plugins.email.suppression import address_hash, is_suppressed
from seva_crm.plugins.whatsapp.contacts import is_unreachable
from seva_crm.plugins.whatsapp.models import WhatsAppContact

async def main():
    import types, uuid
    settings = get_settings()
    # a database as it was before plugins owned their data
    await migrate_to(config=tortoise_config(settings.db_url), target="models.0009_login_attempts_use_ratelimit")
    await Tortoise.close_connections()
    await init_db(settings)
    # the tenant too, as its table was then (today's services write columns added later)
    tenant = types.SimpleNamespace(id=uuid.uuid4())
    await connections.get("default").execute_script(
        "INSERT INTO tenant (id, name, region, timezone, locale, status, channel_fallback, created_at, updated_at) VALUES "
        f"('{tenant.id}', 'Before', 'IN', 'Asia/Kolkata', 'en-IN', 'active', '[]', '2026-01-01 00:00:00+00:00', "
        "'2026-01-01 00:00:00+00:00')")
    # rows written as the table was then (today's model has columns added later)
    gone, reached = (types.SimpleNamespace(id=uuid.uuid4()) for _ in range(2))
    for c, n, p in ((gone, "Gone", "+919800000001"), (reached, "Reached", "+919800000002")):
        await connections.get("default").execute_script(
            "INSERT INTO customer (id, tenant_id, name, phone, address, preferred_channel, language, tags, notes, "
            "disputed_fields, created_at, updated_at) VALUES "
            f"('{c.id}', '{tenant.id}', '{n}', '{p}', '', '', 'en', '[]', '', '[]', '2026-01-01 00:00:00+00:00', "
            "'2026-01-01 00:00:00+00:00')")
    await connections.get("default").execute_query(
        f"UPDATE customer SET whatsapp_unreachable_at = created_at WHERE id = '{gone.id}'")
    await EmailSuppression.create(tenant_id=tenant.id, address_hash=address_hash("bounced@example.com"), reason="bounce")
    await close_db()

    await migrate(settings)
    await init_db(settings)
    contact = await WhatsAppContact.get(customer_id=gone.id)
    print(json.dumps({
        "unreachable": [await is_unreachable(tenant.id, c.id) for c in (gone, reached)],
        "since_kept": contact.unreachable_at == (await Customer.get(id=gone.id)).created_at,
        "suppressed": await is_suppressed(tenant.id, "Bounced@example.com"),
    }))
    await close_db()

asyncio.run(main())
"""


@pytest.fixture
def env(tmp_path):
    return {k: v for k, v in os.environ.items() if not k.startswith("SEVA_")} | {"SEVA_DATA_DIR": str(tmp_path)}


def run(env, *args: str) -> str:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout


def tables(env) -> set[str]:
    with sqlite3.connect(f"{env['SEVA_DATA_DIR']}/seva.sqlite3") as db:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def customer_columns(env) -> set[str]:
    with sqlite3.connect(f"{env['SEVA_DATA_DIR']}/seva.sqlite3") as db:
        return {row[1] for row in db.execute("PRAGMA table_info(customer)")}


def test_upgrading_keeps_suppressions_and_reachability(env):
    assert json.loads(run(env, "-c", UPGRADE).splitlines()[-1]) == {
        "unreachable": [True, False], "since_kept": True, "suppressed": True}
    assert "whatsapp_unreachable_at" not in customer_columns(env)  # core's column is gone


def test_migrate_creates_plugin_tables_and_drop_data_removes_only_them(new_seva):
    seva = new_seva()  # a copy of the database `seva migrate` made (migrated_sqlite)
    env = {"SEVA_DATA_DIR": str(seva.data_dir)}
    assert {"email_suppression", "whatsapp_contact"} <= tables(env)

    out = seva("plugins", "drop-data", "whatsapp", "--yes").stdout
    assert "reversed whatsapp.0001_contacts" in out
    assert "whatsapp_contact" not in tables(env) and "email_suppression" in tables(env)
    assert "whatsapp_unreachable_at" not in customer_columns(env)  # core's migrations stay as they were
    assert "had no tables" in seva("plugins", "drop-data", "whatsapp", "--yes").stdout

    seva("plugins", "drop-data", "email", "--yes")
    assert not {"email_suppression", "whatsapp_contact"} & tables(env)
    seva("migrate")  # the plugins are still loaded: their tables come back, empty
    assert {"email_suppression", "whatsapp_contact"} <= tables(env)


def test_drop_data_names_a_plugin_without_tables(new_seva):
    result = new_seva()("plugins", "drop-data", "razorpay", "--yes", check=False)
    assert result.returncode == 1 and "no loaded plugin 'razorpay' has tables" in result.stderr


PROVIDER_IDS = """
import asyncio, json, sqlite3
from tortoise import Tortoise
from tortoise.migrations.api import migrate as migrate_to
from seva_crm.core.billing import invoices, payments
from seva_crm.core.billing.payments import GatewayPayment
from seva_crm.core.common.enums import Region
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.customers.customers import create_customer
from seva_crm.core.identity.tenants import create_tenant
from seva_crm.core.models import Payment, Refund
from seva_crm.core.platform import changes
from seva_crm.core.platform.database import close_db, init_db, migrate, tortoise_config

def indexes(path):
    with sqlite3.connect(path) as db:
        return sorted(n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
                                               "('payment', 'refund', 'customer') AND name NOT LIKE 'sqlite_autoindex%'"))

def old_rows(path, name, provider_payment_id):
    # a tenant's paid and partly refunded gateway payment, written with SQL as the 0011 schema
    # has it (today's services write columns that schema does not have yet)
    import uuid
    ids = {k: str(uuid.uuid4()) for k in ("tenant", "customer", "invoice", "payment", "refund")}
    now = "2026-03-11 06:30:00+00:00"
    rows = [
        ("tenant", {"id": ids["tenant"], "name": name, "region": "IN", "timezone": "Asia/Kolkata", "locale": "en-IN",
                    "status": "active", "channel_fallback": "[]"}),
        ("customer", {"id": ids["customer"], "tenant_id": ids["tenant"], "name": "Asha Devi", "phone": "+919876543210"}),
        ("billing_invoice", {"id": ids["invoice"], "tenant_id": ids["tenant"], "customer_id": ids["customer"], "number": "INV-1",
                             "status": "open", "currency": "INR", "subtotal": 5000, "tax_total": 0, "total": 5000,
                             "amount_paid": 4000, "issued_on": "2026-03-11", "due_on": "2026-03-11"}),
        ("billing_payment", {"id": ids["payment"], "tenant_id": ids["tenant"], "invoice_id": ids["invoice"],
                             "customer_id": ids["customer"], "amount": 5000, "currency": "INR", "method": "gateway",
                             "status": "captured", "provider": "razorpay", "provider_payment_id": provider_payment_id,
                             "refunded_amount": 1000, "received_at": now}),
        ("billing_refund", {"id": ids["refund"], "tenant_id": ids["tenant"], "payment_id": ids["payment"], "amount": 1000,
                            "status": "processed"}),
    ]
    with sqlite3.connect(path) as db:
        for table, values in rows:
            for _, column, kind, notnull, default, _ in db.execute(f"PRAGMA table_info({table})"):
                if notnull and default is None and column not in values:
                    kind = kind.upper()
                    values[column] = (0 if "INT" in kind or "BOOL" in kind or "REAL" in kind or "NUMERIC" in kind
                                      else now if "TIMESTAMP" in kind or "DATE" in kind else "")
            db.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})", list(values.values()))
    return uuid.UUID(ids["tenant"])


async def paid_and_refunded(name, provider_payment_id):
    tenant, _ = await create_tenant(name, Region.IN, f"owner@{name.lower()}.example.com", "long-enough-pw")
    scope = TenantScope(tenant.id, Region.IN)
    customer = await create_customer(scope, {"name": "Asha Devi", "phone": "9876543210"})
    invoice = await invoices.create_invoice(scope, {"customer_id": customer.id,
                                                    "lines": [{"description": "Form filling", "unit_amount": 5000}]})
    payment, _ = await payments.record_gateway_payment(tenant.id, invoice.id, GatewayPayment("razorpay", provider_payment_id, invoice.total,
                                                                                             True, utcnow(), "upi"))
    await payments.refund_payment(scope, payment.id, {"amount": 1000})
    return tenant.id


async def main():
    settings = get_settings()
    path = settings.db_url.removeprefix("sqlite://")
    # a database as it was before provider ids were unique per tenant
    await migrate_to(config=tortoise_config(settings.db_url), target="models.0011_open_channels")
    await Tortoise.close_connections()
    first = old_rows(path, "First", "pay_shared")
    before = indexes(path)

    await migrate(settings)
    await init_db(settings)
    second = await paid_and_refunded("Second", "pay_shared")  # another tenant's gateway may reuse an id
    print(json.dumps({
        "refunds": [await Refund.filter(tenant_id=t).count() for t in (first, second)],
        "payments": await Payment.filter(provider_payment_id="pay_shared").count(),
        "indexes_kept": set(before) <= set(indexes(path)),
    }))
    await close_db()

asyncio.run(main())
"""


def test_upgrading_sqlite_keeps_the_rows_and_indexes_of_rebuilt_tables(env):
    """Migration 0012 rebuilds payment and refund on SQLite (their provider ids become unique per
    tenant): rows pointing at them survive, and so do the tables' indexes."""
    assert json.loads(run(env, "-c", PROVIDER_IDS).splitlines()[-1]) == {"refunds": [1, 1], "payments": 2, "indexes_kept": True}
