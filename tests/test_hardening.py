"""Small guarantees: gateway ids are unique per tenant (one tenant's id never shadows another's),
the SQLite data is readable by its owner alone, and adding staff does not reveal who else uses Seva."""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest

from seva_crm.core.billing import payments
from seva_crm.core.billing.payments import GatewayPayment, update_gateway_refund
from seva_crm.core.common.enums import RefundStatus, Role
from seva_crm.core.common.errors import DomainError
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import Settings
from seva_crm.core.identity.tenants import create_user
from seva_crm.core.models import Invoice, Payment, Refund
from seva_crm.core.platform.database import _prepare_sqlite
from tests.billing_helpers import customer, plan, subscription
from tests.conftest import PASSWORD


async def open_invoice(t) -> Invoice:
    c = await customer(t.scope)
    s = await subscription(t.scope, customer=c, plan=await plan(t.scope, amount=50000, tax_rate_bp=0))
    return await Invoice.get(subscription_id=s.id)


async def test_gateway_ids_are_unique_per_tenant_and_never_shadow_another(make_tenant):
    one, two = await make_tenant(), await make_tenant()
    a, b = await open_invoice(one), await open_invoice(two)
    same = GatewayPayment("razorpay", "pay_SAME0000000001", 50000, True, utcnow() - timedelta(minutes=1))
    first, changed = await payments.record_gateway_payment(one.id, a.id, same)
    assert changed and first.tenant_id == one.id
    second, changed = await payments.record_gateway_payment(two.id, b.id, same)
    assert changed and second.tenant_id == two.id and second.id != first.id  # not the other tenant's payment
    assert (await Invoice.get(id=b.id)).amount_paid == 50000
    again, changed = await payments.record_gateway_payment(two.id, b.id, same)  # a replayed delivery
    assert again.id == second.id and not changed
    assert await Payment.filter(provider_payment_id=same.provider_payment_id).count() == 2

    for t in (one, two):
        refund, outcome = await update_gateway_refund(t.id, same.provider_payment_id, "rfnd_SAME00000001", 1000,
                                                      RefundStatus.PROCESSED)
        assert outcome == "refund recorded" and refund.tenant_id == t.id
    assert await Refund.filter(provider_refund_id="rfnd_SAME00000001").count() == 2


async def test_the_sqlite_file_and_its_directory_are_private(tmp_path):
    data = tmp_path / "data"
    settings = Settings(data_dir=data, database_url="", secret_key="")
    old = os.umask(0o022)
    try:
        _prepare_sqlite(settings)
        secret = settings.secret
    finally:
        os.umask(old)
    assert secret and stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "seva.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600


async def test_a_file_left_readable_by_an_older_version_is_tightened(tmp_path):
    path = tmp_path / "old.sqlite3"
    path.write_bytes(b"")
    path.chmod(0o644)
    _prepare_sqlite(Settings(database_url=f"sqlite://{path}"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_adding_staff_does_not_reveal_another_tenants_user(make_tenant):
    one, two = await make_tenant(), await make_tenant()
    with pytest.raises(DomainError) as elsewhere:
        await create_user(two.id, one.owner_email, PASSWORD, Role.AGENT)
    with pytest.raises(DomainError) as here:
        await create_user(two.id, two.owner_email, PASSWORD, Role.AGENT)
    assert elsewhere.value.errors == here.value.errors  # the same answer, wherever the address is in use
    assert "exists" not in str(elsewhere.value) and "already" not in str(elsewhere.value)
