"""The outbox as staff see it, and sending a template to a customer."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry import Info
from strawberry.scalars import JSON

from seva_crm.core.messaging import messages, sealed, templates
from seva_crm.core.common.enums import Role as CoreRole
from seva_crm.core.common.ids import to_global_id
from seva_crm.core.models import Message as MessageRow
from seva_crm.schema.customers import Customer, customer_id
from seva_crm.schema.enums import MessageOrder, MessagePurpose, MessageStatus
from seva_crm.schema.errors import UserError, payload
from seva_crm.schema.permissions import needs
from seva_crm.schema.relay import Connection, connection


@strawberry.type(description="An outbound notification: a row in the outbox, then a send through a channel.")
class Message:
    @strawberry.field
    def id(self: MessageRow) -> strawberry.ID:
        return strawberry.ID(to_global_id("Message", self.id))

    purpose: MessagePurpose
    template: str

    @strawberry.field(description="The text sent. A message holding a data subject's secret shows only what it is "
                      "(\"verification code\", \"export link\"), to every role.")
    def body(self: MessageRow) -> str:
        return sealed.label(self.secret) if self.secret else self.body

    channel: str | None = strawberry.field(description="The channel it went through, or is being tried")
    channels_tried: list[str] = strawberry.field(description="Channels that could not reach the customer")
    status: MessageStatus
    attempts: int
    last_error: str = strawberry.field(description="Why the last attempt failed (empty when none did)")
    next_attempt_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field
    async def customer(self: MessageRow, info: Info) -> Customer | None:
        return await info.context.loaders.customer.load(self.customer_id) if self.customer_id else None


@strawberry.type
class MessageSendPayload:
    message: Message | None
    errors: list[UserError]


@strawberry.type(description="A binding of a template to a channel's provider, in one language.")
class TemplateBinding:
    channel: str
    language: str
    binding: JSON = strawberry.field(description="whatsapp: {name, language, parameters}; sms: {dlt_template_id, text, variables}")


@strawberry.type(description="A template's text in one language, with {variables}.")
class TemplateText:
    language: str
    text: str


@strawberry.type(description="A message template: the tenant's own, or a built-in default it has not overridden.")
class MessageTemplate:
    key: str
    purpose: MessagePurpose
    built_in: bool = strawberry.field(description="A built-in default (the tenant has not overridden this key)")
    variables: list[str]
    texts: list[TemplateText]
    bindings: list[TemplateBinding]


def template_view(t: templates.Template) -> MessageTemplate:
    return MessageTemplate(
        key=t.key, purpose=MessagePurpose(t.purpose.value), built_in=t.builtin, variables=t.variables,
        texts=[TemplateText(language=lang, text=text) for lang, text in sorted(t.texts.items())],
        bindings=[TemplateBinding(channel=ch, language=lang, binding=b)
                  for ch, by_lang in sorted(t.bindings.items()) for lang, b in sorted(by_lang.items())],
    )


@strawberry.input
class TemplateTextInput:
    language: str
    text: str


@strawberry.input
class TemplateBindingInput:
    channel: str
    language: str
    binding: JSON


@strawberry.input(description="The whole of a tenant's version of a template (it replaces any earlier one).")
class MessageTemplateInput:
    key: str
    purpose: MessagePurpose
    texts: list[TemplateTextInput]
    bindings: list[TemplateBindingInput] = strawberry.field(default_factory=list)


@strawberry.type
class MessageTemplateUpsertPayload:
    template: MessageTemplate | None
    errors: list[UserError]


@strawberry.type
class MessageQuery:
    @strawberry.field(permission_classes=needs(CoreRole.VIEWER),
                      description="The templates this tenant can send: its own and the built-in defaults, by key.")
    async def message_templates(self, info: Info) -> list[MessageTemplate]:
        return [template_view(t) for t in await templates.list_templates(info.context.tenant.id)]

    @strawberry.field(permission_classes=needs(CoreRole.VIEWER), description="The outbox, newest first by default.")
    async def messages(
        self, info: Info, customer: strawberry.ID | None = None, status: list[MessageStatus] | None = None,
        channel: str | None = None, order_by: MessageOrder = MessageOrder.CREATED_AT_DESC,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[Message]:
        f = messages.MessageFilter(statuses=list(status or []), channel=channel)
        if customer is not None:
            # an unknown or foreign id matches nothing, exactly as if it did not exist
            f.customer_id = customer_id(customer) or UUID(int=0)
        qs = messages.message_queryset(info.context.tenant.id, f)
        return await connection(qs, messages.SORTS[order_by.value], first, after, last, before)


@strawberry.type
class MessageMutation:
    @strawberry.mutation(
        permission_classes=needs(CoreRole.AGENT),
        description="Send a template to a customer through the outbox. Variables fill the template's {names}; "
        "{name} defaults to the customer's name. A marketing message goes only where the customer consented.",
    )
    async def message_send(
        self, info: Info, customer: strawberry.ID, template: str, variables: JSON | None = None,
        purpose: MessagePurpose | None = None,
    ) -> MessageSendPayload:
        work = messages.send_template(info.context.tenant, customer_id(customer), template, variables, purpose)
        return await payload(MessageSendPayload, "message", work)

    @strawberry.mutation(
        permission_classes=needs(CoreRole.ADMIN),
        description="Create or replace the tenant's version of a template: texts per language (English required, "
        "every language with the same {variables}) and provider bindings per channel and language.",
    )
    async def message_template_upsert(self, info: Info, input: MessageTemplateInput) -> MessageTemplateUpsertPayload:
        async def work() -> MessageTemplate:
            texts = {t.language.strip().lower(): t.text for t in input.texts}
            bindings: dict = {}
            for b in input.bindings:
                bindings.setdefault(b.channel.strip().lower(), {})[b.language.strip().lower()] = b.binding
            return template_view(await templates.upsert_template(
                info.context.tenant.id, input.key, input.purpose.value, texts, bindings))
        return await payload(MessageTemplateUpsertPayload, "template", work())
