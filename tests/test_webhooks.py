"""Outbound webhooks, received by a real HTTP server on loopback that verifies every request with
the standardwebhooks library (as a tenant's own system would), and answers as told: success,
5xx, or too slowly."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta
from uuid import UUID

import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from seva_crm.core.common.enums import Role
from seva_crm.core.common.ids import from_global_id
from seva_crm.core.common.security import utcnow
from seva_crm.core.common.settings import get_settings
from seva_crm.core.customers import customers
from seva_crm.core.messaging import webhooks
from seva_crm.core.models import AuditEvent, Message, WebhookDelivery, WebhookEndpoint
from seva_crm.testing.loopback import LoopbackServer
from tests.billing_helpers import subscription

CREATE = """mutation($input: WebhookEndpointInput!) { webhookEndpointCreate(input: $input) {
  endpoint { id url eventTypes enabled } secret errors { field code message } } }"""
ENDPOINTS = """{ webhookEndpoints { id enabled disabledReason consecutiveFailures
  deliveries(first: 50) { id eventId eventType status attempts payload attemptLog { attempt statusCode durationMs error } } } }"""
REDELIVER = "mutation($id: ID!) { webhookDeliveryRedeliver(id: $id) { delivery { id status } errors { code message } } }"


class PinnedWebhook(Webhook):
    """The library's verification, its five-minute timestamp window measured on the tests'
    pinned clock (the receiver's clock, as it were) instead of the machine's."""

    def _Webhook__verify_timestamp(self, header: str):
        from datetime import UTC, datetime

        at = datetime.fromtimestamp(float(header), tz=UTC)
        if abs((utcnow() - at).total_seconds()) > 300:
            raise WebhookVerificationError("Message timestamp too old or too new")
        return at


class Receiver:
    """A tenant's system: verifies signatures, records what it accepted, answers as scripted."""

    def __init__(self) -> None:
        self.secret = ""
        self.accepted: list[dict] = []
        self.refused = 0
        self.script: list[int | str] = []  # per request: a status code, or "slow" (answers after the timeout)
        self.lock = threading.Lock()
        self.server = LoopbackServer(Starlette(routes=[Route("/hook", self.hook, methods=["POST"])]), "webhook receiver")

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        try:
            data = PinnedWebhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError:
            with self.lock:
                self.refused += 1
            return JSONResponse({"error": "bad signature"}, status_code=401)
        with self.lock:
            step = self.script.pop(0) if self.script else 200
        if step == "slow":
            await asyncio.sleep(get_settings().webhook_timeout_seconds + 1)
            step = 200
        if step == 200:
            with self.lock:
                self.accepted.append({"id": request.headers["webhook-id"], **data})
        return Response(status_code=step)


@pytest.fixture
def receiver(monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "webhook_allow_private", True)  # the receiver is on loopback
    monkeypatch.setattr(settings, "webhook_timeout_seconds", 0.5)
    r = Receiver()
    r.url = r.server.start() + "/hook"
    yield r
    r.server.stop()


@pytest.fixture
def jobs(monkeypatch):
    """The delivery jobs enqueued (name, delivery id, delay): the tests run them as the worker would."""
    sent = []
    monkeypatch.setattr(webhooks, "enqueue", lambda name, *args, delay_seconds=None: sent.append((name, args[0], delay_seconds)))
    return sent


async def run_jobs(jobs: list) -> None:
    """Run the jobs due now (not retries: those wait for their delay)."""
    due = [job for job in jobs if not job[2]]
    jobs[:] = [job for job in jobs if job[2]]
    for _, delivery_id, _ in due:
        await webhooks.deliver(UUID(delivery_id))


async def make_endpoint(api, url: str, types: list[str] | None = None) -> tuple[str, str]:
    made = (await api.ok(CREATE, input={"url": url, "eventTypes": types or [], "description": "our ERP"}))["webhookEndpointCreate"]
    assert made["errors"] == [], made
    return made["endpoint"]["id"], made["secret"]


async def test_events_arrive_signed_with_ids_and_states_only(tenant, receiver, jobs):
    endpoint_id, secret = await make_endpoint(tenant.api, receiver.url, ["customer.*", "payment.recorded"])
    assert secret.startswith("whsec_")
    receiver.secret = secret
    row = await WebhookEndpoint.get(id=from_global_id(endpoint_id, "WebhookEndpoint"))
    assert secret not in row.secret and webhooks.secret_of(row) == secret  # stored encrypted
    listed = (await tenant.api.ok("{ webhookEndpoints { id } }"))["webhookEndpoints"]
    assert "secret" not in json.dumps(listed)

    customer = await customers.create_customer(tenant.scope, {"name": "Asha Devi", "phone": "9876543210", "email": "a@example.com"})
    await customers.update_customer(tenant.scope, customer.id, {"notes": "prefers mornings"})
    await subscription(tenant.scope, customer=customer)  # subscription.changed: not asked for
    await run_jobs(jobs)

    assert receiver.refused == 0
    assert [a["type"] for a in receiver.accepted] == ["customer.created", "customer.updated"]
    first = receiver.accepted[0]
    assert first["data"]["id"] == str(customer.id) and first["timestamp"].endswith("Z")
    text = json.dumps(receiver.accepted)
    for personal in ("Asha", "9876543210", "a@example.com", "mornings"):
        assert personal not in text  # ids and states, never personal data
    assert receiver.accepted[1]["data"]["fields"] == ["notes"]


async def test_a_forged_or_replayed_delivery_is_refused_by_the_receiver(tenant, receiver, jobs):
    _, secret = await make_endpoint(tenant.api, receiver.url)
    receiver.secret = "whsec_" + "A" * 43 + "="  # the receiver holds another secret: our signature must not pass
    await customers.create_customer(tenant.scope, {"name": "X"})
    await run_jobs(jobs)
    assert receiver.accepted == [] and receiver.refused == 1
    receiver.secret = secret
    delivery = await WebhookDelivery.get(tenant_id=tenant.id)
    assert delivery.status == "pending" and delivery.attempt_log[0]["status_code"] == 401


async def test_failures_retry_with_growing_jittered_delays_then_succeed(tenant, receiver, jobs, clock):
    _, receiver.secret = await make_endpoint(tenant.api, receiver.url)
    receiver.script = [503, "slow", 500]
    await customers.create_customer(tenant.scope, {"name": "Retry"})
    delays = []
    for _ in range(4):
        _, delivery_id, delay = jobs.pop(0)
        if delay:
            delays.append(delay)
            clock.advance(seconds=delay)
        await webhooks.deliver(UUID(delivery_id))
    assert jobs == []
    delivery = await WebhookDelivery.get(tenant_id=tenant.id)
    assert delivery.status == "succeeded" and delivery.attempts == 4
    assert [(a["status_code"], a["error"]) for a in delivery.attempt_log] == [(503, "HTTP 503"), (None, "timed out"),
                                                                              (500, "HTTP 500"), (200, "")]
    base = get_settings().webhook_retry_base_seconds
    for n, delay in enumerate(delays, start=1):  # each within [half, all] of a doubling ceiling
        assert base * 2 ** (n - 1) / 2 <= delay <= base * 2 ** (n - 1)
    ids = {a["id"] for a in receiver.accepted}
    assert ids == {delivery.event_id}  # one webhook-id across attempts, for the receiver to deduplicate
    endpoint = await WebhookEndpoint.get(tenant_id=tenant.id)
    assert endpoint.consecutive_failures == 0  # the success cleared them


async def test_an_early_job_waits_for_its_time(tenant, receiver, jobs):
    _, receiver.secret = await make_endpoint(tenant.api, receiver.url)
    receiver.script = [503]
    await customers.create_customer(tenant.scope, {"name": "Early"})
    await webhooks.deliver(UUID(jobs.pop(0)[1]))
    _, delivery_id, delay = jobs.pop(0)
    assert await webhooks.deliver(UUID(delivery_id)) is None  # too early: not sent
    assert len(receiver.accepted) == 0 and jobs and jobs[0][2] > 0


async def test_redelivery_through_graphql_sends_the_same_event_again(tenant, receiver, jobs):
    _, receiver.secret = await make_endpoint(tenant.api, receiver.url, ["customer.created"])
    await customers.create_customer(tenant.scope, {"name": "Once"})
    await run_jobs(jobs)
    listed = (await tenant.api.ok(ENDPOINTS))["webhookEndpoints"][0]["deliveries"]
    assert [d["status"] for d in listed] == ["succeeded"]
    again = (await tenant.api.ok(REDELIVER, id=listed[0]["id"]))["webhookDeliveryRedeliver"]
    assert again["errors"] == [] and again["delivery"]["status"] == "pending"
    await run_jobs(jobs)
    assert [a["id"] for a in receiver.accepted] == [listed[0]["eventId"]] * 2
    log = (await tenant.api.ok(ENDPOINTS))["webhookEndpoints"][0]["deliveries"][0]["attemptLog"]
    assert [a["statusCode"] for a in log] == [200, 200] and all(a["durationMs"] >= 0 for a in log)
    assert await AuditEvent.filter(chain=str(tenant.id), action="webhook_delivery.redelivered").exists()
    other = await (await tenant.api_as(Role.AGENT))(REDELIVER, id=listed[0]["id"])
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # owners and admins only


async def test_an_endpoint_that_keeps_failing_is_disabled_and_the_owner_alerted(tenant, receiver, jobs, monkeypatch, clock):
    monkeypatch.setattr(get_settings(), "webhook_disable_after_failures", 5)
    _, receiver.secret = await make_endpoint(tenant.api, receiver.url)
    receiver.script = [503] * 20
    for i in range(3):
        await customers.create_customer(tenant.scope, {"name": f"C{i}"})
    for _ in range(5):
        _, delivery_id, delay = jobs.pop(0)
        clock.advance(seconds=delay or 0)
        await webhooks.deliver(UUID(delivery_id))
    shown = (await tenant.api.ok(ENDPOINTS))["webhookEndpoints"][0]
    assert shown["enabled"] is False and "5 failed attempts" in shown["disabledReason"]
    alert = await Message.get(tenant_id=tenant.id, template="webhook_disabled")
    assert alert.user_id is not None and "127.0.0.1" in alert.body and "Test Centre" in alert.body
    assert await AuditEvent.filter(chain=str(tenant.id), action="webhook_endpoint.disabled").exists()
    # what was still queued is not sent to a disabled endpoint, and new events make no deliveries
    before = await WebhookDelivery.filter(tenant_id=tenant.id).count()
    await run_jobs(jobs)
    await customers.create_customer(tenant.scope, {"name": "After"})
    assert await WebhookDelivery.filter(tenant_id=tenant.id).count() == before
    assert receiver.accepted == []
    # turned on again by staff: the count restarts
    shown_id = shown["id"]
    on = await tenant.api.ok('mutation($id: ID!) { webhookEndpointUpdate(id: $id, input: {enabled: true}) '
                             '{ endpoint { enabled consecutiveFailures } errors { code } } }', id=shown_id)
    assert on["webhookEndpointUpdate"]["endpoint"] == {"enabled": True, "consecutiveFailures": 0}


async def test_failing_for_days_disables_even_with_few_attempts(tenant, receiver, jobs, clock):
    _, receiver.secret = await make_endpoint(tenant.api, receiver.url)
    receiver.script = [503] * 5
    await customers.create_customer(tenant.scope, {"name": "Slow burn"})
    await webhooks.deliver(UUID(jobs.pop(0)[1]))
    clock.advance(days=get_settings().webhook_disable_after_days, hours=1)
    await customers.create_customer(tenant.scope, {"name": "Days later"})
    await webhooks.deliver(UUID(jobs[-1][1]))
    assert (await WebhookEndpoint.get(tenant_id=tenant.id)).enabled is False


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.0.0.5/hook", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/",
    "ftp://example.com/hook", "http://user:pass@example.com/hook", "not a url",
])
async def test_internal_addresses_and_bad_urls_are_refused(tenant, url):
    made = (await tenant.api.ok(CREATE, input={"url": url}))["webhookEndpointCreate"]
    assert made["endpoint"] is None and made["errors"][0]["field"] == "url", made
    assert made["errors"][0]["code"] == "INVALID"
    assert not await WebhookEndpoint.filter(tenant_id=tenant.id).exists()


