"""WhatsApp Business Cloud API: the ``whatsapp`` notification channel (templates, free text in
the 24-hour window, documented errors), webhooks (verification, statuses, inbound messages,
marketing opt-out) and a local fake Cloud API for tests.

Modules: hooks (the hook implementations), settings, adapter (the channel), client (async
httpx), errors (what each Cloud API code means), optout (STOP/START keywords), webhooks, fake."""
