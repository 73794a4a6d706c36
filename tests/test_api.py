"""Cross-cutting API behaviour: health probes, limits, error masking, request ids."""

import logging


from tests.conftest import Api


async def test_health_and_readiness(app):
    client = Api(app).http
    assert (await client.get("/healthz")).text == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok", "database": "ok"}


async def test_graphiql_is_served_in_development(app):
    page = await Api(app).http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_deep_queries_are_refused(tenant):
    deep = ("{ customers { edges { node { serviceRecords { edges { node { customer { serviceRecords { edges { node { customer { name } "
            "} } } } } } } } } } }")
    body = await tenant.api(deep)
    assert body["data"] is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_alias_floods_are_refused(tenant):
    query = "{ " + " ".join(f"a{i}: me {{ email }}" for i in range(40)) + " }"
    body = await tenant.api(query)
    assert "aliases found" in body["errors"][0]["message"].lower()


async def test_unexpected_errors_are_masked_with_a_request_id(tenant, monkeypatch, caplog):
    from seva_crm.core.customers import customers

    def broken(*args, **kwargs):
        raise RuntimeError("connection string postgres://secret@db leaked")

    monkeypatch.setattr(customers, "customer_queryset", broken)
    with caplog.at_level(logging.ERROR, logger="seva.api"):
        response = await tenant.api.http.post("/graphql", json={"query": "{ customers { totalCount } }"},
                                              headers={"x-request-id": "req-123"})
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-123"}
    assert "secret" not in response.text
    assert response.headers["x-request-id"] == "req-123"
    assert "req-123" in caplog.text  # the operator can find the traceback by the id


async def test_bad_cursor_is_a_clear_input_error(tenant):
    body = await tenant.api('{ customers(after: "garbage") { totalCount } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["message"] == "after: not a cursor from this list"
