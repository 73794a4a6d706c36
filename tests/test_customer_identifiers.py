"""Sensitive identifiers: validated (Aadhaar's Verhoeff check digit), encrypted at rest, shown
masked; the full value only to owners and admins through an audited reveal; in the subject's
export; gone after erasure."""

from seva_crm.core.common.enums import Role
from seva_crm.core.customers.identifiers import verhoeff_ok
from seva_crm.core.models import AuditEvent, CustomerIdentifier
from seva_crm.core.privacy.export import collect
from seva_crm.core.common.ids import from_global_id
from tests.test_customers import create

SET = """mutation($c: ID!, $k: String!, $v: String!) { customerIdentifierSet(customerId: $c, kind: $k, value: $v) {
  identifier { id kind masked } errors { field code message } } }"""
REVEAL = "mutation($id: ID!) { customerIdentifierReveal(id: $id) { value errors { code } } }"


def aadhaar(prefix: str = "23456789012") -> str:
    return next(prefix + d for d in "0123456789" if verhoeff_ok(prefix + d))


async def test_identifiers_are_masked_encrypted_and_revealed_only_with_an_audit(tenant):
    number = aadhaar()
    customer = (await create(tenant.api, name="Rani Devi"))["customer"]
    made = (await tenant.api.ok(SET, c=customer["id"], k="aadhaar", v=f"{number[:4]} {number[4:8]} {number[8:]}"))
    identifier = made["customerIdentifierSet"]["identifier"]
    assert identifier["masked"] == "•••• " + number[-4:] and number not in str(made)
    row = await CustomerIdentifier.get(id=from_global_id(identifier["id"], "CustomerIdentifier"))
    assert number not in row.value and row.value.startswith("v1:")  # encrypted at rest

    listed = await (await tenant.api_as(Role.AGENT)).ok('query($c: ID!) { customerIdentifiers(customerId: $c) { kind masked } }',
                                                        c=customer["id"])
    assert listed["customerIdentifiers"] == [{"kind": "aadhaar", "masked": "•••• " + number[-4:]}]
    for role in (Role.AGENT, Role.VIEWER):
        refused = await (await tenant.api_as(role))(REVEAL, id=identifier["id"])
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    shown = (await tenant.api.ok(REVEAL, id=identifier["id"]))["customerIdentifierReveal"]
    assert shown["value"] == number
    events = await AuditEvent.filter(tenant_id=tenant.id, action__startswith="customer.identifier").order_by("seq")
    assert [e.action for e in events] == ["customer.identifier_set", "customer.identifier_revealed"]
    assert number not in str([e.details for e in events]) and events[1].actor_type == "user"

    exported = await collect(tenant.id, from_global_id(customer["id"], "Customer"))
    assert exported["tables"]["customer_identifier"][0]["value"] == number  # the subject's own data


async def test_bad_identifiers_are_refused_with_a_reason(tenant):
    customer = (await create(tenant.api, name="Check Digit"))["customer"]
    good = aadhaar()
    wrong_check = good[:-1] + str((int(good[-1]) + 1) % 10)
    for kind, value, field in (("aadhaar", wrong_check, "value"), ("pan", "ABCDE12345", "value"),
                               ("nid", "12345", "value"), ("driving", "X", "kind")):
        errors = (await tenant.api.ok(SET, c=customer["id"], k=kind, v=value))["customerIdentifierSet"]["errors"]
        assert [(e["field"], e["code"]) for e in errors] == [(field, "INVALID")], (kind, errors)
    ok = (await tenant.api.ok(SET, c=customer["id"], k="pan", v="abcde1234f"))["customerIdentifierSet"]
    assert ok["errors"] == [] and ok["identifier"]["masked"] == "•••• 234F"
