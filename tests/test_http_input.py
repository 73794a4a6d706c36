"""Bodies outside /graphql (plugins' webhooks, the public privacy endpoints) and the body size
limit: refused in front of the route, so no handler sees a NUL or a 10 MB body."""

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import PrivacyRequest
from seva_crm.schema.http_input import InputGuard
from tests.conftest import Api


def guarded(max_body_bytes: int = 1024):
    """A stub route behind the guard, recording what reached it."""
    seen: list[bytes] = []

    async def handler(request):
        seen.append(await request.body())
        return PlainTextResponse("handled")

    app = InputGuard(Starlette(routes=[Route("/webhooks/stub/{rest:path}", handler, methods=["GET", "POST"])]), max_body_bytes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test"), seen


@pytest.mark.parametrize("body,content_type", [
    (b'{"text": "hi\\u0000there"}', "application/json"),  # a JSON escape: the bytes themselves are clean
    (b'{"text": "\\ud83d alone"}', "application/json"),  # half a surrogate pair
    (b'{"entry": [{"changes": [{"value": {"\\u0000": 1}}]}]}', "application/json"),  # in a key
    (b"Body=hi%00there&From=%2B919876500000", "application/x-www-form-urlencoded"),
    (b"raw \x00 byte", "text/plain"),
    (b'{"text": "bell \x07"}', "application/json"),
])
async def test_bodies_with_invalid_code_points_never_reach_the_handler(body, content_type):
    client, seen = guarded()
    response = await client.post("/webhooks/stub/x", content=body, headers={"content-type": content_type})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "BAD_USER_INPUT" and "not allowed" in response.json()["errors"][0]["message"]
    assert seen == []


async def test_clean_bodies_pass_unchanged_and_control_characters_in_query_strings_are_refused():
    client, seen = guarded()
    body = '{"text": "नमस्ते\\n\\ttab", "n": 1}'.encode()
    assert (await client.post("/webhooks/stub/x", content=body, headers={"content-type": "application/json"})).text == "handled"
    assert (await client.post("/webhooks/stub/x", content=b"{not json")).text == "handled"  # the handler answers that
    assert seen == [body, b"{not json"]
    assert (await client.get("/webhooks/stub/x?hub.challenge=a%00b")).status_code == 400


async def test_bodies_over_the_limit_are_refused_by_length_or_while_streaming():
    client, seen = guarded(max_body_bytes=1024)
    assert (await client.post("/webhooks/stub/x", content=b"x" * 1024)).status_code == 200
    declared = await client.post("/webhooks/stub/x", content=b"x" * 1025)
    assert declared.status_code == 413 and declared.json()["errors"][0]["code"] == "LIMIT_EXCEEDED"

    async def chunks():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b"x" * 200

    assert (await client.post("/webhooks/stub/x", content=chunks())).status_code == 413
    assert len(seen) == 1


async def test_the_app_guards_plugins_webhooks(app):
    client = Api(app).http
    for path in ("/webhooks/razorpay/anything", "/webhooks/whatsapp/"):
        response = await client.post(path, content=b'{"event": "payment.captured", "note": "\\u0000"}',
                                     headers={"content-type": "application/json", "x-razorpay-signature": "0" * 64})
        assert response.status_code == 400, path
        assert response.json()["errors"][0]["code"] == "BAD_USER_INPUT"


async def test_a_privacy_request_with_a_nul_is_a_400_not_a_500(tenant, app):
    client = Api(app, ip="198.51.100.40").http
    request = {"tenant": to_global_id("Tenant", tenant.id), "type": "access", "phone": "98765 00401",
               "details": "please send my data\u0000"}
    response = await client.post("/privacy/requests", json=request)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "BAD_USER_INPUT" and "details" in response.json()["errors"][0]["message"]
    assert await PrivacyRequest.filter(tenant_id=tenant.id).count() == 0
