"""Recipes, and how a recipe builds its object.

A :class:`Recipe` is a definition compiled by the container: its class resolved, its
constructor arguments put in call order and its inner objects compiled in place.
Objects made once (singletons, and what they create in place) are built by
:func:`make`, which reads the recipe directly: nothing is prepared that is used only
once. Objects made again and again (prototypes) get a builder function generated
for the definition, so that creating one is a single straight-line Python function:
evaluate the arguments, call the class, set the properties, run the lifecycle hooks.

Rules of this file: the generated source only ever contains names this module
makes up (``c0``, ``p1``, ``v2`` …) and property names that are Python identifiers;
every value, class and hook is passed in through the function's namespace, never
pasted into the source. A property whose name is not an identifier is set with
``setattr``."""

from __future__ import annotations

import keyword
import types
from typing import TYPE_CHECKING, Any, Callable, Sequence, Union

from .._scope import Scope
from ..config.definitions import Collection, Mapping, ObjectDefinition, PropertyDef, Ref, Value

if TYPE_CHECKING:
    from .container import ObjectContainer

__all__ = ["Recipe", "Fresh", "Node", "Constant", "Build", "make", "value", "generate"]

# The shape of a definition, all a generated builder's source depends on: per
# positional argument its producer kind ("c" constant, "p" producer); per keyword
# argument and per property its name (None when not an identifier) and kind; and
# when the lifecycle hooks run ("always" or "if processors"); whether the first object
# is checked for properties it never had.
Shape = tuple[
    tuple[str, ...], tuple[tuple["str | None", str], ...], tuple[tuple["str | None", str], ...], str, bool
]

# Compiled builder bodies by shape: definitions of the same shape (say, one constant
# constructor argument and two properties named alike) share one code object, each
# with its own namespace. Code objects are immutable; the cache grows only with the
# number of distinct shapes.
_CODE: dict[Shape, types.CodeType] = {}

_MISSING = object()

Producer = Callable[[bool], Any]


class Recipe:
    """A compiled definition: the class or factory, and the values to build it with.

    ``args``, ``kwargs`` and ``props`` hold value nodes in which every inner object
    is already a :class:`Recipe` of its own (see :data:`Node`)."""

    __slots__ = (
        "id", "definition", "cls", "factory", "singleton", "lazy", "args", "kwargs",
        "props", "destroy_method", "aware", "initializing", "disposable", "build", "unchecked",
    )

    def __init__(self, definition: ObjectDefinition) -> None:
        self.id = definition.id
        self.definition = definition
        self.cls: Any = None
        self.factory = definition.factory
        self.singleton = (definition.scope or Scope.SINGLETON) is Scope.SINGLETON
        self.lazy = bool(definition.lazy_init)
        self.args: tuple[Node, ...] = ()
        self.kwargs: tuple[tuple[str, Node], ...] = ()
        self.props: tuple[tuple[str, Node], ...] = ()
        self.destroy_method = definition.destroy_method
        # known per class, else None: checked per object
        self.aware: bool | None = None
        self.initializing: bool | None = None
        self.disposable: bool | None = None
        self.build: Producer | None = None  # the generated builder, once made
        # properties of a plain class not found on the class: checked on the first object
        self.unchecked: tuple[PropertyDef, ...] = ()

    def __repr__(self) -> str:
        what = self.factory if self.factory is not None else getattr(self.cls, "__qualname__", self.cls)
        return f"<recipe {self.id} {what} {'singleton' if self.singleton else 'prototype'}>"


class Fresh:
    """A list, set or dict of plain values only, made anew from ``template`` (by
    calling ``kind`` on it) each time it is needed: nothing in it to evaluate."""

    __slots__ = ("kind", "template")

    def __init__(self, kind: type, template: Any) -> None:
        self.kind = kind
        self.template = template


#: A value node of a compiled recipe: an inner object is its :class:`Recipe`, and a
#: mutable collection of plain values a :class:`Fresh` (an immutable one a :class:`Value`).
Node = Union[Value, Ref, "Collection[Node]", "Mapping[Node]", Recipe, Fresh]


