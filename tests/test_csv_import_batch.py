"""The CSV import's batch path against the per-customer service: the same customers, tags,
identifiers and change-feed rows for the same rows; its phone and email shortcuts give the
libraries' answers; identifier columns are checked, encrypted and masked as customerIdentifierSet's."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seva_crm.core.common.enums import Region, Role
from seva_crm.core.common.errors import DomainError, ErrorCode
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.common.validation import normalize_email, normalize_phone
from seva_crm.core.customers import customers, identifiers, import_checks
from seva_crm.core.customers.csv_import import import_csv
from seva_crm.core.models import AuditEvent, Change, Customer, CustomerIdentifier, CustomerTag
from tests.test_customer_identifiers import aadhaar

NUMBER = aadhaar("23456789012")
OTHER = aadhaar("34567890123")

# the same five customers as CSV rows and as the per-customer service's input
CSV = (
    "name,phone,email,address,date_of_birth,language,tags,notes,household,aadhaar,Identifier:PAN\n"
    f"Asha Devi,98765 20001,Asha@Example.COM,12 MG Road,1990-04-01,hi,vip;Walk-in,first visit,,{NUMBER},\n"
    "मोहम्मद रहीम,+919876520002,,,,en,,,,,abcde1234f\n"
    "Smt. Rani Chowdhury,09876520003,rani@example.in,,,bn,vip,,,,\n"
    f"Ravi Kumar,9876520001,,,,,,,yes,{OTHER},\n"
    "Leela,,leela@example.com,,,,,,,,\n"
)
SERVICE_ROWS = [
    ({"name": "Asha Devi", "phone": "98765 20001", "email": "Asha@Example.COM", "address": "12 MG Road",
      "date_of_birth": date(1990, 4, 1), "language": "hi", "tags": ["vip", "Walk-in"], "notes": "first visit"},
     False, {"aadhaar": NUMBER}),
    ({"name": "मोहम्मद रहीम", "phone": "+919876520002", "language": "en"}, False, {"pan": "abcde1234f"}),
    ({"name": "Smt. Rani Chowdhury", "phone": "09876520003", "email": "rani@example.in", "language": "bn", "tags": ["vip"]},
     False, {}),
    ({"name": "Ravi Kumar", "phone": "9876520001"}, True, {"aadhaar": OTHER}),
    ({"name": "Leela", "email": "leela@example.com"}, False, {}),
]
FIELDS = ("name", "phone", "email", "address", "date_of_birth", "preferred_channel", "language", "tags", "notes",
          "name_key", "disputed_fields", "deleted_at", "erased_at")


async def snapshot(tenant_id) -> dict:
    """Each customer of the tenant by name: its fields, household contact, tag rows, identifiers
    (kind, last four, decrypted value) and change-feed rows."""
    rows = await Customer.filter(tenant_id=tenant_id)
    names = {c.id: c.name for c in rows}
    out = {}
    for c in rows:
        tags = await CustomerTag.filter(customer_id=c.id).values_list("tag", flat=True)
        ids = await CustomerIdentifier.filter(customer_id=c.id)
        changes = await Change.filter(tenant_id=tenant_id, object_id=c.id).values_list("type", "op")
        out[c.name] = {
            **{f: getattr(c, f) for f in FIELDS},
            "household_contact": names.get(c.household_contact_id),
            "tag_rows": sorted(tags),
            "identifiers": sorted((i.kind, i.last4, identifiers.plaintext(i)) for i in ids),
            "changes": sorted(changes),
        }
    return out


async def test_the_import_creates_exactly_what_the_per_customer_service_creates(make_tenant):
    one, two = await make_tenant(), await make_tenant()
    for data, household, ids in SERVICE_ROWS:
        customer = await customers.create_customer(one.scope, data, join_household=household)
        for kind, value in ids.items():
            await identifiers.set_identifier(one.scope, customer.id, kind, value)

    result = await import_csv(two.scope, CSV)

    assert result.errors == [] and result.imported == 5
    by_service, by_import = await snapshot(one.id), await snapshot(two.id)
    assert by_import == by_service
    assert by_import["Asha Devi"]["phone"] == "+919876520001" and by_import["Asha Devi"]["email"] == "Asha@example.com"
    assert by_import["Ravi Kumar"]["household_contact"] == "Asha Devi" and by_import["Ravi Kumar"]["phone"] is None
    assert by_import["मोहम्मद रहीम"]["name_key"] == customers.name_key("Mohd Rahim")
    assert by_import["मोहम्मद रहीम"]["identifiers"] == [("pan", "234F", "ABCDE1234F")]
    # one audit entry for the import, with counts and nothing of any row
    audit = await AuditEvent.filter(tenant_id=two.id, action__startswith="customer.")
    assert [(e.action, e.details) for e in audit] == [("customer.imported", {"count": 5, "identifiers": {"aadhaar": 2, "pan": 1}})]
    per_customer = await AuditEvent.filter(tenant_id=one.id, action__startswith="customer.").values_list("action", flat=True)
    assert sorted(per_customer) == ["customer.created"] * 5 + ["customer.identifier_set"] * 3


async def test_a_bangladesh_tenant_imports_local_phones(make_tenant):
    centre = await make_tenant(region=Region.BD)
    result = await import_csv(centre.scope, "name,phone,nid\nKarim,01712-345678,1234567890\nBad,01712,12\n")
    assert result.imported == 1
    assert [(e.row, e.field, e.code) for e in result.errors] == [(3, "nid", ErrorCode.INVALID),
                                                                    (3, "phone", ErrorCode.INVALID_PHONE)]
    karim = await Customer.get(tenant_id=centre.id, name="Karim")
    assert karim.phone == "+8801712345678"


IMPORT = """mutation($csv: String) { customersImport(csv: $csv) { imported errors { row field code message } } }"""
LIST = "query($c: ID!) { customerIdentifiers(customerId: $c) { id kind masked } }"
REVEAL = "mutation($id: ID!) { customerIdentifierReveal(id: $id) { value errors { code } } }"


async def test_identifier_columns_are_checked_encrypted_masked_and_revealed_only_to_owners(tenant):
    wrong = NUMBER[:-1] + str((int(NUMBER[-1]) + 1) % 10)
    csv = (f"Name,Phone,Aadhaar,Voter ID\nRani Devi,9876530001,{NUMBER[:4]} {NUMBER[4:8]} {NUMBER[8:]},abc1234567\n"
           f"Wrong Digit,9876530002,{wrong},\nShort Epic,9876530003,,AB12\n")
    data = (await tenant.api.ok(IMPORT, csv=csv))["customersImport"]
    assert data["imported"] == 1
    assert [(e["row"], e["field"], e["code"]) for e in data["errors"]] == [(3, "Aadhaar", "INVALID"), (4, "Voter ID", "INVALID")]
    assert "check digit" in data["errors"][0]["message"] and NUMBER not in str(data) and wrong not in str(data)

    rani = await Customer.get(tenant_id=tenant.id, name="Rani Devi")
    stored = await CustomerIdentifier.filter(customer_id=rani.id).order_by("kind")
    assert [(i.kind, i.last4) for i in stored] == [("aadhaar", NUMBER[-4:]), ("voter_id", "4567")]
    assert all(i.value.startswith("v1:") and NUMBER not in i.value and "ABC1234567" not in i.value for i in stored)
    assert not await Customer.filter(tenant_id=tenant.id, name__in=["Wrong Digit", "Short Epic"]).exists()

    agent = await tenant.api_as(Role.AGENT)
    listed = (await agent.ok(LIST, c=to_global_id("Customer", rani.id)))["customerIdentifiers"]
    assert [(i["kind"], i["masked"]) for i in listed] == [("aadhaar", "•••• " + NUMBER[-4:]), ("voter_id", "•••• 4567")]
    refused = await agent(REVEAL, id=listed[0]["id"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    shown = (await tenant.api.ok(REVEAL, id=listed[0]["id"]))["customerIdentifierReveal"]
    assert shown["value"] == NUMBER
    imported = await AuditEvent.get(tenant_id=tenant.id, action="customer.imported")
    assert imported.details == {"count": 1, "identifiers": {"aadhaar": 1, "voter_id": 1}}


async def test_a_repeated_identifier_column_is_refused(tenant):
    result = await import_csv(tenant.scope, f"name,aadhaar,identifier:aadhaar\nA,{NUMBER},{NUMBER}\n")
    assert result.imported == 0 and result.errors[0].row == 1 and "twice" in result.errors[0].message


# ---------------------------------------------------------------- the shortcuts give the libraries' answers

def outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except DomainError as exc:
        return "error", [(e.field, e.code, e.message) for e in exc.errors]


phones = st.one_of(
    st.text(alphabet="0123456789 -+", min_size=1, max_size=20),
    st.builds(lambda p, d: p + d, st.sampled_from(["", "+", "0", "00", "+91", "91", "+880", "880", "0", "+9"]),
              st.text(alphabet="0123456789", min_size=1, max_size=14)),
)
emails = st.builds(
    lambda local, at, domain: local + at + domain,
    st.text(alphabet="abcAB09._+-!#$%&'*/=?^`{|}~\"() ,;:[]\\é", max_size=70),
    st.sampled_from(["@", "@@", ""]),
    st.sampled_from(["example.com", "Gmail.COM", "a.b", "x", "-a.com", "a..com", "localhost", "foo.test", "123.456",
                     "bücher.ch", "exa_mple.com", "a" * 70 + ".com", "", "example.com "]),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=phones, region=st.sampled_from([Region.IN, Region.BD]))
def test_the_phone_shortcut_answers_as_phonenumbers(raw, region):
    assert outcome(import_checks.phone, raw, region) == outcome(normalize_phone, raw, region)


@pytest.mark.parametrize("raw", ["9876543210", "98765 43210", "+91 98765-43210", "098765 43210", "9198765432", "1234567890"])
def test_the_phone_shortcut_on_common_shapes(raw):
    assert outcome(import_checks.phone, raw, Region.IN) == outcome(normalize_phone, raw, Region.IN)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=emails)
def test_the_email_shortcut_answers_as_email_validator(raw):
    assert outcome(import_checks.email, raw) == outcome(normalize_email, raw)


async def test_a_phone_taken_while_importing_is_a_clear_error_and_nothing_is_written(tenant, monkeypatch):
    from seva_crm.core.customers import csv_import

    async def saw_nothing(tenant_id, phones):  # as if the other customer were saved just after the check
        return {}

    await customers.create_customer(tenant.scope, {"name": "Saved Meanwhile", "phone": "9876540002"})
    monkeypatch.setattr(csv_import, "_existing_phones", saw_nothing)
    rows = "".join(f"Person {i},98765{40000 + i}\n" for i in range(1, 1500))
    with pytest.raises(DomainError) as caught:
        await import_csv(tenant.scope, "name,phone\n" + rows)
    assert caught.value.errors[0].code == ErrorCode.DUPLICATE and "import the file again" in caught.value.errors[0].message
    assert await Customer.filter(tenant_id=tenant.id).values_list("name", flat=True) == ["Saved Meanwhile"]
    assert not await Change.filter(tenant_id=tenant.id, op="created").exclude(
        object_id=(await Customer.get(tenant_id=tenant.id)).id).exists()


names = st.one_of(
    st.text(alphabet="abcdhkstwyzABDMS .-'", max_size=30),
    st.lists(st.sampled_from(["Smt", "Shri", "Md", "Mohd", "Chowdhury", "Choudhury", "Rahim", "Rani", "Sanjay", "mr",
                              "Mst.", "Devi", "Khan", "Roy", "y'a", "Late", "x", "Q"]), max_size=6).map(" ".join),
    st.text(max_size=12),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names)
def test_the_name_key_shortcut_answers_as_name_key(name):
    assert import_checks.name_key(name) == customers.name_key(name)
