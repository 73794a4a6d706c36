"""Assemble the schema from each area's Query and Mutation types and the plugins' contributions."""

from __future__ import annotations

from functools import lru_cache

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.extensions import max_aliases, query_depth_limiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.utils.str_converters import to_camel_case

from seva_crm.core.platform.plugins import PluginError, Plugins, get_plugins
from seva_crm.core.common.settings import Settings, get_settings
from seva_crm.schema.audit import AuditQuery
from seva_crm.schema.billing import BillingMutation, BillingQuery
from seva_crm.schema.billing_settings import BillingSettingsMutation, BillingSettingsQuery
from seva_crm.schema.tax_invoice import TaxMutation
from seva_crm.schema.tenant_profile import TenantProfileMutation
from seva_crm.schema.changes import ChangeQuery
from seva_crm.schema.channels import ChannelMutation, ChannelQuery
from seva_crm.schema.compliance import ComplianceQuery
from seva_crm.schema.customers import CustomerMutation, CustomerQuery
from seva_crm.schema.customer_search import CustomerSearchQuery
from seva_crm.schema.status_rules import StatusRuleMutation, StatusRuleQuery
from seva_crm.schema.tickets import TicketMutation, TicketQuery
from seva_crm.schema.conversations import ConversationMutation, ConversationQuery
from seva_crm.schema.timeline import TimelineMutation, TimelineQuery
from seva_crm.schema.leads import LeadMutation, LeadQuery
from seva_crm.schema.errors import ErrorPolicy, expect_unavailable
from seva_crm.schema.identifiers import IdentifierMutation, IdentifierQuery
from seva_crm.schema.invitations import InvitationMutation, InvitationQuery
from seva_crm.schema.gateway_reviews import GatewayReviewMutation, GatewayReviewQuery
from seva_crm.schema.limits import Limits, PlainStrings, QueryCost
from seva_crm.schema.live import LiveSubscription
from seva_crm.schema.messages import MessageMutation, MessageQuery
from seva_crm.schema.plugins import PluginMutation, PluginQuery
from seva_crm.schema.privacy import PrivacyMutation, PrivacyQuery
from seva_crm.schema.privacy_self import PrivacySelfMutation
from seva_crm.schema.request_log import OperationName
from seva_crm.schema.scalars import SCALAR_MAP
from seva_crm.schema.sessions import SessionMutation, SessionQuery
from seva_crm.schema.staff import StaffMutation, StaffQuery
from seva_crm.schema.tenant_lifecycle import ClosedTenantMutation, TenantExportMutation
from seva_crm.schema.webhooks import WebhookMutation, WebhookQuery

QUERIES = (
    StaffQuery,
    InvitationQuery,
    SessionQuery,
    CustomerQuery,
    MessageQuery,
    BillingQuery,
    PrivacyQuery,
    PluginQuery,
    ChannelQuery,
    GatewayReviewQuery,
    ChangeQuery,
    WebhookQuery,
    AuditQuery,
    IdentifierQuery,
    ComplianceQuery,
    CustomerSearchQuery,
    StatusRuleQuery,
    TicketQuery,
    ConversationQuery,
    TimelineQuery,
    LeadQuery,
    BillingSettingsQuery,
)
MUTATIONS = (
    StaffMutation,
    InvitationMutation,
    SessionMutation,
    CustomerMutation,
    MessageMutation,
    BillingMutation,
    PrivacyMutation,
    PluginMutation,
    ChannelMutation,
    GatewayReviewMutation,
    WebhookMutation,
    TenantExportMutation,
    ClosedTenantMutation,
    IdentifierMutation,
    PrivacySelfMutation,
    StatusRuleMutation,
    TicketMutation,
    ConversationMutation,
    TimelineMutation,
    LeadMutation,
    BillingSettingsMutation,
    TenantProfileMutation,
    TaxMutation,
)


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


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """Strawberry logs every error with the query's text (names, phones, emails written
        inline) and a traceback; ErrorPolicy logs the unexpected ones, the request log the rest."""


def build_schema(plugins: Plugins | None = None, settings: Settings | None = None) -> strawberry.Schema:
    """The schema with the process's plugins (or ``plugins``) and the limits of ``settings``
    (default the process's); built once per set of plugins and limits."""
    return _build(plugins or get_plugins(), Limits.of(settings or get_settings()))


@lru_cache(maxsize=8)
def _build(plugins: Plugins, limits: Limits) -> strawberry.Schema:
    # Built once: the validation cache keys on the rule classes, so per-request rules never hit it.
    rules = [
        query_depth_limiter.create_validator(limits.max_depth, None),
        max_aliases.create_validator(limits.max_aliases),
        PlainStrings,
        *([] if limits.introspection else [NoSchemaIntrospectionCustomRule]),
    ]
    contributions = plugins.provided("seva_graphql")
    queries = [(pid, c.query) for pid, c in contributions if c.query is not None]
    mutations = [(pid, c.mutation) for pid, c in contributions if c.mutation is not None]
    query = _merge("Query", QUERIES, queries)  # before Mutation: a clash names the Query field first
    mutation = _merge("Mutation", MUTATIONS, mutations)
    expect_unavailable(mutation)
    schema = Schema(
        query=query,
        mutation=mutation,
        subscription=LiveSubscription,
        types=[t for _, c in contributions for t in c.types],
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
        extensions=[
            lambda: AddValidationRules(rules),
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: QueryCost(limits.max_cost),
            ErrorPolicy,
            OperationName,
        ],
    )
    schema.validation_rules = tuple(rules)  # the query planner (schema/plan.py) validates with the same rules
    return schema


def print_sdl() -> str:
    return build_schema().as_str() + "\n"
