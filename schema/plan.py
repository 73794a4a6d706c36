"""Query plans: a validated operation compiled once, executed without re-walking the schema.

graphql-core executes an operation by walking its selection set against the schema for every
object of every request: collecting fields, looking up definitions, building an info object
and calling a resolver per field, even for a plain attribute. On a page of 50 customers with
their records that is about 2,000 field resolutions, more CPU than the rest of the request.

Here a query document is parsed, validated (with the schema's rules: depth, aliases, tokens,
plain strings) and cost-checked once per (document, operation name), then compiled into a plan:
per selected field its response key, how its value is got (an attribute read, a resolver that
needs only its parent called directly, or the field's real resolver: the one graphql-core
calls, with permission checks, field extensions and argument conversion, given a real info
object), its type's serializer, nullability and sub-plan; each object's plan is then compiled
into a Python function (``compile_object``), so a request does no per-field dispatch for the
common fields. Executing the plan runs the root's function; every awaitable resolver result of
a level is awaited together (``_settle``), so DataLoaders batch as they do under graphql-core.
Errors follow graphql-core's rules (located errors, null propagation to the nearest nullable
position, errors under a nulled position dropped) and go through the schema's ErrorPolicy.

Anything the planner does not compile (mutations, subscriptions, introspection, abstract types,
``@skip``/``@include`` on variables, a document with errors, variables that do not coerce, a
cost above the limit) returns ``None``: the caller runs the standard execution, whose answers
(errors included) are then the ones the client gets. ``tests/test_plan.py`` checks both give
the same JSON.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
from enum import Enum
from types import GeneratorType
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_operation_ast,
    is_leaf_type,
    located_error,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import get_argument_values
from graphql.type.scalars import (GRAPHQL_MAX_INT, GRAPHQL_MIN_INT, serialize_boolean, serialize_id, serialize_int,
                                  serialize_string)
from graphql.language import BooleanValueNode
from graphql.pyutils import Path, Undefined, inspect, is_awaitable, is_iterable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionResult
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryOptional
from strawberry.types.graphql import OperationType as AllowedType
from tortoise.models import Model

from seva_crm.schema.limits import Limits, estimate_cost

CACHE_SIZE = 256
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")


class Unsupported(Exception):
    """The planner does not compile this operation: the standard execution runs it."""


# How a field's value is got: an attribute read, the resolver called with its parent (and an
# Info), the field's real resolver (graphql-core's), the type's name.
ATTR, CALL, CALL_INFO, RESOLVE, TYPENAME = range(5)
# What a value completes as.
LEAF, OBJECT, LIST = range(3)


class Completion:
    """How a value of one output type is completed: its kind, whether null is allowed, the leaf's
    serializer, the object's plan or the list's item completion."""

    __slots__ = ("kind", "nullable", "coerce", "type", "plan", "item")

    def __init__(self, kind: int, nullable: bool, type_: Any, coerce=None, plan=None, item=None) -> None:
        self.kind, self.nullable, self.type, self.coerce, self.plan, self.item = kind, nullable, type_, coerce, plan, item


class FieldPlan:
    __slots__ = ("key", "name", "how", "attr", "func", "definition", "nodes", "completion", "nullable",
                 "parent_name", "has_args", "args", "field")

    def __init__(self, key: str, name: str, nodes: list[FieldNode]) -> None:
        self.key, self.name, self.nodes = key, name, nodes
        self.how, self.attr, self.func, self.definition, self.completion = TYPENAME, None, None, None, None
        self.nullable, self.parent_name, self.has_args, self.args, self.field = True, "", False, None, None


class ObjectPlan:
    """An object's fields, and ``run``: the function compiled from them (``compile_object``)."""

    __slots__ = ("type", "name", "fields", "run")

    def __init__(self, type_: GraphQLObjectType) -> None:
        self.type, self.name, self.fields, self.run = type_, type_.name, [], None


class Operation:
    """A compiled operation: the parsed document, the operation, its root plan and (when it has
    no variables) its cost, checked once."""

    __slots__ = ("document", "operation", "name", "root", "cost_per_request")

    def __init__(self, document: DocumentNode, operation: OperationDefinitionNode, root: ObjectPlan,
                 cost_per_request: bool) -> None:
        self.document, self.operation, self.root, self.cost_per_request = document, operation, root, cost_per_request
        self.name = operation.name.value if operation.name else None