async def test_unknown_event_types_are_refused_and_families_accepted(tenant, receiver):
    bad = (await tenant.api.ok(CREATE, input={"url": receiver.url, "eventTypes": ["payment.stolen"]}))["webhookEndpointCreate"]
    assert bad["errors"][0]["field"] == "eventTypes"
    good = (await tenant.api.ok(CREATE, input={"url": receiver.url, "eventTypes": ["privacy_request.*", "message.status_changed"]}))
    assert good["webhookEndpointCreate"]["endpoint"]["eventTypes"] == ["message.status_changed", "privacy_request.*"]
    assert await AuditEvent.filter(chain=str(tenant.id), action="webhook_endpoint.created").exists()


async def test_agents_cannot_manage_endpoints(tenant, receiver):
    agent = await tenant.api_as(Role.AGENT)
    body = await agent(CREATE, input={"url": receiver.url})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_deleted_endpoint_gets_nothing_more(tenant, receiver, jobs):
    endpoint_id, receiver.secret = await make_endpoint(tenant.api, receiver.url)
    gone = await tenant.api.ok('mutation($id: ID!) { webhookEndpointDelete(id: $id) { deletedId errors { code } } }', id=endpoint_id)
    assert gone["webhookEndpointDelete"]["deletedId"] == endpoint_id
    await customers.create_customer(tenant.scope, {"name": "Nobody hears"})
    assert jobs == [] and await WebhookDelivery.filter(tenant_id=tenant.id).count() == 0


