"""The CSV import's batch path against the per-customer service: the same customers, tags,
identifiers and change-feed rows for the same rows; its phone and email shortcuts give the
libraries' answers; identifier columns are checked, encrypted and masked as customerIdentifierSet's."""

import os
from datetime import date, datetime, timezone
from uuid import UUID

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
from tests.conftest import is_postgres
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


# ---------------------------------------------------------------- a large file's rows, checked in a process of their own


def large_file() -> str:
    """60 rows over several slices: good ones, a phone repeated in a later slice and one joining its
    household there, a blank line, a bad phone and a bad Aadhaar check digit, and dates of birth on
    either side of the pinned clock's today (2026-03-11), where the wall clock is much later."""
    wrong = NUMBER[:-1] + str((int(NUMBER[-1]) + 1) % 10)
    lines = ["name,phone,email,date_of_birth,household,aadhaar"]
    for i in range(60):
        cells = [f"Person {i}", f"98765{40000 + i}", f"p{i}@example.com", "", "", (NUMBER, OTHER, "")[i % 3]]
        if i == 10:
            cells[1] = "9876540002"  # row 4's phone
        elif i == 20:
            cells[1], cells[4] = "9876540003", "yes"  # joins row 5's household
        elif i == 30:
            cells[3] = "2026-06-01"  # after today by the pinned clock
        elif i == 31:
            cells[3] = "2026-03-11"  # today
        elif i == 40:
            cells[1] = "12345"
        elif i == 50:
            cells[5] = wrong
        lines.append(",".join(cells))
        if i == 25:
            lines.append(",,,,,")
    return "\n".join(lines) + "\n"


async def test_a_large_file_is_checked_in_the_checking_process_with_the_same_answers(make_tenant, monkeypatch):
    from seva_crm.core.common import processes
    from seva_crm.core.customers import csv_import

    here, apart = await make_tenant(), await make_tenant()
    monkeypatch.setattr(csv_import, "BATCH", 7)  # slices and chunks of 7 rows: duplicates and households across them
    inline = await import_csv(here.scope, large_file())  # under PROCESS_ROWS: checked in this process
    started, stream = [], processes.stream

    def counted(fn, *args, **kwargs):
        started.append(fn.__name__)
        return stream(fn, *args, **kwargs)

    monkeypatch.setattr(processes, "stream", counted)
    monkeypatch.setattr(csv_import, "PROCESS_ROWS", 50)
    result = await import_csv(apart.scope, large_file())

    expected = [(12, "phone", ErrorCode.DUPLICATE), (33, "date_of_birth", ErrorCode.INVALID),
                (43, "phone", ErrorCode.INVALID_PHONE), (53, "aadhaar", ErrorCode.INVALID)]
    assert [(e.row, e.field, e.code) for e in inline.errors] == expected and inline.imported == 56
    assert result == inline  # the same rows imported, the same errors with the same messages
    assert await snapshot(apart.id) == await snapshot(here.id)  # identifiers sealed there decrypt here
    rows = await Customer.filter(tenant_id=apart.id).order_by("id").values_list("name", flat=True)
    assert rows == [f"Person {i}" for i in range(60) if i not in (10, 30, 40, 50)]  # ids in the file's order
    # on PostgreSQL the server does the database's work, beside the checks in this process
    assert started == ([] if is_postgres() else ["_check_file_in_process"])


def _stop_the_process(*args):
    os._exit(3)