class Planner:
    """Compiles and runs query plans for one schema; ``mode``: ``auto`` plans a document once
    it has been asked ``warm`` times, ``always`` from its first request, ``off`` never."""

    def __init__(self, schema: strawberry.Schema, limits: Limits, rules: Iterable[type], mode: str = "auto",
                 warm: int = 2) -> None:
        self.schema, self.gschema, self.limits, self.mode, self.warm = schema, schema._schema, limits, mode, warm
        self.rules = (*specified_rules, *rules, MaybeNullValidationRule, OneOfInputValidationRule)
        self.cache: OrderedDict[tuple[str, str | None], Operation | None] = OrderedDict()
        self.seen: dict[tuple[str, str | None], int] = {}
        converter = schema.schema_converter
        # exception handlers turn a resolver's exception into a value: only the real resolver applies them
        self.direct_calls = not getattr(converter, "_exception_handler_specs", ())
        self.default_resolver = getattr(schema.config, "default_resolver", getattr)
        self.info_class = schema.config.info_class
        self.lazy_info = _lazy_info_class(self.info_class)
        self.enabled = mode != "off" and not any(_has_resolve_hook(e) for e in schema.get_extensions())
        from seva_crm.schema.errors import ErrorPolicy  # the same masking as the standard path

        self.error_policy = ErrorPolicy()

    # --- compile ----------------------------------------------------------------------------

    def get(self, query: str, operation_name: str | None) -> Operation | None:
        key = (query, operation_name)
        try:
            found = self.cache[key]
        except KeyError:
            pass
        else:
            self.cache.move_to_end(key)
            return found
        if self.mode == "auto":
            n = self.seen.get(key, 0) + 1
            if n < self.warm:
                if len(self.seen) >= CACHE_SIZE * 4:
                    self.seen.clear()
                self.seen[key] = n
                return None
            self.seen.pop(key, None)
        try:
            compiled = self.compile(query, operation_name)
        except Exception:  # noqa: BLE001 - whatever the planner cannot compile, the standard path runs
            compiled = None
        self.cache[key] = compiled
        if len(self.cache) > CACHE_SIZE:
            self.cache.popitem(last=False)
        return compiled

    def compile(self, query: str, operation_name: str | None) -> Operation:
        document = parse(query, max_tokens=self.limits.max_tokens)
        if validate(self.gschema, document, self.rules):
            raise Unsupported("invalid document")
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation != OperationType.QUERY:
            raise Unsupported("not a query")
        cost_per_request = bool(operation.variable_definitions)
        if not cost_per_request and estimate_cost(self.gschema, document, operation_name, {}) > self.limits.max_cost:
            raise Unsupported("over the cost limit")
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        root = self.object_plan(self.gschema.query_type, [operation.selection_set], fragments)
        return Operation(document, operation, root, cost_per_request)

    def object_plan(self, type_: GraphQLObjectType, selection_sets: list[SelectionSetNode],
                    fragments: dict[str, FragmentDefinitionNode]) -> ObjectPlan:
        if type_.is_type_of is not None:
            raise Unsupported("is_type_of")
        grouped: dict[str, list[FieldNode]] = {}
        for selection_set in selection_sets:
            self.collect(type_, selection_set, fragments, grouped, set())
        plan = ObjectPlan(type_)
        for key, nodes in grouped.items():
            plan.fields.append(self.field_plan(type_, key, nodes, fragments))
        plan.run = compile_object(plan)
        return plan

    def collect(self, type_: GraphQLObjectType, selection_set: SelectionSetNode, fragments: dict,
                grouped: dict[str, list[FieldNode]], visited: set[str]) -> None:
        """graphql-core's field collection, for a known object type."""
        for selection in selection_set.selections:
            if not self.included(selection):
                continue
            if isinstance(selection, FieldNode):
                grouped.setdefault((selection.alias or selection.name).value, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self.applies(selection.type_condition, type_):
                    self.collect(type_, selection.selection_set, fragments, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited or selection.arguments:
                    continue
                visited.add(name)
                fragment = fragments.get(name)
                if fragment is not None and self.applies(fragment.type_condition, type_):
                    self.collect(type_, fragment.selection_set, fragments, grouped, visited)
            else:
                raise Unsupported(type(selection).__name__)

    @staticmethod
    def included(selection) -> bool:
        """``@skip``/``@include`` with literal conditions; on a variable the plan is not made."""
        result = True
        for directive in selection.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                raise Unsupported(f"@{name}")
            arg = next((a for a in directive.arguments or () if a.name.value == "if"), None)
            if arg is None or not isinstance(arg.value, BooleanValueNode):
                raise Unsupported("@skip/@include on a variable")
            if arg.value.value == (name == "skip"):
                result = False
        return result

    def applies(self, condition, type_: GraphQLObjectType) -> bool:
        if condition is None:
            return True
        conditional = self.gschema.get_type(condition.name.value)
        if conditional is type_:
            return True
        if conditional is None or not hasattr(conditional, "fields") or isinstance(conditional, GraphQLObjectType):
            return False
        return self.gschema.is_sub_type(conditional, type_)

    def field_plan(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode], fragments: dict) -> FieldPlan:
        name = nodes[0].name.value
        plan = FieldPlan(key, name, nodes)
        plan.parent_name = parent.name
        if name == "__typename":
            plan.how, plan.nullable = TYPENAME, False
            return plan
        if name.startswith("__"):
            raise Unsupported("introspection")
        definition = parent.fields[name]
        plan.definition = definition
        plan.has_args = bool(definition.args or nodes[0].arguments)
        plan.nullable = not isinstance(definition.type, GraphQLNonNull)
        plan.how = self.how(definition, plan)
        if plan.has_args and not any(_uses_variables(a.value) for a in nodes[0].arguments or ()):
            plan.args = get_argument_values(definition, nodes[0], None)  # literals only: the same every request
            if plan.how == CALL_INFO:  # plain scalars: what Strawberry would pass, by Python name
                plan.args = self.python_arguments(plan.args, plan.field)
        sub_sets = [n.selection_set for n in nodes if n.selection_set]
        plan.completion = self.completion(definition.type, sub_sets, fragments)
        return plan

    def how(self, definition, plan: FieldPlan) -> int:
        field = definition.extensions.get("strawberry-definition")
        resolve = definition.resolve
        if field is None or resolve is None:
            raise Unsupported("not a Strawberry field")
        if getattr(resolve, "__name__", "") == "_get_basic_result" and field.is_basic_field:
            if self.default_resolver is not getattr:
                return RESOLVE
            plan.attr = field.python_name
            return ATTR
        resolver = field.base_resolver
        if (self.direct_calls and resolver is not None and not field.extensions
                and resolver.self_parameter is not None and resolver.root_parameter is None
                and resolver.parent_parameter is None and all(_plain_scalar(a.type) for a in field.arguments)
                and len(resolver.signature.parameters) == 1 + (resolver.info_parameter is not None) + len(field.arguments)):
            plan.func = resolver.wrapped_func
            if resolver.info_parameter is None and not plan.has_args and not resolver.is_async:
                return CALL  # its result is awaited only if it does not serialize (see Run.object)
            plan.attr, plan.field = (resolver.info_parameter.name if resolver.info_parameter else None), field
            return CALL_INFO
        plan.func = resolve
        return RESOLVE

    def python_arguments(self, args: dict[str, Any], field) -> dict[str, Any]:
        return convert_arguments(args, field.arguments, scalar_registry=self.schema.schema_converter.scalar_registry,
                                 config=self.schema.config)

    def completion(self, type_, sub_sets: list[SelectionSetNode], fragments: dict) -> Completion:
        nullable = True
        if isinstance(type_, GraphQLNonNull):
            nullable, type_ = False, type_.of_type
        if isinstance(type_, GraphQLList):
            return Completion(LIST, nullable, type_, item=self.completion(type_.of_type, sub_sets, fragments))
        if is_leaf_type(type_):
            return Completion(LEAF, nullable, type_, coerce=type_.coerce_output_value)
        if isinstance(type_, GraphQLObjectType):
            return Completion(OBJECT, nullable, type_, plan=self.object_plan(type_, sub_sets, fragments))
        raise Unsupported("abstract type")

    # --- execute ----------------------------------------------------------------------------

    async def execute(self, query: str | None, variables: dict[str, Any] | None, context: Any, root_value: Any,
                      operation_name: str | None, allowed: Iterable[AllowedType],
                      operation_extensions: dict[str, Any] | None = None) -> ExecutionResult | None:
        """The result, or None: the standard execution must run this request."""
        if not self.enabled or not query or AllowedType.QUERY not in allowed:
            return None
        compiled = self.get(query, operation_name)
        if compiled is None:
            return None
        if compiled.cost_per_request and estimate_cost(
                self.gschema, compiled.document, operation_name, variables or {}) > self.limits.max_cost:
            return None
        executor = StrawberryGraphQLCoreExecutionContext.build(
            self.gschema, compiled.document, root_value, context, variables, operation_name,
            operation_extensions=operation_extensions)
        if isinstance(executor, list):  # variables that do not coerce: the standard path words the errors
            return None
        run = Run(executor, self)
        data = await run.execute(compiled.root, root_value)
        errors = executor.collected_errors.errors
        if compiled.name and _NAME.fullmatch(compiled.name):
            from seva_crm.schema.request_log import note

            note(operation=compiled.name)
        return ExecutionResult(data=data, errors=self.error_policy._process_errors(errors) if errors else None)


# Leaf types whose common values serialize as themselves: the compiled code tests the value's
# class and calls the serializer only for anything else (which it then treats as graphql-core does).
_SAME = {serialize_string: "str", serialize_id: "str", serialize_boolean: "bool"}


def _fast_leaf(completion: Completion, n: int, ns: dict[str, Any]) -> str:
    """An expression serializing ``v`` as ``completion`` (a leaf) does, with a shortcut for the
    common values; anything unusual goes through ``run.leaf``, the general rule."""
    ns[f"C{n}"] = completion
    general = f"run.leaf(C{n}, v)"
    coerce, type_ = completion.coerce, completion.type
    if coerce in _SAME:
        return f"v if v.__class__ is {_SAME[coerce]} else {general}"
    if coerce is serialize_int:
        return f"v if v.__class__ is int and {GRAPHQL_MIN_INT} <= v <= {GRAPHQL_MAX_INT} else {general}"
    wrapped = getattr(type_, "wrapped_cls", None)  # a Strawberry enum: each member's name, once
    if isinstance(type_, GraphQLEnumType) and isinstance(wrapped, type) and issubclass(wrapped, Enum):
        names = {}
        for member in wrapped:
            try:
                names[member] = coerce(member)
            except Exception:  # noqa: BLE001, S112 - such a member takes the general rule, which words the error
                continue
        ns[f"E{n}"], ns[f"W{n}"] = names, wrapped
        return f"(E{n}.get(v) if v.__class__ is W{n} else None) or {general}"
    return general


def compile_object(plan: ObjectPlan):
    """``plan``'s fields compiled into one function ``(run, source, position) -> dict``.

    Attribute reads and parent-only resolvers of leaves are inlined with their serializer, and
    of objects and lists with their completion; every other field calls ``Run.field``, the
    general case. Each field has its own ``try`` (free in Python 3.11 when nothing raises);
    failures go to ``Run.failed``, so errors, nulls and awaitable values are handled as
    ``Run.field`` handles them."""
    ns: dict[str, Any] = {"P": plan, "Position": Position}
    lines = ["def run_object(run, source, position):", "    out = {}"]
    for n, field in enumerate(plan.fields):
        ns[f"F{n}"], key = field, repr(field.key)
        if field.how == TYPENAME:
            lines.append(f"    out[{key}] = {plan.name!r}")
            continue
        if field.how not in (ATTR, CALL):
            lines.append(f"    run.field(P, F{n}, source, position, out)")
            continue
        if field.how == ATTR:
            get = f"source.{field.attr}" if field.attr.isidentifier() else f"getattr(source, {field.attr!r})"
        else:
            ns[f"f{n}"] = field.func
            get = f"f{n}(source)"
        completion = field.completion
        null = (f"out[{key}] = None" if field.nullable else
                f"raise TypeError('Cannot return null for non-nullable field ' + {f'{plan.name}.{field.name}.'!r})")
        lines += ["    v = None", "    try:", f"        v = {get}", "        if v is None:", f"            {null}"]
        if completion.kind == LEAF:
            lines.append(f"        else:\n            out[{key}] = {_fast_leaf(completion, n, ns)}")
        else:
            lines += ["        elif _awaitable(v):", f"            run.defer(v, F{n}, out, position, P)"]
            where = f"Position(out, {key}, {field.nullable}, position, {plan.name!r})"
            if completion.kind == OBJECT:  # its own compiled function, called directly (as Run.complete would)
                ns[f"R{n}"] = completion.plan.run
                lines += ["        elif isinstance(v, Exception):", "            raise v",
                          "        else:", f"            out[{key}] = R{n}(run, v, {where})"]
            else:
                lines += ["        else:", f"            out[{key}] = run.complete(F{n}.completion, v, F{n}, {where})"]
        lines += ["    except Exception as exc:  # noqa: BLE001", f"        run.failed(exc, v, F{n}, out, position, P)"]
    lines.append("    return out")
    ns["_awaitable"] = _awaitable
    exec(compile("\n".join(lines), f"<plan {plan.name}>", "exec"), ns)  # noqa: S102 - our own generated code
    return ns["run_object"]


_PLAIN: set[type] = set()  # classes whose instances are never awaitable (by graphql-core's test)


def _awaitable(value: Any) -> bool:
    """graphql-core's test, but a Tortoise row is a value: awaiting one only returns it
    (``Model.__await__``), at the cost of a task and a turn of the event loop per row.
    The answer depends on the class alone except for generators (a generator-based coroutine
    is one by its code's flags), so the classes of plain values are remembered."""
    cls = value.__class__
    if cls in _PLAIN:
        return False
    if isinstance(value, Model):
        _PLAIN.add(cls)
        return False
    if is_awaitable(value):
        return True
    if cls is not GeneratorType and len(_PLAIN) < 4096:
        _PLAIN.add(cls)
    return False


def _lazy_info_class(info_class: type) -> type:
    """The ``Info`` a planned resolver gets: its context at hand, and graphql-core's
    ``GraphQLResolveInfo`` (with the field's response path) built only if the resolver reads
    anything else. Most resolvers read only ``info.context`` (the loaders, the caller), and
    on a list page they run once per row."""

    class LazyInfo(info_class):
        def __init__(self, run: Run, field: FieldPlan, plan: ObjectPlan, position: Position | None) -> None:
            self._field, self._lazy = field.field, (run, field, plan, position)

        @property
        def context(self):
            return self._lazy[0].executor.context_value

        def __getattr__(self, name: str) -> Any:
            if name != "_raw_info":
                raise AttributeError(name)
            run, field, plan, position = self.__dict__["_lazy"]
            self._raw_info = run.executor.build_resolve_info(field.definition, field.nodes, plan.type,
                                                             Path(_path(position), field.key, plan.name))
            return self._raw_info

    LazyInfo.__name__ = LazyInfo.__qualname__ = info_class.__name__
    return LazyInfo


def _plain_scalar(type_) -> bool:
    """An argument Strawberry passes as it comes (no input type, enum or custom scalar to build)."""
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    return type_ in (int, str, bool, float)


def _uses_variables(node) -> bool:
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ListValueNode):
        return any(_uses_variables(v) for v in node.values)
    if isinstance(node, ObjectValueNode):
        return any(_uses_variables(f.value) for f in node.fields)
    return False