def make(container: "ObjectContainer", recipe: Recipe, track: bool) -> Any:
    """Build the object of ``recipe`` by reading the recipe; ``track`` registers it
    for destruction at shutdown when it needs it."""
    if recipe.factory is not None:
        return container._initialize(recipe, container._from_factory(recipe), track)
    try:
        args: Sequence[Any] = recipe.args
        if args:
            args = [node.value if type(node) is Value else value(container, node, track) for node in args]
        if recipe.kwargs:
            obj = recipe.cls(*args, **{
                name: node.value if type(node) is Value else value(container, node, track)
                for name, node in recipe.kwargs
            })
        else:
            obj = recipe.cls(*args)
    except Exception as exc:
        container._fail(recipe, exc, "creating it failed")
    if recipe.unchecked:
        container._check_unknown(recipe, obj)
    for name, node in recipe.props:
        try:
            setattr(obj, name, node.value if type(node) is Value else value(container, node, track))
        except Exception as exc:
            container._fail(recipe, exc, f"setting property {name!r} failed")
    return container._initialize(recipe, obj, track)


def value(container: "ObjectContainer", node: Node, track: bool) -> Any:
    """The Python value of one node: new lists, dicts and inner objects each time."""
    # One type() call dispatches the whole chain; mypy does not narrow ``node``
    # through ``kind``, so the ignores here and in _producer stand for that narrowing.
    kind = type(node)
    if kind is Value:
        return node.value  # type: ignore[union-attr]
    if kind is Ref:
        target_id = node.object_id  # type: ignore[union-attr]
        obj = container._singletons.get(target_id, _MISSING)
        if obj is not _MISSING:
            return obj
        target = container._recipes[target_id]
        return container._singleton(target) if target.singleton else make(container, target, track)
    if kind is Fresh:
        return node.kind(node.template)  # type: ignore[union-attr]
    if kind is Recipe:
        return make(container, node, track)  # type: ignore[arg-type]
    if kind is Collection:
        return node.kind([value(container, item, track) for item in node.items])  # type: ignore[union-attr]
    return {
        value(container, key, track): value(container, item, track)
        for key, item in node.entries  # type: ignore[union-attr]
    }


