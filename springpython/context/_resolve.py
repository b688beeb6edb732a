"""Turning the text of a definition into Python: class names into classes, parent
chains into complete definitions, and the static checks (unknown references,
cycles) that run before anything is created.

Rules of this file: nothing here creates an object. Every problem is reported as a
:class:`~springpython.errors.ConfigurationError` that names the file, line and
object id, and the checks collect *all* problems so ``springpython validate`` can
list them; the container raises the first."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import importlib
import inspect
import sys
import textwrap
from typing import Any, Iterable, Iterator

from ..config.definitions import Argument, ObjectDefinition, PropertyDef, Ref
from ..errors import CircularDependencyError, ConfigurationError
from .properties import declared_properties, unknown_property_message

__all__ = [
    "resolve_class",
    "merge_parents",
    "find_cycles",
    "check_signature",
    "check_properties",
    "self_assigned",
    "known_on_class",
]

_MISSING = object()


def resolve_class(definition: ObjectDefinition) -> type:
    """The class a definition names: a dotted path, or a bare name from ``__main__`` then builtins."""
    name = (definition.class_name or "").strip()
    if not name:
        raise ConfigurationError(
            "no class given (set 'class', or a 'parent' that has one)",
            source=definition.source,
            object_id=definition.id,
        )
    module_name, _, attr = name.rpartition(".")
    if not module_name:
        main = sys.modules.get("__main__")
        found = getattr(main, name, None) if main is not None else None
        if found is None:
            found = getattr(builtins, name, None)
        if found is None:
            raise ConfigurationError(
                f"unknown class {name!r}: a bare name must be defined in the running script (__main__) "
                "or be a builtin; use a dotted path such as 'module.Class'",
                source=definition.source,
                object_id=definition.id,
            )
        return _check_callable(found, name, definition)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"class {name!r}: cannot import module {module_name!r}: {exc}",
            source=definition.source,
            object_id=definition.id,
        ) from exc
    try:
        found = getattr(module, attr)
    except AttributeError:
        raise ConfigurationError(
            f"class {name!r}: module {module_name!r} has no attribute {attr!r}",
            source=definition.source,
            object_id=definition.id,
        ) from None
    return _check_callable(found, name, definition)


def _check_callable(found: object, name: str, definition: ObjectDefinition) -> type:
    if not callable(found):
        raise ConfigurationError(
            f"class {name!r} is a {type(found).__name__}, not a class or callable",
            source=definition.source,
            object_id=definition.id,
        )
    return found  # type: ignore[return-value]


def merge_parents(definitions: dict[str, ObjectDefinition]) -> tuple[dict[str, ObjectDefinition], list[ConfigurationError]]:
    """Fold each definition's ``parent`` chain into it; the child wins where both say something."""
    merged: dict[str, ObjectDefinition] = {}
    problems: list[ConfigurationError] = []
    for defn in definitions.values():
        try:
            _complete(defn, (), definitions, merged)
        except ConfigurationError as exc:
            problems.append(exc)
    return merged, problems


def _complete(
    defn: ObjectDefinition,
    chain: tuple[str, ...],
    definitions: dict[str, ObjectDefinition],
    merged: dict[str, ObjectDefinition],
) -> ObjectDefinition:
    """``defn`` with its parent chain folded in (memoised in ``merged``)."""
    if defn.id in merged:
        return merged[defn.id]
    if defn.parent is None:
        merged[defn.id] = defn
        return defn
    if defn.parent in chain or defn.parent == defn.id:
        cycle = (*chain, defn.id, defn.parent)
        raise CircularDependencyError(cycle[cycle.index(defn.parent):], source=defn.source)
    parent = definitions.get(defn.parent)
    if parent is None:
        raise ConfigurationError(f"parent {defn.parent!r} is not defined", source=defn.source, object_id=defn.id)
    full = _inherit(defn, _complete(parent, (*chain, defn.id), definitions, merged))
    merged[defn.id] = full
    return full


def _inherit(child: ObjectDefinition, parent: ObjectDefinition) -> ObjectDefinition:
    properties = {p.name: p for p in parent.properties}
    properties.update((p.name, p) for p in child.properties)
    return dataclasses.replace(
        child,
        class_name=child.class_name or parent.class_name,
        factory=child.factory or parent.factory,
        scope=child.scope if child.scope is not None else parent.scope,
        lazy_init=child.lazy_init if child.lazy_init is not None else parent.lazy_init,
        destroy_method=child.destroy_method or parent.destroy_method,
        constructor_args=_inherit_args(child.constructor_args, parent.constructor_args),
        properties=list(properties.values()),
        parent=None,
    )


