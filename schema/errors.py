"""How failures reach a client: expected ones as ``errors`` in a mutation payload, the rest as
top-level GraphQL errors; unexpected exceptions are masked and logged with the request id."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Any, TypeVar

import dataclasses

import strawberry
from graphql import GraphQLError
from strawberry.extensions import FieldExtension, MaskErrors

from seva_crm.core.common.errors import DomainError, ErrorCode, Forbidden
from seva_crm.core.common.logs import log_event
from seva_crm.core.messaging.notify import NoChannel

log = logging.getLogger("seva.api")
request_id: ContextVar[str] = ContextVar("request_id", default="-")

ErrorCodeEnum = strawberry.enum(ErrorCode, name="ErrorCode")


@strawberry.type(description="An expected failure of a mutation, naming the input field at fault.")
class UserError:
    field: str | None
    code: ErrorCodeEnum
    message: str


def user_errors(exc: DomainError) -> list[UserError]:
    return [UserError(field=e.field, code=e.code, message=e.message) for e in exc.errors]


P = TypeVar("P")


async def payload(cls: type[P], key: str, work: Awaitable[Any]) -> P:
    """Run a service call for a mutation; its DomainError becomes the payload's ``errors``."""
    try:
        return cls(**{key: await work, "errors": []})
    except DomainError as exc:
        return cls(**{key: None, "errors": user_errors(exc)})


class UnavailableAsPayloadError(FieldExtension):
    """On a mutation whose payload has ``errors``: a service that cannot deliver (no SMTP server,
    no SMS channel: ``NoChannel``) is a payload error ``UNAVAILABLE``, not INTERNAL. The payload's
    other fields are null (false for a flag such as ``ok``)."""

    def __init__(self, payload_type: type) -> None:
        self.payload_type = payload_type

    async def resolve_async(self, next_, source, info, **kwargs):
        try:
            return await next_(source, info, **kwargs)
        except NoChannel as exc:
            values = {f.name: False if f.type in (bool, "bool") else None for f in dataclasses.fields(self.payload_type)}
            values["errors"] = [UserError(field=None, code=ErrorCode.UNAVAILABLE, message=str(exc))]
            return self.payload_type(**values)


def expect_unavailable(mutation: type) -> None:
    """Add UnavailableAsPayloadError to every mutation of ``mutation`` whose payload has ``errors``."""
    for field in mutation.__strawberry_definition__.fields:
        payload_type = field.type
        names = {f.name for f in dataclasses.fields(payload_type)} if dataclasses.is_dataclass(payload_type) else set()
        if "errors" in names and not any(isinstance(e, UnavailableAsPayloadError) for e in field.extensions):
            field.extensions.append(UnavailableAsPayloadError(payload_type))


def _is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, (GraphQLError, DomainError, Forbidden))


class ErrorPolicy(MaskErrors):
    """Masks unexpected errors (logging them with the request id) and gives expected ones a code."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected, error_message="Internal server error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        rid = request_id.get()
        log_event(log, logging.ERROR, "unexpected_error", exc_info=error.original_error, request_id=rid,
                  field=".".join(map(str, error.path or [])) or "-")
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL", "requestId": rid}
        return masked

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        for error in errors:
            original = error.original_error
            if isinstance(original, DomainError):
                first = original.errors[0]
                error.extensions = {"code": "BAD_USER_INPUT", "field": first.field, "reason": first.code.value}
            elif isinstance(original, Forbidden):
                error.extensions = {"code": "FORBIDDEN"}
        return super()._process_errors(errors)
