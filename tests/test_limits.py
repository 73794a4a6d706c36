"""The GraphQL endpoint's input rules and limits (docs/limits.md): bad strings are a typed
error naming the argument, malformed bodies a 400, and every limit a clear top-level error."""

import json

import pytest

from seva_crm.core.common.settings import get_settings
from seva_crm.core.models import Customer
from seva_crm.schema.app import create_app
from tests.conftest import LOGIN, Api

CREATE = """mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) { customer { id notes } errors { field code message } }
}"""


def only_error(body: dict) -> dict:
    assert body.get("data") is None, body
    assert len(body["errors"]) == 1, body
    return body["errors"][0]


# ---------------------------------------------------------------- strings


async def test_a_nul_in_a_variable_is_a_bad_input_error_naming_it(app):
    error = only_error(await Api(app)(LOGIN, email="a\u0000@x.com", password="whatever-long"))
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "$email", "reason": "invalid"}
    assert "U+0000" in error["message"]


async def test_a_nul_in_a_literal_names_the_argument_path(tenant):
    query = 'mutation { customerCreate(input: {name: "Asha\\u0000", phone: "9876511111"}) { errors { field } } }'
    error = only_error(await tenant.api(query))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "customerCreate.input.name"
    assert await Customer.filter(tenant_id=tenant.id).count() == 0


@pytest.mark.parametrize("bad", ["\ud800", "bell\u0007", "esc\u001b[31m", "\ufffe"])
async def test_lone_surrogates_and_control_characters_are_refused_anywhere_in_the_variables(tenant, bad):
    body = json.dumps({"query": CREATE, "variables": {"input": {"name": "Asha", "tags": ["ok", bad]}}})  # \ud800 stays escaped
    response = await tenant.api.http.post("/graphql", content=body, headers={"content-type": "application/json"})
    error = only_error(response.json())
    assert error["extensions"]["field"] == "$input.tags.1"
    assert await Customer.filter(tenant_id=tenant.id).count() == 0


async def test_tabs_and_line_breaks_are_text(tenant):
    data = await tenant.api.ok(CREATE, input={"name": "Asha", "notes": "line one\r\nline two\n\tindented"})
    assert data["customerCreate"]["customer"]["notes"] == "line one\r\nline two\n\tindented"


@pytest.mark.parametrize("body,reason", [
    (b"null", "got NoneType"), (b"42", "got int"), (b"[1, 2]", "got list"), (b'"query"', "got str"),
    (b"{not json", "Unable to parse"), (b'{"query": "\xff\xfe"}', "Unable to parse"), (b"[" * 100_000, "nested too deeply"),
])
async def test_malformed_or_non_object_bodies_are_a_400(app, body, reason):
    response = await Api(app).http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert reason in response.text


# ---------------------------------------------------------------- limits


def limit(body: dict) -> dict:
    error = only_error(body)
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED", error
    return error


async def test_the_body_size_limit(app):
    size = get_settings().max_body_bytes
    payload = json.dumps({"query": "{ me { id } }", "variables": {"pad": "x" * size}})
    response = await Api(app).http.post("/graphql", content=payload, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert limit(response.json())["extensions"]["limit"] == "bodyBytes"


async def test_the_query_size_counts_comments(tenant):
    padding = ("# " + "x" * 98 + "\n") * (get_settings().max_query_bytes // 100 + 1)
    error = limit(await tenant.api(padding + "{ me { id } }"))
    assert error["extensions"]["limit"] == "queryBytes" and "comments count" in error["message"]


async def test_the_variables_size_limit(tenant):
    error = limit(await tenant.api(CREATE, input={"name": "Asha", "notes": "x" * get_settings().max_variables_bytes}))
    assert error["extensions"]["limit"] == "variablesBytes"
    assert await Customer.filter(tenant_id=tenant.id).count() == 0


NESTED = """query($outer: Int, $inner: Int) {
  customers(first: $outer) { edges { node { id name serviceRecords(first: $inner) { edges { node { id serviceName } } } } } }
}"""


async def test_the_cost_limit_counts_page_sizes_and_nesting(tenant):
    error = limit(await tenant.api(NESTED, outer=100, inner=100))  # 100 customers x 100 records each
    assert error["extensions"]["limit"] == "queryCost" and "first/last" in error["message"]
    await tenant.api.ok(NESTED, outer=100, inner=10)  # a customer list with the latest records: fine
    await tenant.api.ok(NESTED)  # default page sizes


async def test_aliases_within_the_alias_limit_still_add_up_to_the_cost(tenant):
    page = "customers(first: 100) { edges { node { id serviceRecords(first: 20) { edges { node { id } } } } } }"
    query = "{ " + " ".join(f"a{i}: {page}" for i in range(10)) + " }"
    assert limit(await tenant.api(query))["extensions"]["limit"] == "queryCost"


@pytest.fixture(scope="module")
def production_app():
    settings = get_settings().model_copy(update={"env": "production"})
    return create_app(settings, manage_db=False)


async def test_introspection_is_off_in_production(production_app):
    body = await Api(production_app)("{ __schema { queryType { name } } }")
    assert "introspection has been disabled" in body["errors"][0]["message"]
    assert (await Api(production_app)("{ __typename }"))["data"] == {"__typename": "Query"}


async def test_introspection_can_be_turned_on_in_production():
    settings = get_settings().model_copy(update={"env": "production", "introspection": True})
    body = await Api(create_app(settings, manage_db=False))("{ __schema { queryType { name } } }")
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
