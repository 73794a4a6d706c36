import pytest

from seva_crm.core.common.errors import DomainError
from seva_crm.core.customers.csv_import import decode_csv, import_csv
from seva_crm.core.models import Change, Customer, CustomerIdentifier, CustomerTag
from tests.test_customers import create

IMPORT = """mutation($csv: String) { customersImport(csv: $csv) { imported errors { row field code message } } }"""


async def test_valid_rows_import_and_bad_rows_are_reported_by_row(tenant):
    await create(tenant.api, name="Already Here", phone="9876520000")
    csv = (
        "name,phone,email,language,tags,date_of_birth\n"
        "Asha Devi,98765 20001,asha@example.com,hi,vip;walk-in,1990-04-01\n"
        ",9876520002,,en,,\n"  # row 3: no name
        "Bad Phone,12345,,en,,\n"  # row 4
        "Dup In File,9876520001,,en,,\n"  # row 5: same phone as row 2
        "Dup In Db,9876520000,,en,,\n"  # row 6: phone of an existing customer
        "Bad Lang,9876520003,,fr,,\n"  # row 7
        "Ravi Kumar,,ravi@example.com,,,\n"
    )
    data = (await tenant.api.ok(IMPORT, csv=csv))["customersImport"]
    assert data["imported"] == 2
    assert [(e["row"], e["field"], e["code"]) for e in data["errors"]] == [
        (3, "name", "REQUIRED"), (4, "phone", "INVALID_PHONE"), (5, "phone", "DUPLICATE"),
        (6, "phone", "DUPLICATE"), (7, "language", "INVALID"),
    ]
    assert "row 2" in data["errors"][2]["message"] and "Already Here" in data["errors"][3]["message"]
    asha = await Customer.get(tenant_id=tenant.id, phone="+919876520001")
    assert asha.tags == ["vip", "walk-in"] and str(asha.date_of_birth) == "1990-04-01"
    assert await CustomerTag.filter(customer_id=asha.id).count() == 2
    listed = await tenant.api.ok('{ customers(filter: {tags: ["vip"]}) { edges { node { name } } } }')
    assert [e["node"]["name"] for e in listed["customers"]["edges"]] == ["Asha Devi"]


async def test_unknown_column_rejects_the_file_before_writing(tenant):
    data = (await tenant.api.ok(IMPORT, csv="name,favourite_colour\nA,blue\n"))["customersImport"]
    assert data["imported"] == 0
    assert data["errors"][0]["row"] == 1 and "favourite_colour" in data["errors"][0]["message"]
    assert await Customer.filter(tenant_id=tenant.id).count() == 0


async def test_a_failure_while_writing_leaves_nothing_behind(tenant, monkeypatch):
    from seva_crm.core.storage import bulk

    calls = []
    original = bulk.insert_all

    async def failing_insert_all(writes):
        tables = [table for table, _, rows in writes if rows]
        if "customer" in tables:  # not the change feed's rows (a chunk's, on SQLite)
            calls.append(tables)
            if len(calls) == 2:  # the second chunk, after the first one's customers, tags and identifiers
                raise RuntimeError("disk full")
        return await original(writes)

    monkeypatch.setattr(bulk, "insert_all", failing_insert_all)
    rows = "".join(f"Person {i},98765{30000 + i},t,234123412346\n" for i in range(1500))
    with pytest.raises(RuntimeError):
        await import_csv(tenant.scope, "name,phone,tags,aadhaar\n" + rows)
    assert calls == [["customer", "customer_tag", "customer_identifier"]] * 2
    assert await Customer.filter(tenant_id=tenant.id).count() == 0
    assert await CustomerTag.filter(tenant_id=tenant.id).count() == 0
    assert await CustomerIdentifier.filter(tenant_id=tenant.id).count() == 0
    assert await Change.filter(tenant_id=tenant.id).count() == 0  # nor the first chunk's change-feed notes


async def test_ten_thousand_rows_import_in_one_call(tenant):
    rows = "".join(f"Person {i},+9197{i:08d},p{i}@example.com,en,regular\n" for i in range(10_000))
    result = await import_csv(tenant.scope, "name,phone,email,language,tags\n" + rows)
    assert result.errors == [] and result.imported == 10_000
    assert await Customer.filter(tenant_id=tenant.id).count() == 10_000


