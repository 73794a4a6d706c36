"""Logs: one key=value line per request, and never a name, phone, email, query text or
variables, whatever fails."""

import logging

import pytest

from seva_crm.core.common.logs import KeyValueFormatter
from tests.conftest import LOGIN, Api

NAME, PHONE, EMAIL = "Zarina Begum", "98765 43219", "zarina.begum@example.org"
E164 = "+919876543219"


@pytest.fixture
def logs(caplog):
    caplog.handler.setFormatter(KeyValueFormatter())  # as `seva serve` writes them
    with caplog.at_level(logging.INFO):
        yield caplog


def request_lines(caplog) -> list[str]:
    return [line for line in caplog.text.splitlines() if "event=request " in line]


async def test_failing_requests_log_one_line_each_without_personal_data(app, tenant, logs, monkeypatch):
    anonymous = Api(app)
    create = """mutation($input: CustomerCreateInput!) { customerCreate(input: $input) { errors { field code } } }"""
    requests = [
        anonymous(LOGIN, email=EMAIL, password=PHONE),  # wrong credentials: a payload error
        tenant.api(create, input={"name": NAME, "phone": "12345", "email": EMAIL}),  # invalid phone
        tenant.api(f'mutation {{ customerCreate(input: {{name: "{NAME}", phone: "{PHONE}", emial: "{EMAIL}"}}) {{ errors {{ code }} }} }}'),
        tenant.api(f'{{ customers(after: "{NAME}") {{ totalCount }} }}'),  # a domain error at top level
        tenant.api(create, input={"name": NAME + "\u0000", "phone": PHONE}),  # a refused character
        anonymous(f'{{ customers(filter: {{search: "{NAME}"}}) {{ totalCount }} }}'),  # not signed in
    ]
    for request in requests:
        assert (await request).get("errors") or True

    from seva_crm.core.customers import customers

    def broken(*args, **kwargs):
        raise RuntimeError(f"duplicate key (phone)=({E164}) for {NAME} <{EMAIL}>")

    monkeypatch.setattr(customers, "customer_queryset", broken)
    await tenant.api(f'{{ customers(filter: {{search: "{NAME}"}}) {{ totalCount }} }}')

    text = logs.text
    for secret in (NAME, "Zarina", PHONE, E164, "9876543219", EMAIL, "zarina.begum", "customerCreate(", "query"):
        assert secret not in text, secret
    assert "Traceback" not in text
    lines = request_lines(logs)
    assert len(lines) == 7
    outcomes = [line.split(" outcome=")[1].split()[0] for line in lines]
    assert outcomes == ["user_error"] * 5 + ["auth_error", "internal"]
    assert all("request_id=" in line and "duration_ms=" in line for line in lines)
    assert "operation=" not in lines[0]  # anonymous operations have no name
    internal = [line for line in text.splitlines() if "event=unexpected_error" in line]
    assert len(internal) == 1 and "exc=builtins.RuntimeError" in internal[0] and "at=" in internal[0]


async def test_an_unauthenticated_request_is_one_line(app, logs):
    await Api(app, token="not-a-token")("query Dashboard { customers { totalCount } }")
    server = [r for r in logs.records if r.name != "httpx"]  # httpx: this test's client
    assert len(server) == 1 and server[0].exc_info is None, logs.text
    (line,) = request_lines(logs)
    assert "operation=Dashboard" in line and "outcome=auth_error" in line and "status=200" in line


async def test_successful_requests_log_their_operation_name(tenant, logs):
    await tenant.api.ok("query Me { me { id } }")
    (line,) = request_lines(logs)
    assert "method=POST path=/graphql operation=Me status=200 outcome=ok" in line


async def test_paths_with_tokens_are_logged_without_them(app, logs):
    await Api(app).http.get("/privacy/exports/secret-token-123")
    (line,) = request_lines(logs)
    assert "secret-token-123" not in line and "path=/privacy/exports/..." in line and "outcome=user_error" in line