async def test_the_checking_process_stopping_is_a_clear_error_nothing_is_written_and_the_next_import_works(tenant, monkeypatch):
    from seva_crm.core.customers import csv_import

    if is_postgres():
        pytest.skip("on PostgreSQL the rows are checked in the importing process")
    monkeypatch.setattr(csv_import, "PROCESS_ROWS", 50)
    monkeypatch.setattr(csv_import, "BATCH", 7)
    original = csv_import._check_file_in_process
    monkeypatch.setattr(csv_import, "_check_file_in_process", _stop_the_process)
    with pytest.raises(DomainError) as failed:
        await import_csv(tenant.scope, large_file())
    error = failed.value.errors[0]
    assert (error.field, error.code) == ("csv", ErrorCode.UNAVAILABLE) and "import the file again" in error.message
    assert not await Customer.filter(tenant_id=tenant.id).exists()
    assert not await Change.filter(tenant_id=tenant.id).exists()

    monkeypatch.setattr(csv_import, "_check_file_in_process", original)
    assert (await import_csv(tenant.scope, large_file())).imported == 56  # a new process


def _fail_on_a_row(*args):
    yield 60, [], []
    raise ValueError("bad row: Person 9, 9876540009")


async def test_a_failure_in_the_checking_process_is_reported_by_its_type_only(tenant, monkeypatch, caplog):
    from seva_crm.core.customers import csv_import

    if is_postgres():
        pytest.skip("on PostgreSQL the rows are checked in the importing process")
    monkeypatch.setattr(csv_import, "PROCESS_ROWS", 50)
    monkeypatch.setattr(csv_import, "_check_file_in_process", _fail_on_a_row)
    with pytest.raises(DomainError) as failed:
        await import_csv(tenant.scope, large_file())
    assert failed.value.errors[0].code == ErrorCode.UNAVAILABLE
    assert "ValueError" in caplog.text and str(tenant.id) in caplog.text
    assert "9876540009" not in caplog.text + str(failed.value.errors) and "Person 9" not in caplog.text
    assert not await Customer.filter(tenant_id=tenant.id).exists()


# ---------------------------------------------------------------- the one-pass row check gives the full path's answers

ROW_KEYS = ["name", "phone", "email", "address", "date_of_birth", "preferred_channel", "language", "tags", "notes",
            "household", "aadhaar", "pan"]
CHANNELS = {"whatsapp": object(), "sms": object()}
cells = st.tuples(
    st.one_of(st.sampled_from(["Asha Devi", " Ravi ", "", "  ", "Smt. Rani", "मोहम्मद", "x" * 201, "a\x00b"]), st.text(max_size=8)),
    st.one_of(st.sampled_from(["9876543210", "098765 43210", "+91 98765-43210", "12345", ""]), phones),
    st.one_of(st.sampled_from(["a@example.com", " B@Example.COM ", "bad", ""]), emails),
    st.sampled_from(["", "12 MG Road", " x" * 1100]),
    st.sampled_from(["", "1990-04-01", "19900401", "01/04/1990", "1899-12-31", "2999-01-01", " 2000-02-29 "]),
    st.sampled_from(["", "whatsapp", "SMS", "fax", " sms "]),
    st.sampled_from(["", "en", "HI", "bn", "fr", " hi "]),
    st.one_of(st.sampled_from(["", "vip;gold", "a|b; ;B", ";".join("t" * 51 for _ in range(2)), ";".join(map(str, range(21)))]),
              st.text(alphabet="ab;| ", max_size=8)),
    st.sampled_from(["", "first visit", "n" * 10_001, "tab\there", "bell\x07"]),
    st.sampled_from(["", "yes", "No", "Y", "maybe", " true "]),
    st.sampled_from(["", NUMBER, NUMBER[:4] + " " + NUMBER[4:], "234123412345", "1" * 12]),
    st.sampled_from(["", "abcde1234f", "ABCDE 1234 F", "abc"]),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=cells, drop=st.sets(st.integers(0, len(ROW_KEYS) - 1), max_size=3))
