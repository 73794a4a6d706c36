"""/metrics (Prometheus) moves with real requests, webhooks, jobs and the outbox, parsed with
prometheus_client's own parser; only loopback or the bearer token may scrape; /readyz checks
the database and the broker."""

from __future__ import annotations

import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from seva_crm.core import jobs
from seva_crm.core.common.settings import Settings, get_settings
from seva_crm.core.common.enums import MessageStatus
from seva_crm.core.models import Message
from seva_crm.schema.app import create_app
from seva_crm.testing.client import Api
from tests.jobs_support import REDIS_URL, drain, inprocess_jobs  # noqa: F401 - fixture


async def scrape(api: Api) -> dict[tuple, float]:
    response = await api.http.get("/metrics")
    assert response.status_code == 200, response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_counters_move_with_real_requests(app, tenant):
    scraper = Api(app)  # from 127.0.0.1: allowed without a token
    before = await scrape(scraper)
    await tenant.api.ok("query CustomersPage { customers(first: 5) { totalCount } }")
    refused = await Api(app)("query CustomersPage { customers(first: 5) { totalCount } }")
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    await Api(app)("query Typo { customerz }")
    bad_webhook = await Api(app).http.post("/webhooks/razorpay/nobody", content=b"{}",
                                           headers={"x-razorpay-signature": "0" * 64, "content-type": "application/json"})
    assert bad_webhook.status_code >= 400
    assert (await Api(app).http.get("/no/such/path/abc123")).status_code == 404
    after = await scrape(scraper)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("seva_graphql_operations_total", operation="CustomersPage", outcome="ok") == 1
    assert moved("seva_graphql_operations_total", operation="CustomersPage", outcome="auth_error") == 1
    assert moved("seva_graphql_operations_total", operation="Typo", outcome="user_error") == 1
    assert moved("seva_http_requests_total", method="POST", route="/graphql", status="200") >= 3
    assert moved("seva_http_request_duration_seconds_count", route="/graphql") >= 3
    assert moved("seva_webhook_deliveries_total", plugin="razorpay", outcome=outcome_of(bad_webhook.status_code)) == 1
    assert moved("seva_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert not any("abc123" in str(key) or "customerz" in str(key) for key in after)  # no paths or query text


def outcome_of(status: int) -> str:
    return "auth_error" if status in (401, 403) else "user_error"


async def test_outbox_backlog_is_read_from_the_database(app, tenant):
    scraper = Api(app)
    before = await scrape(scraper)
    await Message.create(tenant_id=tenant.id, channel="sms", purpose="service", template="t", body="b",
                         status=MessageStatus.QUEUED, idempotency_key="metrics-test")
    after = await scrape(scraper)
    assert value(after, "seva_outbox_messages", status="queued") == value(before, "seva_outbox_messages", status="queued") + 1


async def test_job_runs_and_failures_by_actor(app, inprocess_jobs):  # noqa: F811 - fixture
    calls = []

    async def works() -> None:
        calls.append("ok")

    async def fails() -> None:
        raise RuntimeError("boom")

    jobs.job("metrics_test.works")(works)
    jobs.job("metrics_test.fails")(fails)
    before = await scrape(Api(app))
    jobs.enqueue("metrics_test.works")
    jobs.enqueue("metrics_test.fails")
    await drain(inprocess_jobs)
    after = await scrape(Api(app))
    assert value(after, "seva_job_runs_total", actor="metrics_test.works", outcome="ok") \
        - value(before, "seva_job_runs_total", actor="metrics_test.works", outcome="ok") == 1
    assert value(after, "seva_job_runs_total", actor="metrics_test.fails", outcome="failed") \
        - value(before, "seva_job_runs_total", actor="metrics_test.fails", outcome="failed") == 1


async def test_only_loopback_or_the_token_may_scrape(app):
    assert (await Api(app, ip="203.0.113.9").http.get("/metrics")).status_code == 403
    with_token = create_app(Settings(metrics_token="scrape-token-0123456789"), manage_db=False)
    assert (await Api(with_token).http.get("/metrics")).status_code == 403  # loopback is not enough then
    wrong = Api(with_token, token="scrape-token-wrong")
    assert (await wrong.http.get("/metrics")).status_code == 403
    right = Api(with_token, ip="203.0.113.9", token="scrape-token-0123456789")
    assert (await right.http.get("/metrics")).status_code == 200


async def test_readiness_checks_the_database_and_the_broker(app):
    ready = await Api(app).http.get("/readyz")
    assert ready.json() == {"status": "ok", "database": "ok"}
    unreachable = create_app(Settings(broker_url="redis://127.0.0.1:1/0"), manage_db=False, run_jobs=False)
    response = await Api(unreachable).http.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unreachable"}


@pytest.mark.skipif(not REDIS_URL, reason="SEVA_TEST_REDIS_URL is not set")
async def test_readiness_with_a_real_redis(app):
    live = create_app(Settings(broker_url=REDIS_URL), manage_db=False, run_jobs=False)
    response = await Api(live).http.get("/readyz")
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.skipif(not REDIS_URL, reason="SEVA_TEST_REDIS_URL is not set")
def test_a_worker_serves_its_job_metrics_on_loopback(tmp_path):
    import subprocess
    import time

    import httpx

    from tests.server_support import ROOT, free_port, seva_env

    port = free_port()
    env = seva_env(tmp_path, SEVA_BROKER_URL=REDIS_URL, SEVA_DATABASE_URL=get_settings().db_url)
    worker = subprocess.Popen([sys.executable, "-m", "seva_crm", "worker", "--threads", "1", "--metrics-port", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
                break
            except httpx.TransportError:
                assert worker.poll() is None
                time.sleep(0.1)
        families = {f.name for f in text_string_to_metric_families(body)}
        assert {"seva_job_runs", "seva_job_duration_seconds"} <= families
    finally:
        worker.terminate()
        worker.wait(timeout=30)
