"""The sslcommerz plugin's hook implementations (the ``seva`` entry point names this module)."""

from __future__ import annotations

from seva_crm.plugin_api import JOB_QUEUE, PluginManifest, ScheduledJob, hookimpl
from seva_crm.plugins.sslcommerz.settings import SslcommerzInstanceSettings, SslcommerzSettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(id="sslcommerz", name="SSLCommerz", version="0.1.0",
                          description="Invoice payments (cards, mobile and internet banking) and refunds through SSLCommerz "
                                      "(Bangladesh, BDT)",
                          settings_model=SslcommerzSettings, instance_settings=SslcommerzInstanceSettings)


@hookimpl
def seva_payment_gateways():
    from seva_crm.plugins.sslcommerz.adapter import SslcommerzGateway

    return [SslcommerzGateway()]


@hookimpl
def seva_webhook_routes():
    from seva_crm.plugins.sslcommerz.webhooks import routes

    return routes()


@hookimpl
def seva_actors(broker) -> None:
    import dramatiq

    from seva_crm.plugins.sslcommerz.webhooks import PROCESS_JOB, REFUNDS_JOB, SWEEP_JOB, poll_refunds, process_job, sweep_job

    async def refunds_job() -> None:
        await poll_refunds()

    # retries are the jobs' own (bounded, with delays they choose), so dramatiq's are off
    dramatiq.actor(process_job, broker=broker, actor_name=PROCESS_JOB, queue_name=JOB_QUEUE, max_retries=0)
    dramatiq.actor(sweep_job, broker=broker, actor_name=SWEEP_JOB, queue_name=JOB_QUEUE, max_retries=0)
    dramatiq.actor(refunds_job, broker=broker, actor_name=REFUNDS_JOB, queue_name=JOB_QUEUE, max_retries=0)


@hookimpl
def seva_scheduled_jobs():
    from seva_crm.plugins.sslcommerz.webhooks import REFUNDS_JOB, SWEEP_JOB

    return [ScheduledJob(SWEEP_JOB, every_seconds=300, actor_name=SWEEP_JOB),
            ScheduledJob(REFUNDS_JOB, every_seconds=600, actor_name=REFUNDS_JOB)]
