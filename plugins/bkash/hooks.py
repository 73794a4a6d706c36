"""The bkash plugin's hook implementations (the ``seva`` entry point names this module)."""

from __future__ import annotations

from seva_crm.plugin_api import JOB_QUEUE, PluginManifest, ScheduledJob, hookimpl
from seva_crm.plugins.bkash.settings import BkashInstanceSettings, BkashSettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(id="bkash", name="bKash", version="0.1.0",
                          description="Invoice payments and refunds through bKash tokenized checkout (Bangladesh, BDT)",
                          settings_model=BkashSettings, instance_settings=BkashInstanceSettings)


@hookimpl
def seva_payment_gateways():
    from seva_crm.plugins.bkash.adapter import BkashGateway

    return [BkashGateway()]


@hookimpl
def seva_webhook_routes():
    from seva_crm.plugins.bkash.webhooks import routes

    return routes()


@hookimpl
def seva_actors(broker) -> None:
    import dramatiq

    from seva_crm.plugins.bkash.webhooks import PROCESS_JOB, SWEEP_JOB, process_job, sweep_job

    # retries are the job's own (bounded, with delays it chooses), so dramatiq's are off
    dramatiq.actor(process_job, broker=broker, actor_name=PROCESS_JOB, queue_name=JOB_QUEUE, max_retries=0)
    dramatiq.actor(sweep_job, broker=broker, actor_name=SWEEP_JOB, queue_name=JOB_QUEUE, max_retries=0)


@hookimpl
def seva_scheduled_jobs():
    from seva_crm.plugins.bkash.webhooks import SWEEP_JOB

    return [ScheduledJob(SWEEP_JOB, every_seconds=300, actor_name=SWEEP_JOB)]
