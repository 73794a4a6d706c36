"""Limits and input rules of the GraphQL endpoint (docs/limits.md), beside the depth, alias and
token limits of ``schema.build``:

- the document's size in bytes, comments included (``SEVA_MAX_QUERY_BYTES``), and the
  variables' size as JSON (``SEVA_MAX_VARIABLES_BYTES``), checked before parsing;
- strings in variables and in the document's literals: no NUL, other C0 controls, lone
  surrogates or U+FFFE/U+FFFF (``core.common.text``). A bad string is a top-level error
  ``BAD_USER_INPUT`` whose ``field`` names the argument path (``customerCreate.input.name``,
  or ``$input.name`` for a variable); the operation does not run;
- the estimated cost of the operation (``SEVA_MAX_QUERY_COST``);
- introspection, off in production unless ``SEVA_INTROSPECTION=true``.

A refused limit is a top-level error with ``extensions.code = LIMIT_EXCEEDED`` and ``limit``
naming it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLInterfaceType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationRule,
    VariableDefinitionNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    validate,
)
from strawberry.extensions import SchemaExtension

from seva_crm.core.common.paging import DEFAULT_PAGE_SIZE
from seva_crm.core.common.settings import Settings
from seva_crm.core.common.text import find_invalid, invalid_char


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_tokens: int
    max_cost: int
    max_query_bytes: int
    max_variables_bytes: int
    introspection: bool

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.max_query_depth, settings.max_aliases, settings.max_tokens, settings.max_query_cost,
                   settings.max_query_bytes, settings.max_variables_bytes, settings.introspection_enabled)


def limit_exceeded(limit: str, message: str, maximum: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "LIMIT_EXCEEDED", "limit": limit, "max": maximum})


def bad_string(field: str, char: str) -> GraphQLError:
    return GraphQLError(f"{field} holds a character that is not allowed ({char}): remove control characters",
                        extensions={"code": "BAD_USER_INPUT", "field": field, "reason": "invalid"})


def check_request(query: str | None, variables: dict[str, Any] | None, limits: Limits) -> GraphQLError | None:
    """The checks on a request before its document is parsed; the first failure, or None."""
    if query is not None and len(query.encode("utf-8", "surrogatepass")) > limits.max_query_bytes:
        return limit_exceeded("queryBytes", f"the query is larger than {limits.max_query_bytes} bytes (comments count)",
                              limits.max_query_bytes)
    if variables:
        size = len(json.dumps(variables, ensure_ascii=False, default=lambda upload: None).encode("utf-8", "surrogatepass"))
        if size > limits.max_variables_bytes:  # an uploaded file counts as null: SEVA_MAX_BODY_BYTES bounds it
            return limit_exceeded("variablesBytes", f"the variables are larger than {limits.max_variables_bytes} bytes "
                                  "(send a large CSV as a file upload)", limits.max_variables_bytes)
        if (found := find_invalid(variables)) is not None:
            path, char = found
            return bad_string(f"${path}", char)
    return None


class PlainStrings(ValidationRule):
    """String literals in the document follow the same rule as variables."""

    def enter_string_value(self, node: StringValueNode, _key, parent, _path, ancestors) -> None:
        if (char := invalid_char(node.value)) is not None:
            self.report_error(bad_string(_literal_path([*ancestors, parent]), char))


def _literal_path(ancestors: list) -> str:
    names = []
    for node in ancestors:
        if isinstance(node, FieldNode):
            names.append((node.alias or node.name).value)
        elif isinstance(node, (ArgumentNode, ObjectFieldNode)):
            names.append(node.name.value)
        elif isinstance(node, DirectiveNode):
            names.append(f"@{node.name.value}")
        elif isinstance(node, VariableDefinitionNode):
            names.append(f"${node.variable.name.value}")
    return ".".join(names) or "query"


# --- cost ---------------------------------------------------------------------------------


def estimate_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                  variables: dict[str, Any]) -> int:
    """How many fields the operation resolves, estimated: every field counts once for each
    time it resolves. A field with ``first``/``last`` resolves its list (``edges``, ``nodes``)
    that many times (the argument's default, or the default page size, when absent); any other
    list of objects counts as a default page. Introspection fields count once."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    if len(chosen) != 1:
        return 0  # execution answers the ambiguity
    operation = chosen[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    defaults = {v.variable.name.value: v.default_value for v in operation.variable_definitions or ()}
    return _Cost(schema, fragments, variables, defaults).selection(operation.selection_set, root, 1, None)


class _Cost:
    def __init__(self, schema, fragments, variables, defaults) -> None:
        self.schema, self.fragments, self.variables, self.defaults = schema, fragments, variables, defaults

    def fields(self, selection_set: SelectionSetNode, parent: GraphQLNamedType) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                condition = self.schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                yield from self.fields(selection.selection_set, condition or parent)
            elif isinstance(selection, FragmentSpreadNode) and (fragment := self.fragments.get(selection.name.value)):
                yield from self.fields(fragment.selection_set, self.schema.get_type(fragment.type_condition.name.value) or parent)

    def selection(self, selection_set: SelectionSetNode, parent: GraphQLNamedType, count: int, page: int | None) -> int:
        total = 0
        for node, owner in self.fields(selection_set, parent):
            total += count
            name = node.name.value
            if name.startswith("__") or not node.selection_set or not isinstance(owner, (GraphQLObjectType, GraphQLInterfaceType)):
                continue
            definition = owner.fields.get(name)
            if definition is None:
                continue
            child = get_named_type(definition.type)
            if "first" in definition.args or "last" in definition.args:
                size = self.page_size(node, definition)
                total += self.selection(node.selection_set, child, count, size)
            elif isinstance(get_nullable_type(definition.type), GraphQLList):
                total += self.selection(node.selection_set, child, count * (page or DEFAULT_PAGE_SIZE), None)
            else:
                total += self.selection(node.selection_set, child, count, None)
        return total

    def page_size(self, node: FieldNode, definition) -> int:
        given = {a.name.value: a.value for a in node.arguments or ()}
        for name in ("first", "last"):
            if name not in definition.args:
                continue
            value = self.value(given[name]) if name in given else definition.args[name].default_value
            if isinstance(value, int) and not isinstance(value, bool):
                return max(value, 0)
        return DEFAULT_PAGE_SIZE

    def value(self, node) -> Any:
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                return self.variables[name]
            default = self.defaults.get(name)
            return int(default.value) if isinstance(default, IntValueNode) else None
        return None


class QueryCost(SchemaExtension):
    """Refuses an operation whose estimated cost is above the limit, after validation (it needs
    a valid document) and before execution. Listed after ValidationCache."""

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None:
            context.pre_execution_errors = validate(context.schema._schema, context.graphql_document, context.validation_rules)
        if not context.pre_execution_errors:
            try:
                name = context.operation_name
            except RuntimeError:
                name = None
            cost = estimate_cost(context.schema._schema, context.graphql_document, name, context.variables or {})
            if cost > self.max_cost:
                context.pre_execution_errors = [limit_exceeded(
                    "queryCost", f"the query would resolve about {cost} fields, more than {self.max_cost}: "
                    "ask for smaller pages (first/last) or fewer nested lists", self.max_cost)]
        yield
