"""Assemble the schema from each area's Query and Mutation types and the plugins' contributions."""

from __future__ import annotations

from functools import lru_cache

import strawberry
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.extensions import max_aliases, query_depth_limiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.utils.str_converters import to_camel_case

from seva_crm.core.platform.plugins import PluginError, Plugins, get_plugins
from seva_crm.core.common.settings import get_settings
from seva_crm.schema.billing import BillingMutation, BillingQuery
from seva_crm.schema.customers import CustomerMutation, CustomerQuery
from seva_crm.schema.errors import ErrorPolicy
from seva_crm.schema.messages import MessageMutation, MessageQuery
from seva_crm.schema.plugins import PluginMutation, PluginQuery
from seva_crm.schema.privacy import PrivacyMutation, PrivacyQuery
from seva_crm.schema.scalars import SCALAR_MAP
from seva_crm.schema.sessions import SessionMutation, SessionQuery
from seva_crm.schema.staff import StaffMutation, StaffQuery

QUERIES = (StaffQuery, SessionQuery, CustomerQuery, MessageQuery, BillingQuery, PrivacyQuery, PluginQuery)
MUTATIONS = (StaffMutation, SessionMutation, CustomerMutation, MessageMutation, BillingMutation, PrivacyMutation, PluginMutation)


def _field_names(cls: type) -> list[str]:
    return [f.graphql_name or to_camel_case(f.python_name) for f in cls.__strawberry_definition__.fields]


def _merge(root: str, core: tuple[type, ...], contributed: list[tuple[str, type]]) -> type:
    """One root type from core's and the plugins' types; a field defined twice is a PluginError
    naming both owners."""
    owners: dict[str, str] = {}
    for owner, cls in [("core", c) for c in core] + [(f"plugin {pid!r}", c) for pid, c in contributed]:
        for name in _field_names(cls):
            if name in owners:
                raise PluginError(f"{root}.{name} is defined by both {owners[name]} and {owner}: "
                                  "rename the field in one of them (or deny one plugin with SEVA_PLUGINS)")
            owners[name] = owner
    return merge_types(root, (*core, *(cls for _, cls in contributed)))


def build_schema(plugins: Plugins | None = None) -> strawberry.Schema:
    """The schema with the process's plugins (or ``plugins``); built once per set of plugins."""
    return _build(plugins or get_plugins())


@lru_cache(maxsize=8)
def _build(plugins: Plugins) -> strawberry.Schema:
    settings = get_settings()
    # Built once: the validation cache keys on the rule classes, so per-request rules never hit it.
    limits = [
        query_depth_limiter.create_validator(settings.max_query_depth, None),
        max_aliases.create_validator(settings.max_aliases),
    ]
    contributions = plugins.provided("seva_graphql")
    queries = [(pid, c.query) for pid, c in contributions if c.query is not None]
    mutations = [(pid, c.mutation) for pid, c in contributions if c.mutation is not None]
    return strawberry.Schema(
        query=_merge("Query", QUERIES, queries),
        mutation=_merge("Mutation", MUTATIONS, mutations),
        types=[t for _, c in contributions for t in c.types],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
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