def test_the_one_pass_check_gives_the_full_paths_values_or_leaves_the_row_to_it(row, drop):
    from seva_crm.core.common.principal import TenantScope
    from seva_crm.core.customers.csv_import import _check_row
    from seva_crm.core.customers.import_rows import RowChecker
    from uuid import uuid4

    keys = [k for i, k in enumerate(ROW_KEYS) if i not in drop or k == "name"]
    row = [c for i, c in enumerate(row) if i not in drop or ROW_KEYS[i] == "name"]
    scope = TenantScope(uuid4(), Region.IN)
    fast = RowChecker(keys, Region.IN, CHANNELS)(list(row))
    errors = []
    checked = _check_row(2, list(row), keys, {k: k for k in keys}, scope, CHANNELS, errors, lambda cells: None)
    if fast is not None:  # accepted: exactly the full path's values
        assert errors == [] and checked is not None
        values, household = checked
        ids = values.pop("identifiers")
        assert fast == (values, ids, household)
    # a row the full path accepts with plain cells is read by the fast pass too
    if checked is not None and not any(c != c.strip() or "\t" in c for c in row):
        assert fast is not None


async def test_good_rows_take_the_one_pass_check_and_bad_ones_the_full_path(tenant, monkeypatch):
    from seva_crm.core.customers import csv_import

    taken = []
    original = csv_import._row_values
    monkeypatch.setattr(csv_import, "_row_values", lambda raw: taken.append(raw) or original(raw))
    result = await import_csv(tenant.scope, f"name,phone,email,tags,language,aadhaar\nAsha,9876543210,a@example.com,"
                                            f"vip;gold,hi,{NUMBER}\nBad,12345,b@example.com,,en,\n")
    assert result.imported == 1 and [e.row for e in result.errors] == [3]
    assert [r["name"] for r in taken] == ["Bad"]  # only the bad row took the full path


@pytest.mark.parametrize("at, millis", [
    (datetime(2026, 3, 31, 18, 29, 59, 999_999, tzinfo=timezone.utc), 1774981799999),  # 23:59:59.999 at +05:30: the year's last ms
    (datetime(2026, 12, 31, 18, 0, tzinfo=timezone.utc), 1798740000000),  # 00:00 at +06:00, a new year in Dhaka
])
def test_bulk_ids_are_version_7_text_in_order_at_their_millisecond_with_random_steps(at, millis):
    from itertools import islice, pairwise
    from uuid import RFC_4122

    from seva_crm.core.common.ids import ordered_uuid_texts

    texts = list(islice(ordered_uuid_texts(at), 3000))  # across the refills of random steps (1024 a time)
    drawn = [UUID(t) for t in texts]
    assert texts == [str(u) for u in drawn]  # the text a UUID prints, as the database stores it
    assert all(u.version == 7 and u.variant == RFC_4122 for u in drawn)
    assert drawn == sorted(drawn) and len(set(drawn)) == len(drawn)
    assert {int.from_bytes(u.bytes[:6], "big") for u in drawn} == {millis}  # Unix ms of ``at``
    assert len({b.int - a.int for a, b in pairwise(drawn)}) > 2900  # the next id is no fixed step away
    assert next(ordered_uuid_texts(at)) not in texts  # another import at the same millisecond starts elsewhere


async def test_imported_customers_ids_follow_the_files_order(tenant):
    rows = "".join(f"Person {i},+9197{i:08d},,,,\n" for i in range(2500))  # three chunks
    result = await import_csv(tenant.scope, "name,phone,email,tags,language,aadhaar\n" + rows)
    assert result.imported == 2500
    imported = await Customer.filter(tenant_id=tenant.id).order_by("id").values_list("id", "name")
    assert [name for _, name in imported] == [f"Person {i}" for i in range(2500)]
    ids = [id for id, _ in imported]
    feed = await Change.filter(tenant_id=tenant.id, type="customer").order_by("seq").values_list("seq", "object_id", "op")
    assert [object_id for _, object_id, _ in feed] == ids and {op for _, _, op in feed} == {"created"}
    assert [seq for seq, _, _ in feed] == list(range(feed[0][0], feed[0][0] + 2500))  # one unbroken run of numbers