async def test_the_sweeper_finds_deliveries_whose_job_was_lost(tenant, receiver, jobs):
    _, receiver.secret = await make_endpoint(tenant.api, receiver.url)
    await customers.create_customer(tenant.scope, {"name": "Lost job"})
    jobs.clear()  # the broker lost it
    assert await webhooks.sweep(utcnow() + timedelta(minutes=5)) >= 1
    ours = {str(i) for i in await WebhookDelivery.filter(tenant_id=tenant.id).values_list("id", flat=True)}
    jobs[:] = [job for job in jobs if job[1] in ours]  # the sweep is instance-wide: other tests' deliveries too
    await run_jobs(jobs)
    assert len(receiver.accepted) == 1


async def test_a_secret_that_cannot_be_opened_fails_the_delivery_unsent(tenant, receiver, jobs):
    endpoint_id, receiver.secret = await make_endpoint(tenant.api, receiver.url)
    await WebhookEndpoint.filter(id=from_global_id(endpoint_id, "WebhookEndpoint")).update(secret="not-a-ciphertext")
    await customers.create_customer(tenant.scope, {"name": "Unsigned"})
    await run_jobs(jobs)  # no exception for the job system to retry forever
    [delivery] = await WebhookDelivery.filter(tenant_id=tenant.id)
    assert delivery.status == "failed" and "secret cannot be opened" in delivery.attempt_log[-1]["error"]
    assert receiver.accepted == [] and jobs == []  # nothing unsigned was sent, and no retry is queued