def _has_resolve_hook(extension) -> bool:
    from strawberry.extensions import SchemaExtension

    return type(extension).resolve is not SchemaExtension.resolve


async def _settle(awaitables: list) -> list:
    """What ``asyncio.gather(*awaitables, return_exceptions=True)`` gives, without a task per
    awaitable: each is stepped here, in a copy of the context as a task runs it, whenever the
    future it waits on is done (a bare ``yield``, as ``asyncio.sleep(0)`` makes, waits a turn of
    the loop). On a page of 50 customers the nested lists' resolvers are 50 coroutines waiting
    on one DataLoader batch: 50 tasks spared per request."""
    results: list = [None] * len(awaitables)
    running: list[list] = []  # [index, step, context, the future it waits on or None]
    for index, awaitable in enumerate(awaitables):
        try:
            running.append([index, awaitable.__await__(), contextvars.copy_context(), None])
        except Exception as exc:  # noqa: BLE001 - returned, as gather returns it
            results[index] = exc
    try:
        while running:
            still, waiting = [], []
            for entry in running:
                index, step, context, future = entry
                if future is not None and not future.done():
                    still.append(entry)
                    waiting.append(future)
                    continue
                try:
                    yielded = context.run(step.send, None)
                except StopIteration as stop:
                    results[index] = stop.value
                    continue
                except BaseException as exc:  # noqa: BLE001 - returned, as gather(return_exceptions=True) does
                    results[index] = exc
                    continue
                if yielded is not None:
                    if getattr(yielded, "_asyncio_future_blocking", None) is None:  # as a task refuses it
                        step.close()
                        results[index] = RuntimeError(f"bad yield in a resolver: {yielded!r}")
                        continue
                    yielded._asyncio_future_blocking = False
                    waiting.append(yielded)
                entry[3] = yielded
                still.append(entry)
            running = still
            if any(entry[3] is None for entry in running) or not waiting:
                await asyncio.sleep(0)
            else:
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for entry in running:  # only when this request itself was cancelled
            entry[1].close()
    return results