async def test_upload_as_a_file(app, tenant):
    import json

    operations = json.dumps({"query": "mutation($f: Upload) { customersImport(file: $f) { imported errors { row } } }",
                             "variables": {"f": None}})
    response = await tenant.api.http.post(
        "/graphql",
        data={"operations": operations, "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("customers.csv", b"name,phone\nUploaded One,9876540001\n", "text/csv")},
    )
    assert response.json()["data"]["customersImport"] == {"imported": 1, "errors": []}


# ---------------------------------------------------------------- encodings, line ends, errors by column

SPREADSHEET = "name,phone,notes\nJosé Müller,9876560001,café – “quoted”\nZoë,9876560002,\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
async def test_files_in_excels_encodings_import_the_same_text(tenant, encoding):
    text = decode_csv(SPREADSHEET.replace("\n", "\r\n").encode(encoding))
    result = await import_csv(tenant.scope, text)
    assert result.errors == [] and result.imported == 2
    jose = await Customer.get(tenant_id=tenant.id, phone="+919876560001")
    assert (jose.name, jose.notes) == ("José Müller", "café – “quoted”")


def test_files_in_no_known_encoding_are_a_clear_error():
    for data in ("name\nA\n".encode("utf-16-le"), b"name\n\x81\x8d\x8f\n"):  # UTF-16 without its mark; not Windows-1252
        with pytest.raises(DomainError) as caught:
            decode_csv(data)
        assert "UTF-8" in str(caught.value) and "Windows-1252" in str(caught.value)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
async def test_every_line_end_reads_the_same_rows(tenant, newline):
    text = newline.join(["name,phone,notes", 'Asha,9876560011,"two' + newline + 'lines"', "Ravi,9876560012,", ""])
    result = await import_csv(tenant.scope, text)
    assert result.errors == [] and result.imported == 2
    asha = await Customer.get(tenant_id=tenant.id, phone="+919876560011")
    assert asha.notes == "two" + newline + "lines"


async def test_a_bare_carriage_return_is_no_internal_error(tenant):
    data = (await tenant.api.ok(IMPORT, csv="a\rb"))["customersImport"]
    assert data["imported"] == 0 and data["errors"][0]["row"] == 1 and "'a'" in data["errors"][0]["message"]


async def test_every_error_of_a_row_is_named_by_its_csv_column(tenant):
    csv = "Name,Mobile,DOB,Language,Tags\nAsha,12345,01/04/1990,fr,ok\nRavi\x00,9876560021,1990-04-01,en,a\x07b\n"
    result = await import_csv(tenant.scope, csv)  # as from a file (GraphQL refuses the NUL in the variable itself)
    assert result.imported == 0
    assert sorted((e.row, e.field) for e in result.errors) == [(2, "DOB"), (2, "Language"), (2, "Mobile"), (3, "Name"), (3, "Tags")]
    assert "U+0000" in next(e.message for e in result.errors if e.field == "Name")
    data = (await tenant.api.ok(IMPORT, csv=csv.split("\nRavi")[0]))["customersImport"]
    assert sorted(e["field"] for e in data["errors"]) == ["DOB", "Language", "Mobile"]


async def test_unreadable_csv_is_a_row_error(tenant):
    result = await import_csv(tenant.scope, 'name,notes\nAsha,"' + "x" * 200_000 + '"\n')
    assert result.imported == 0 and result.errors[0].row == 2 and "not readable as CSV" in result.errors[0].message


async def test_an_uploaded_utf16_file_imports(tenant):
    import json

    operations = json.dumps({"query": "mutation($f: Upload) { customersImport(file: $f) { imported errors { message } } }",
                             "variables": {"f": None}})
    response = await tenant.api.http.post(
        "/graphql", data={"operations": operations, "map": json.dumps({"0": ["variables.f"]})},
        files={"0": ("customers.csv", SPREADSHEET.encode("utf-16"), "text/csv")},
    )
    assert response.json()["data"]["customersImport"] == {"imported": 2, "errors": []}


async def test_a_large_write_grows_sqlites_page_cache_for_the_block_only(tenant):
    from tortoise import connections

    from seva_crm.core.storage import bulk
    from tests.conftest import is_postgres

    if is_postgres():
        async with bulk.large_write():  # nothing to tune
            return

    async def cache_size() -> int:
        return (await connections.get("default").execute_query("PRAGMA cache_size"))[1][0][0]

    before = await cache_size()
    with pytest.raises(RuntimeError):
        async with bulk.large_write():
            assert await cache_size() == -bulk.CACHE_KIB
            raise RuntimeError("the import failed")
    assert await cache_size() == before