async def test_tickets_leads_and_conversations_can_be_asked_for_by_name(tenant, receiver, jobs):
    from seva_crm.core.crm import leads, tickets

    types = (await tenant.api.ok("{ webhookEventTypes }"))["webhookEventTypes"]
    assert {"ticket.created", "ticket.updated", "ticket.commented", "lead.created", "lead.updated", "lead.converted",
            "conversation.updated"} <= set(types)
    endpoint_id, receiver.secret = await make_endpoint(tenant.api, receiver.url, ["ticket.*", "lead.converted"])
    customer = await customers.create_customer(tenant.scope, {"name": "Asha Devi", "phone": "9876543219"})
    ticket = await tickets.create_ticket(tenant.scope, customer.id, {"subject": "No internet", "category": "outage"})
    lead = await leads.create_lead(tenant.scope, {"name": "Ravi Kumar", "phone": "9876543218"})  # lead.created: not asked for
    await leads.convert_lead(tenant.scope, lead.id)
    await run_jobs(jobs)
    assert receiver.refused == 0
    assert [(a["type"], a["data"]["id"]) for a in receiver.accepted] == [
        ("ticket.created", str(ticket.id)), ("lead.converted", str(lead.id))]
    text = json.dumps(receiver.accepted)
    for personal in ("Asha", "Ravi", "9876543219", "9876543218", "No internet"):
        assert personal not in text