class Position:
    """Where a completed value sits in the response: for null propagation from an awaited field,
    and its path, made only when needed (an error, a resolver's info, an awaited value)."""

    __slots__ = ("container", "key", "nullable", "parent", "typename", "_path")

    def __init__(self, container, key, nullable: bool, parent: Position | None, typename: str | None,
                 path: Path | None = None) -> None:
        self.container, self.key, self.nullable, self.parent, self.typename = container, key, nullable, parent, typename
        self._path = path

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = Path(self.parent.path if self.parent is not None else None, self.key, self.typename)
        return self._path


def _path(position: Position | None) -> Path | None:
    return position.path if position is not None else None


class Run:
    """One execution of a plan."""

    __slots__ = ("executor", "errors", "pending", "data", "info_class", "planner")

    def __init__(self, executor, planner: Planner) -> None:
        self.executor, self.planner, self.info_class = executor, planner, planner.info_class
        self.errors = executor.collected_errors
        self.pending: list = []

    async def execute(self, root: ObjectPlan, root_value: Any) -> dict | None:
        try:
            self.data = self.object(root, root_value, None)
        except GraphQLError as error:
            self.errors.add(error, None)
            return None
        while self.pending:
            batch, self.pending = self.pending, []
            results = await _settle([p[0] for p in batch])
            for (_, field, completion, container, key, path, position), value in zip(batch, results, strict=True):
                if isinstance(value, BaseException) and not isinstance(value, Exception):
                    raise value
                try:
                    if isinstance(value, Exception):
                        raise value
                    container[key] = self.complete(completion, value, field, Position(
                        container, key, completion.nullable, position, path.typename, path))
                except Exception as exc:  # noqa: BLE001 - every failure is a field error
                    if self.errors.has_nulled_position(path):
                        continue
                    error = located_error(exc, field.nodes, path.as_list())
                    if completion.nullable:
                        container[key] = None
                        self.errors.add(error, path)
                        continue
                    target = position
                    while target is not None and not target.nullable:
                        target = target.parent
                    if target is None:
                        self.errors.add(error, None)
                        self.data = None
                        return None
                    target.container[target.key] = None
                    self.errors.add(error, target.path)
        return self.data

    def object(self, plan: ObjectPlan, source: Any, position: Position | None) -> dict:
        """The object's fields; ``position``: where it sits (None: the root)."""
        return plan.run(self, source, position)

    def field(self, plan: ObjectPlan, field: FieldPlan, source: Any, position: Position | None, out: dict) -> None:
        """One field of ``source`` into ``out``, whatever its kind (a compiled object calls this
        for the fields it does not inline: resolvers given an info, the real resolver)."""
        how, value, completion = field.how, None, field.completion
        executor = self.executor
        try:
            if how == ATTR:
                value = getattr(source, field.attr)
            elif how == CALL:
                value = field.func(source)
                if completion.kind != LEAF and _awaitable(value):  # an async resolver
                    self.defer(value, field, out, position, plan)
                    return
            elif how == TYPENAME:
                out[field.key] = plan.name
                return
            else:
                definition = field.definition
                if how == CALL_INFO:
                    if field.args is not None:
                        kwargs = dict(field.args)
                    elif field.has_args:
                        kwargs = self.planner.python_arguments(get_argument_values(
                            definition, field.nodes[0], executor.variable_values, None, executor.hide_suggestions),
                            field.field)
                    else:
                        kwargs = {}
                    if field.attr is not None:
                        kwargs[field.attr] = self.planner.lazy_info(self, field, plan, position)
                    value = field.func(source, **kwargs)
                    if _awaitable(value):
                        self.defer(value, field, out, position, plan)
                        return
                else:
                    field_path = Path(_path(position), field.key, plan.name)
                    info = executor.build_resolve_info(definition, field.nodes, plan.type, field_path)
                    args = field.args if field.args is not None else get_argument_values(
                        definition, field.nodes[0], executor.variable_values, None, executor.hide_suggestions
                    ) if field.has_args else {}
                    value = field.func(source, info, **args)
                    if _awaitable(value):
                        self.defer(value, field, out, position, plan, field_path)
                        return
            if completion.kind == LEAF:
                if value is None:
                    if not field.nullable:
                        raise TypeError(f"Cannot return null for non-nullable field {plan.name}.{field.name}.")
                    out[field.key] = None
                    return
                out[field.key] = self.leaf(completion, value)
            else:
                if how != RESOLVE and how != CALL_INFO and _awaitable(value):  # an attribute may hold an awaitable
                    self.defer(value, field, out, position, plan)
                    return
                out[field.key] = self.complete(completion, value, field,
                                               Position(out, field.key, field.nullable, position, plan.name))
        except Exception as exc:  # noqa: BLE001 - every failure is a field error
            self.failed(exc, value, field, out, position, plan)

    def defer(self, value: Any, field: FieldPlan, out: dict, position: Position | None, plan: ObjectPlan,
              path: Path | None = None) -> None:
        """An awaitable field value (at ``path``, made here if not given): completed when the
        level's awaitables are gathered."""
        out[field.key] = None
        self.pending.append((value, field, field.completion, out, field.key,
                             path or Path(_path(position), field.key, plan.name), position))

    def failed(self, exc: Exception, value: Any, field: FieldPlan, out: dict, position: Position | None,
               plan: ObjectPlan) -> None:
        """A field that raised: null where allowed (the error recorded), else the error raised on
        to the parent; a leaf attribute or resolver whose value did not serialize is awaited first."""
        if field.how in (ATTR, CALL) and field.completion.kind == LEAF and _awaitable(value):
            # checked only when the leaf did not serialize: an awaitable attribute or resolver result
            self.defer(value, field, out, position, plan)
            return
        field_path = Path(_path(position), field.key, plan.name)
        error = located_error(exc, field.nodes, field_path.as_list())
        if not field.nullable:
            raise error from None
        out[field.key] = None
        self.errors.add(error, field_path)

    @staticmethod
    def leaf(completion: Completion, value: Any) -> Any:
        """A leaf value serialized (graphql-core's ``complete_leaf_value``)."""
        if isinstance(value, Exception):
            raise value
        coerced = completion.coerce(value)
        if coerced is None or coerced is Undefined:
            raise TypeError(f"Expected `{inspect(completion.type)}.coerce_output_value({inspect(value)})` "
                            f"to return non-nullable value, returned: {inspect(coerced)}")
        return coerced

    def complete(self, completion: Completion, value: Any, field: FieldPlan, position: Position) -> Any:
        """The completed value of ``value`` at ``position`` (raises on a null where none is allowed)."""
        if isinstance(value, Exception):
            raise value
        if value is None:
            if not completion.nullable:
                raise TypeError(f"Cannot return null for non-nullable field {field.parent_name}.{field.name}.")
            return None
        kind = completion.kind
        if kind == LEAF:
            return self.leaf(completion, value)
        if kind == OBJECT:
            return completion.plan.run(self, value, position)
        if not is_iterable(value):
            raise GraphQLError(f"Expected Iterable, but did not find one for field '{field.parent_name}.{field.name}'.")
        item = completion.item
        items: list[Any] = []
        run_item = item.plan.run if item.kind == OBJECT else None
        for index, element in enumerate(value):
            try:
                if run_item is not None and element is not None and not isinstance(element, Exception) \
                        and not _awaitable(element):  # the common case of a list of objects
                    items.append(run_item(self, element, Position(items, index, item.nullable, position, None)))
                    continue
                if _awaitable(element):
                    items.append(None)
                    self.pending.append((element, field, item, items, index, Path(position.path, index, None), position))
                    continue
                items.append(self.complete(item, element, field, Position(items, index, item.nullable, position, None)
                                           if item.kind != LEAF else None))
            except Exception as exc:  # noqa: BLE001 - every failure is a field error
                item_path = Path(position.path, index, None)
                error = located_error(exc, field.nodes, item_path.as_list())
                if not item.nullable:
                    raise error from None
                items.append(None)
                self.errors.add(error, item_path)
        return items
