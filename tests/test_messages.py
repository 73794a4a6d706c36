"""Messages through the API: messageSend renders a template into the outbox, messages lists it."""

from seva_crm.core import jobs
from seva_crm.core.common.enums import Role
from seva_crm.core.models import Message
from seva_crm.core.platform.plugins import Plugins, set_plugins
from seva_crm.core.common.settings import get_settings
from seva_crm.schema.app import jobs_lifespan
from tests.channel_plugin import ChannelPlugin, http_channels
from tests.jobs_support import fast_outbox, outbox_jobs, provider, settle  # noqa: F401 - fixtures
from tests.test_customers import create

SEND = """mutation($customer: ID!, $template: String!, $variables: JSON, $purpose: MessagePurpose) {
  messageSend(customer: $customer, template: $template, variables: $variables, purpose: $purpose) {
    message { id status purpose template body channel attempts customer { id } }
    errors { field code message }
  }
}"""
LIST = """query($customer: ID, $status: [MessageStatus!], $channel: String, $first: Int, $after: String) {
  messages(customer: $customer, status: $status, channel: $channel, first: $first, after: $after) {
    totalCount edges { node { id status channel lastError } } pageInfo { hasNextPage endCursor }
  }
}"""
READY = {"service": "PAN card", "centre": "Ward 4 CSC"}


async def test_message_send_queues_the_rendered_template(tenant):
    customer = (await create(tenant.api, name="Asha Devi", phone="98765 43210"))["customer"]
    result = (await tenant.api.ok(SEND, customer=customer["id"], template="document_ready", variables=READY))["messageSend"]
    assert result["errors"] == []
    message = result["message"]
    assert message["body"] == "Hello Asha Devi, your PAN card is ready. Please collect it from Ward 4 CSC."
    assert (message["status"], message["purpose"], message["attempts"], message["channel"]) == ("QUEUED", "SERVICE", 0, None)
    assert message["customer"]["id"] == customer["id"]


async def test_message_send_reports_what_is_wrong(tenant):
    customer = (await create(tenant.api, name="Asha Devi", phone="98765 43210"))["customer"]
    send = lambda **kw: tenant.api.ok(SEND, customer=customer["id"], **kw)  # noqa: E731
    missing = (await send(template="document_ready", variables={"service": "PAN card"}))["messageSend"]
    assert missing["message"] is None
    assert [(e["field"], e["code"]) for e in missing["errors"]] == [("variables.centre", "MISSING_VARIABLE")]
    unknown = (await send(template="nonsense"))["messageSend"]["errors"]
    assert [(e["field"], e["code"]) for e in unknown] == [("template", "NOT_FOUND")]
    marketing_as_service = (await send(template="offer", variables={"offer": "10% off"}, purpose="SERVICE"))["messageSend"]["errors"]
    assert [(e["field"], e["code"]) for e in marketing_as_service] == [("purpose", "INVALID")]
    bad_value = (await send(template="document_ready", variables={**READY, "service": {"x": 1}}))["messageSend"]["errors"]
    assert [(e["field"], e["code"]) for e in bad_value] == [("variables.service", "INVALID")]
    assert await Message.filter(tenant_id=tenant.id).count() == 0


async def test_viewers_read_messages_and_only_staff_send(tenant):
    customer = (await create(tenant.api, name="Asha Devi", phone="98765 43210"))["customer"]
    viewer = await tenant.api_as(Role.VIEWER)
    body = await viewer(SEND, customer=customer["id"], template="document_ready", variables=READY)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    agent = await tenant.api_as(Role.AGENT)
    assert (await agent.ok(SEND, customer=customer["id"], template="document_ready", variables=READY))["messageSend"]["errors"] == []
    assert (await viewer.ok(LIST))["messages"]["totalCount"] == 1


async def test_messages_filter_and_page(tenant):
    asha = (await create(tenant.api, name="Asha Devi", phone="98765 43210"))["customer"]
    ravi = (await create(tenant.api, name="Ravi", phone="98765 43211"))["customer"]
    for who in (asha, asha, ravi):
        await tenant.api.ok(SEND, customer=who["id"], template="document_ready", variables=READY)
    mine = (await tenant.api.ok(LIST, customer=asha["id"]))["messages"]
    assert mine["totalCount"] == 2
    page = (await tenant.api.ok(LIST, first=2))["messages"]
    assert len(page["edges"]) == 2 and page["pageInfo"]["hasNextPage"]
    rest = (await tenant.api.ok(LIST, first=2, after=page["pageInfo"]["endCursor"]))["messages"]
    assert len(rest["edges"]) == 1 and not rest["pageInfo"]["hasNextPage"]
    assert (await tenant.api.ok(LIST, status=["QUEUED"]))["messages"]["totalCount"] == 3
    assert (await tenant.api.ok(LIST, status=["SENT", "FAILED"]))["messages"]["totalCount"] == 0
    await Message.filter(id=(await Message.filter(tenant_id=tenant.id).first()).id).update(channel="sms")
    assert (await tenant.api.ok(LIST, channel="sms"))["messages"]["totalCount"] == 1


async def test_a_sent_message_shows_as_sent(tenant, outbox_jobs, provider):
    customer = (await create(tenant.api, name="Asha Devi", phone="98765 43210"))["customer"]
    sent = (await tenant.api.ok(SEND, customer=customer["id"], template="document_ready", variables=READY))["messageSend"]
    row = await Message.get(tenant_id=tenant.id)
    await settle(row.id)
    [edge] = (await tenant.api.ok(LIST, status=["SENT"]))["messages"]["edges"]
    assert edge["node"]["id"] == sent["message"]["id"] and edge["node"]["channel"] == "whatsapp"
    assert provider.delivered(row.idempotency_key) == 1


async def test_serve_runs_jobs_in_process_without_a_broker(tenant, provider, fast_outbox):
    """What `seva serve` does when SEVA_BROKER_URL is unset: a worker and the schedule in-process."""
    settings = get_settings()
    assert settings.broker_url == ""
    set_plugins(Plugins(discover=False, extra=(ChannelPlugin(http_channels(provider.url, provider.token)),)))
    try:
        async with jobs_lifespan(settings):
            assert jobs.is_in_process(jobs.get_broker())
            customer = (await create(tenant.api, name="Asha Devi", phone="98765 43210"))["customer"]
            await tenant.api.ok(SEND, customer=customer["id"], template="document_ready", variables=READY)
            [sent] = await settle((await Message.get(tenant_id=tenant.id)).id)
            assert sent.status == "sent" and provider.delivered(sent.idempotency_key) == 1
    finally:
        set_plugins(None)
        jobs.reset_jobs()
