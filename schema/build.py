"""Assemble the schema from each area's Query and Mutation types."""

from __future__ import annotations

from functools import lru_cache

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, ParserCache, QueryDepthLimiter, ValidationCache
from strawberry.tools import merge_types

from core.settings import get_settings
from schema.customers import CustomerMutation, CustomerQuery
from schema.errors import ErrorPolicy
from schema.messages import MessageMutation, MessageQuery
from schema.staff import StaffMutation, StaffQuery

QUERIES = (StaffQuery, CustomerQuery, MessageQuery)
MUTATIONS = (StaffMutation, CustomerMutation, MessageMutation)


@lru_cache(maxsize=1)
def build_schema() -> strawberry.Schema:
    settings = get_settings()
    return strawberry.Schema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        extensions=[
            lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            ErrorPolicy,
        ],
    )


def print_sdl() -> str:
    return build_schema().as_str() + "\n"
