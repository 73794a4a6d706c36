"""A demo tenant with sample customers and service records, for trying the API."""

from __future__ import annotations

import random
from datetime import timedelta

from seva_crm.core.storage.transactions import transaction
from seva_crm.core.customers.customers import create_customer
from seva_crm.core.common.enums import Language, Region, ServiceStatus
from seva_crm.core.models import ServiceRecord, Tenant, User
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.principal import TenantScope
from seva_crm.core.identity.tenants import create_tenant
from seva_crm.core.privacy.profile import update_profile

DEMO_EMAIL = "owner@demo.example.com"
DEMO_PASSWORD = "demo-password-123"
# the privacy contact every reply to a data subject names: no privacy request is taken before one is set
DEMO_PRIVACY_CONTACT = {"contact_name": "Demo Owner (grievance officer)", "contact_email": "privacy@demo.example.com"}

NAMES = ["Asha Devi", "Ravi Kumar", "Sunita Sharma", "Mohammed Irfan", "Lakshmi Iyer", "Arjun Singh",
         "Fatima Begum", "Vikram Patel", "Meena Kumari", "Suresh Yadav", "Priya Nair", "Rahul Verma"]
SERVICES = [("PAN card application", 10700), ("Electricity bill payment", 2000), ("Income certificate", 5000),
            ("Aadhaar address update", 5000), ("Passport appointment", 15000), ("Ration card renewal", 3000)]


async def load_demo() -> tuple[Tenant, bool]:
    """Create the demo tenant once; returns (tenant, created)."""
    existing = await User.get_or_none(email=DEMO_EMAIL).select_related("tenant")
    if existing and existing.tenant:
        return existing.tenant, False
    rng = random.Random(7)
    tenant, _ = await create_tenant("Demo Seva Kendra", Region.IN, DEMO_EMAIL, DEMO_PASSWORD, "Demo Owner")
    scope = TenantScope(tenant.id, tenant.region)
    await update_profile(scope, DEMO_PRIVACY_CONTACT)
    async with transaction():  # customer events reach plugins once it all committed
        for i, name in enumerate(NAMES):
            customer = await create_customer(scope, {
                "name": name,
                "phone": f"98{rng.randrange(10**7, 10**8)}",
                "email": f"{name.split()[0].lower()}{i}@example.com" if i % 3 else None,
                "language": [Language.HI, Language.EN, Language.BN][i % 3],
                "tags": ["walk-in"] + (["regular"] if i % 2 else []),
            })
            for service, fee in rng.sample(SERVICES, k=rng.randint(1, 3)):
                await ServiceRecord.create(
                    tenant_id=tenant.id, customer_id=customer.id, service_name=service, fee_amount=fee,
                    currency="INR", status=rng.choice(list(ServiceStatus)),
                    follow_up_on=utcnow().date() + timedelta(days=rng.randint(-5, 20)),
                )
    return tenant, True