class Constant:
    """A producer of one immutable value, inlined into generated builders."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, track: bool) -> Any:
        return self.value


class Build:
    """A producer that creates an object with a generated builder (a prototype or an inner object)."""

    __slots__ = ("build",)

    def __init__(self, build: Producer) -> None:
        self.build = build

    def __call__(self, track: bool) -> Any:
        return self.build(track)


def _producer(node: Node, container: "ObjectContainer") -> Producer:
    """A producer ``produce(track) -> value`` for one node, for generated builders."""
    kind = type(node)
    if kind is Value:
        return Constant(node.value)  # type: ignore[union-attr]
    if kind is Fresh:
        make_fresh, template = node.kind, node.template  # type: ignore[union-attr]
        return lambda track: make_fresh(template)
    if kind is Recipe:
        return Build(generate(node, container))  # type: ignore[arg-type]
    if kind is Ref:
        target_id = node.object_id  # type: ignore[union-attr]
        target = container._recipes[target_id]
        if not target.singleton:
            return Build(generate(target, container))
        singletons = container._singletons
        get = container._singleton

        def singleton(track: bool) -> Any:
            obj = singletons.get(target_id, _MISSING)
            return get(target) if obj is _MISSING else obj

        return singleton
    # A Collection or Mapping left by the compiler holds something to evaluate (plain
    # ones became a Value or a Fresh).
    if kind is Collection:
        items = [_producer(item, container) for item in node.items]  # type: ignore[union-attr]
        collection = node.kind  # type: ignore[union-attr]
        return lambda track: collection([p(track) for p in items])
    pairs = [(_producer(k, container), _producer(v, container)) for k, v in node.entries]  # type: ignore[union-attr]
    return lambda track: {k(track): v(track) for k, v in pairs}


def _kind(producer: Any) -> str:
    return "c" if type(producer) is Constant else "p"


def _plain(name: str) -> str | None:
    """``name`` if it can be written as ``obj.name`` / ``name=`` in source, else ``None``."""
    ok = name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")
    return name if ok else None


def generate(recipe: Recipe, container: "ObjectContainer") -> Producer:
    """Make (once) the generated builder of ``recipe``, install it as ``recipe.build``
    and return it; the builders of the objects it creates in place are made too.

    The container keeps the recipes it generated builders for, and drops the
    builders at shutdown (each refers back to its recipe and the container)."""
    if recipe.build is not None:
        return recipe.build
    container._generated.append(recipe)
    if recipe.factory is not None:
        recipe.build = _factory_builder(recipe, container)
        return recipe.build
    ns: dict[str, Any] = {
        "cls": recipe.cls,
        "recipe": recipe,
        "fail": container._fail,
        "initialize": container._initialize,
        "processors": container._post_processors,
        "check": container._check_unknown if recipe.unchecked else None,
    }
    nodes = [*recipe.args, *(node for _, node in recipe.kwargs), *(node for _, node in recipe.props)]
    producers = [_producer(node, container) for node in nodes]
    for n, producer in enumerate(producers):
        if type(producer) is Constant:
            ns[f"c{n}"] = producer.value
        elif type(producer) is Build:
            ns[f"p{n}"] = producer.build
        else:
            ns[f"p{n}"] = producer
    names = [name for name, _ in recipe.kwargs] + [name for name, _ in recipe.props]
    for n, name in enumerate(names, start=len(recipe.args)):
        ns[f"n{n}"] = name
    if recipe.aware or recipe.initializing or recipe.disposable or recipe.destroy_method or recipe.aware is None:
        lifecycle = "always"
    else:
        lifecycle = "if processors"
    kinds = [_kind(p) for p in producers]
    positional = len(recipe.args)
    named = positional + len(recipe.kwargs)
    shape: Shape = (
        tuple(kinds[:positional]),
        tuple((_plain(name), kind) for (name, _), kind in zip(recipe.kwargs, kinds[positional:named])),
        tuple((_plain(name), kind) for (name, _), kind in zip(recipe.props, kinds[named:])),
        lifecycle,
        bool(recipe.unchecked),
    )
    code = _CODE.get(shape)
    if code is None:
        module = compile(_source(*shape), "<springpython builder>", "exec")
        code = _CODE.setdefault(shape, next(c for c in module.co_consts if isinstance(c, types.CodeType)))
    recipe.build = types.FunctionType(code, ns, f"build_{recipe.id}")
    return recipe.build


def _source(
    args: tuple[str, ...],
    kwargs: tuple[tuple[str | None, str], ...],
    props: tuple[tuple[str | None, str], ...],
    lifecycle: str,
    check: bool,
) -> str:
    """The builder's source for one shape of definition. Values are evaluated inside
    the ``try`` of what they are for, so a value that cannot be made (a set of lists)
    fails as that argument's or property's error."""
    body: list[str] = []
    evaluations: list[str] = []

    def value(kind: str, n: int) -> str:
        if kind == "c":
            return f"c{n}"
        evaluations.append(f"        v{n} = p{n}(track)")
        return f"v{n}"

    call = [value(kind, n) for n, kind in enumerate(args)]
    n = len(args)
    for name, kind in kwargs:
        expr = value(kind, n)
        call.append(f"{name}={expr}" if name else f"**{{n{n}: {expr}}}")
        n += 1
    body += [
        "    try:",
        *evaluations,
        f"        obj = cls({', '.join(call)})",
        "    except Exception as exc:",
        "        fail(recipe, exc, 'creating it failed')",
    ]
    if check:  # ``check`` is the container's one-shot check until it has run
        body += ["    if recipe.unchecked:", "        check(recipe, obj)"]
    for name, kind in props:
        evaluations.clear()
        expr = value(kind, n)
        body += [
            "    try:",
            *evaluations,
            f"        obj.{name} = {expr}" if name else f"        setattr(obj, n{n}, {expr})",
            "    except Exception as exc:",
            f"        fail(recipe, exc, 'setting property %r failed' % (n{n},))",
        ]
        n += 1
    if lifecycle == "always":
        body.append("    return initialize(recipe, obj, track)")
    else:
        body += ["    if processors:", "        return initialize(recipe, obj, track)", "    return obj"]
    return "def build(track):\n" + "\n".join(body) + "\n"


def _factory_builder(recipe: Recipe, container: "ObjectContainer") -> Producer:
    from_factory = container._from_factory
    initialize = container._initialize

    def build(track: bool) -> Any:
        return initialize(recipe, from_factory(recipe), track)

    return build
