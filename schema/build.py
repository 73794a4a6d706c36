"""Assemble the schema from each area's Query and Mutation types."""

from __future__ import annotations

from functools import lru_cache

import strawberry
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.extensions import max_aliases, query_depth_limiter
from strawberry.tools import merge_types

from core.settings import get_settings
from schema.customers import CustomerMutation, CustomerQuery
from schema.errors import ErrorPolicy
from schema.staff import StaffMutation, StaffQuery

QUERIES = (StaffQuery, CustomerQuery)
MUTATIONS = (StaffMutation, CustomerMutation)


@lru_cache(maxsize=1)
def build_schema() -> strawberry.Schema:
    settings = get_settings()
    # Built once: the validation cache keys on the rule classes, so per-request rules never hit it.
    limits = [
        query_depth_limiter.create_validator(settings.max_query_depth, None),
        max_aliases.create_validator(settings.max_aliases),
    ]
    return strawberry.Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        extensions=[
            lambda: AddValidationRules(limits),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            ErrorPolicy,
        ],
    )


def print_sdl() -> str:
    return build_schema().as_str() + "\n"