def _inherit_args(child: list[Argument], parent: list[Argument]) -> list[Argument]:
    """The constructor arguments of a child: the parent's, with each of the child's
    replacing the parent's at the same position or name (as Spring Python 1.2 and
    Spring merge them).

    An argument's position is its ``index``, or for one written without ``index`` or
    ``name``, the lowest position no indexed argument of the same definition takes,
    in order (how the container places them in the call). So a child with one
    positional argument under a parent with three replaces the first only."""
    if not child:
        return list(parent)
    if not parent:
        return list(child)
    merged = {**_by_position(parent), **_by_position(child)}
    return list(merged.values())


def _by_position(args: list[Argument]) -> dict[object, Argument]:
    """``args`` keyed by position (every positional one given its ``index``) or name."""
    taken = {a.index for a in args if a.index is not None}
    keyed: dict[object, Argument] = {}
    free = (i for i in range(len(args) + len(taken) + 1) if i not in taken)
    for arg in args:
        if arg.name is not None and arg.index is None:
            keyed[arg.name] = arg
        elif arg.index is not None:  # a repeated index is kept, to be reported when compiled
            keyed[arg.index if arg.index not in keyed else (arg.index, len(keyed))] = arg
        else:
            position = next(free)
            keyed[position] = dataclasses.replace(arg, index=position)
    return keyed


def find_cycles(definitions: dict[str, ObjectDefinition], refs: dict[str, list[Ref]]) -> list[CircularDependencyError]:
    """Reference cycles among the definitions, each reported once as ``a -> b -> a``;
    ``refs`` holds each definition's references (its inner objects' included)."""
    graph = {i: [r.object_id for r in refs[i] if r.object_id in definitions] for i in definitions}
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(graph, white)
    problems: list[CircularDependencyError] = []
    for start in graph:
        if color[start] != white:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(graph[start]))]
        path = [start]
        color[start] = grey
        while stack:
            node, children = stack[-1]
            for child in children:
                if color[child] == grey:
                    cycle = path[path.index(child):] + [child]
                    problems.append(CircularDependencyError(cycle, source=definitions[child].source))
                elif color[child] == white:
                    color[child] = grey
                    path.append(child)
                    stack.append((child, iter(graph[child])))
                    break
            else:
                color[node] = black
                path.pop()
                stack.pop()
    return problems


@functools.lru_cache(maxsize=4096)
def _fits(cls: type, positional: int, names: frozenset[str]) -> str | None:
    """Why ``positional`` arguments and ``names`` cannot call ``cls`` (``None`` if they can)."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # builtins without an introspectable signature
        return None
    try:
        signature.bind(*([None] * positional), **dict.fromkeys(names))
    except TypeError as exc:
        return f"constructor arguments do not fit {cls.__qualname__}{signature}: {exc}"
    return None


def check_signature(cls: type, positional: int, names: Iterable[str], definition: ObjectDefinition) -> None:
    """Fail early when the configured constructor arguments cannot fit ``cls``'s signature."""
    names = frozenset(names)
    try:
        problem = _fits(cls, positional, names)
    except TypeError:  # an unhashable callable: check it uncached
        problem = _fits.__wrapped__(cls, positional, names)
    if problem is not None:
        raise ConfigurationError(
            f"{problem} (configured: {positional} positional, named {sorted(names)})",
            source=definition.source,
            object_id=definition.id,
        )


def check_properties(
    cls: Any, definition: ObjectDefinition, properties: Iterable[PropertyDef]
) -> tuple[PropertyDef, ...]:
    """Check the property names of a definition against its class.

    A class that declares its properties (:class:`~.properties.DeclaredProperties`)
    refuses any other name: :class:`ConfigurationError` with a "did you mean". For a
    plain class the names that are not found on the class itself (an attribute,
    property, slot or annotation) are returned: whether the created object has them
    is known only once it exists."""
    if not isinstance(cls, type):
        return ()
    declared = declared_properties(cls)
    if declared is not None:
        for prop in properties:
            if prop.name not in declared:
                raise ConfigurationError(
                    unknown_property_message(cls, prop.name),
                    source=prop.source or definition.source,
                    object_id=definition.id,
                )
        return ()
    return tuple(p for p in properties if not known_on_class(cls, p.name))


@functools.lru_cache(maxsize=8192)
def known_on_class(cls: type, name: str) -> bool:
    """Whether ``name`` is an attribute, property, slot or annotation of ``cls`` (or a base)."""
    if inspect.getattr_static(cls, name, _MISSING) is not _MISSING:
        return True
    return any(name in vars(klass).get("__annotations__", {}) for klass in cls.__mro__)


@functools.lru_cache(maxsize=1024)
def self_assigned(cls: type) -> frozenset[str] | None:
    """The names the methods of ``cls`` and its bases assign as ``self.<name>``, read
    from their source; ``None`` when some source cannot be read (then nothing can be
    said without creating an object)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            return None
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)) or not func.args.args:
                continue
            me = func.args.args[0].arg
            for node in ast.walk(func):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name)
                    and node.value.id == me
                ):
                    names.add(node.attr)
    return frozenset(names)
