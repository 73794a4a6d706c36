"""What a resolver's own selection asks for further down, so a parent can load for its children."""

from __future__ import annotations

from typing import Any

from graphql import (FieldNode, FragmentSpreadNode, GraphQLField, GraphQLIncludeDirective, GraphQLResolveInfo,
                     GraphQLSkipDirective, SelectionSetNode)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values


def nested_arguments(info: GraphQLResolveInfo, path: tuple[str, ...], definition: GraphQLField) -> list[dict[str, Any]]:
    """The coerced arguments (defaults applied) of each field at ``path`` under the field being
    resolved (aliases, fragments and ``@skip``/``@include`` as execution sees them);
    ``definition``: the last field's."""
    variables = VariableValues({}, info.variable_values)  # Strawberry's info holds only the coerced values
    nodes: list[FieldNode] = list(info.field_nodes)
    for name in path:
        nodes = _named(info, variables, [n.selection_set for n in nodes], name)
    return [get_argument_values(definition, node, variables) for node in nodes]


def _named(info: GraphQLResolveInfo, variables: VariableValues, selection_sets: list[SelectionSetNode | None],
           name: str) -> list[FieldNode]:
    found: list[FieldNode] = []
    for selection in (s for ss in selection_sets if ss for s in ss.selections):
        skip = get_directive_values(GraphQLSkipDirective, selection, variables)
        include = get_directive_values(GraphQLIncludeDirective, selection, variables)
        if (skip and skip["if"]) or (include and not include["if"]):
            continue
        if isinstance(selection, FieldNode):
            if selection.name.value == name:
                found.append(selection)
        elif isinstance(selection, FragmentSpreadNode):
            found += _named(info, variables, [info.fragments[selection.name.value].selection_set], name)
        else:
            found += _named(info, variables, [selection.selection_set], name)
    return found
