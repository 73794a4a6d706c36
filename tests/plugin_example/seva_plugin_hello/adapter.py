"""The ``hello`` notification channel: a text message through the tenant's Hello SMS account."""

from __future__ import annotations

from seva_crm.plugin_api import OutgoingMessage, Recipient, SendResult, instance_settings
from seva_plugin_hello.client import send_sms
from seva_plugin_hello.settings import HelloSettings


class HelloChannel:
    name = "hello"  # the channel's id: customers' preferredChannel, the tenant's channel order
    kind = "sms"  # an SMS channel: the customer's consent for SMS covers it, a STOP withdraws it

    def can_reach(self, recipient: Recipient) -> bool:
        return bool(recipient.phone)

    async def send(self, message: OutgoingMessage, settings: HelloSettings) -> SendResult:
        provider_id = await send_sms(instance_settings("hello").base_url, settings.api_key.get_secret_value(),
                                     to=message.recipient.phone, text=message.body, reference=message.idempotency_key)
        return SendResult(provider_id)  # delivery reports find the message by this id


channel = HelloChannel()
