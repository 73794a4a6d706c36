"""How failures reach a client: expected ones as ``errors`` in a mutation payload, the rest as
top-level GraphQL errors; unexpected exceptions are masked and logged with the request id."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from seva_crm.core.common.errors import DomainError, ErrorCode, Forbidden
from seva_crm.core.common.logs import log_event

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
