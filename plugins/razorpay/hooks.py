"""The razorpay plugin's hook implementations (the ``seva`` entry point names this module)."""

from __future__ import annotations

from seva_crm.plugin_api import JOB_QUEUE, GraphQLContribution, PluginManifest, ScheduledJob, hookimpl
from seva_crm.plugins.razorpay.settings import RazorpayInstanceSettings, RazorpaySettings


@hookimpl
def seva_manifest() -> PluginManifest:
    return PluginManifest(id="razorpay", name="Razorpay", version="0.1.0",
                          description="Payment links, Checkout, refunds and auto-debit through Razorpay (India)",
                          settings_model=RazorpaySettings, instance_settings=RazorpayInstanceSettings,
                          processing_countries=("IN",))


@hookimpl
def seva_payment_gateways():
    from seva_crm.plugins.razorpay.adapter import RazorpayGateway

    return [RazorpayGateway()]


@hookimpl
def seva_webhook_routes():
    from seva_crm.plugins.razorpay.webhooks import routes

    return routes()


@hookimpl
def seva_actors(broker) -> None:
    import dramatiq

    from seva_crm.plugins.razorpay.webhooks import PROCESS_JOB, SWEEP_JOB, process_job, sweep_job

    # retries are the job's own (bounded, with delays it chooses), so dramatiq's are off
    dramatiq.actor(process_job, broker=broker, actor_name=PROCESS_JOB, queue_name=JOB_QUEUE, max_retries=0)
    dramatiq.actor(sweep_job, broker=broker, actor_name=SWEEP_JOB, queue_name=JOB_QUEUE, max_retries=0)


@hookimpl
def seva_scheduled_jobs():
    from seva_crm.plugins.razorpay.webhooks import SWEEP_JOB

    return [ScheduledJob(SWEEP_JOB, every_seconds=300, actor_name=SWEEP_JOB)]


@hookimpl
def seva_graphql() -> GraphQLContribution:
    from seva_crm.plugins.razorpay.graphql import RazorpayMutation

    return GraphQLContribution(mutation=RazorpayMutation)
