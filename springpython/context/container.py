"""The object container: reads definitions from configurations, checks them, and
creates, wires and hands out objects.

Rules of this file: every definition is compiled once, when the container is built,
into a :class:`~._builders.Recipe` (class resolved, arguments in call order, inner
objects compiled in place), so creating an object does no parsing and no class
look-up. Static problems (unknown classes, unknown references, cycles, literals
that are not immutable, arguments that cannot fit the constructor) are found at that
point for every definition, lazy ones included. Singletons are created under
one re-entrant lock and remembered in the order they finished, which is the reverse
of the order they must be destroyed in."""

from __future__ import annotations

import dataclasses
import decimal
import difflib
import functools
import inspect
import logging
import typing
import threading
import unicodedata
from typing import Any, Iterable, Iterator, NoReturn, Sequence

from ..config.definitions import (
    Argument,
    Collection,
    Config,
    Inner,
    Mapping,
    ObjectDefinition,
    PropertyDef,
    Ref,
    Value,
    ValueNode,
)
from ..errors import (
    AbstractObjectError,
    CircularDependencyError,
    ConfigurationError,
    NoSuchObjectError,
    ObjectCreationError,
    SpringPythonError,
)
from . import _builders, _resolve
from ._builders import Fresh, Node, Recipe
from .lifecycle import (
    ApplicationContextAware,
    DisposableObject,
    InitializingObject,
    ObjectPostProcessor,
)
from .properties import declared_properties, unknown_property_message

__all__ = ["ObjectContainer", "check_configs", "Report", "validate_configs"]

log = logging.getLogger(__name__)

_MISSING = object()
#: Singletons created inside one another (references followed) before the next one
#: first creates what it refers to without recursion (:meth:`ObjectContainer._create_dependencies`).
_NESTED_CREATIONS = 32

_IMMUTABLE = (str, bytes, int, float, complex, bool, type(None), frozenset, tuple, decimal.Decimal)
_PLAIN = frozenset({str, int, float, bool, type(None)})  # the literals readers make most


def _normalize(configs: Config | Sequence[Config] | None) -> list[Config]:
    if configs is None:
        return []
    if isinstance(configs, Config):
        return [configs]
    result = list(configs)
    for config in result:
        if not isinstance(config, Config):
            raise TypeError(f"expected a configuration (XMLConfig, PythonConfig…), got {config!r}")
    return result


class ObjectContainer:
    """Holds the definitions of one or more configurations and creates objects from them.

    An id defined again in a later configuration replaces the earlier definition
    with a WARNING naming both places; with ``allow_overriding=False`` it is a
    :class:`ConfigurationError` instead."""

    def __init__(self, config: Config | Sequence[Config] | None = None, *, allow_overriding: bool = True) -> None:
        self.configs = _normalize(config)
        self._lock = threading.RLock()
        self._singletons: dict[str, Any] = {}
        self._disposables: list[tuple[str, Any, str | None]] = []
        self._post_processors: list[ObjectPostProcessor] = []
        self._creating = threading.local()
        self._closed = False
        self._generated: list[Recipe] = []  # recipes with a generated builder (see _builders.generate)
        self._abstract: dict[str, Recipe] = {}  # abstract definitions compiled on demand
        definitions = self._read(self.configs, allow_overriding=allow_overriding)
        self.object_defs, compiled = _compile_all(definitions)
        self._recipes: dict[str, Recipe] = compiled.recipes
        self._refs = compiled.refs
        if compiled.errors:
            raise compiled.errors[0]
        self._prototypes = {
            i: _builders.generate(r, self) for i, r in self._recipes.items() if not r.singleton
        }

    # -- reading ------------------------------------------------------------
    @staticmethod
    def _read(
        configs: Iterable[Config],
        *,
        allow_overriding: bool = True,
        overrides: list[ConfigurationError] | None = None,
    ) -> dict[str, ObjectDefinition]:
        """The definitions of ``configs`` by id; a later one replaces an earlier one
        (added to ``overrides`` if given, else logged at WARNING), or is refused."""
        definitions: dict[str, ObjectDefinition] = {}
        for config in configs:
            log.debug("=== Scanning configuration %r for object definitions ===", config)
            for definition in config.read_object_defs():
                previous = definitions.get(definition.id)
                if previous is None:
                    log.debug("%s object definition does not exist. Adding to list of definitions.", definition.id)
                else:
                    problem = ConfigurationError(
                        f"defined again: this definition replaces the one at {previous.source}",
                        source=definition.source,
                        object_id=definition.id,
                    )
                    if not allow_overriding:
                        raise ConfigurationError(
                            f"defined again: the one at {previous.source} may not be replaced "
                            "(overriding is not allowed)",
                            source=definition.source,
                            object_id=definition.id,
                        )
                    if overrides is None:
                        log.warning("%s", problem)
                    else:
                        overrides.append(problem)
                    del definitions[definition.id]
                definitions[definition.id] = definition
        log.debug("=== Done reading object definitions. ===")
        return definitions

    # -- public API ----------------------------------------------------------
    def get_object(self, name: str, ignore_abstract: bool = False) -> Any:
        """The object called ``name``: the shared one for a singleton, a new one for a prototype.

        An abstract definition is a template for others: asking for it raises
        :class:`~springpython.errors.AbstractObjectError`, unless ``ignore_abstract`` is
        true (Spring Python 1.2's switch): then a new object is made from it each time."""
        obj = self._singletons.get(name, _MISSING)
        if obj is not _MISSING:
            return obj
        build = self._prototypes.get(name)
        if build is not None:
            return build(False)
        return self._get_slow(name, ignore_abstract)

    def __contains__(self, name: object) -> bool:
        return name in self._recipes

    def get_object_names(self) -> list[str]:
        """The ids of every object that can be asked for (abstract definitions excluded)."""
        return list(self._recipes)

    def get_objects_by_type(self, type_: type, include_type: bool = True) -> dict[str, Any]:
        """Every object whose class is ``type_`` or a subclass (only subclasses when
        ``include_type`` is false), by id. Objects from factories (``PythonConfig``) are
        created to learn their type; objects of other classes are not created."""
        result = {}
        for name, recipe in list(self._recipes.items()):
            cls = recipe.cls
            if cls is not None and not (isinstance(cls, type) and issubclass(cls, type_)):
                continue
            obj = self.get_object(name)
            if isinstance(obj, type_) and (include_type or type(obj) is not type_):
                result[name] = obj
        return result

    # -- creation -----------------------------------------------------------
    def _get_slow(self, name: str, ignore_abstract: bool = False) -> Any:
        recipe = self._recipes.get(name)
        if recipe is None and not self._closed:
            definition = self.object_defs.get(name)
            if definition is not None and definition.abstract:
                if not ignore_abstract:
                    raise AbstractObjectError(
                        f"object {name!r} is abstract: a template for other definitions "
                        "(get_object(name, ignore_abstract=True) makes one from it)",
                        source=definition.source, object_id=name,
                    )
                return _builders.make(self, self._abstract_recipe(definition), True)
        if recipe is None or self._closed:
            raise self._no_such_object(name)
        if not recipe.singleton:
            return _builders.make(self, recipe, False)
        return self._singleton(recipe)

    def _abstract_recipe(self, definition: ObjectDefinition) -> Recipe:
        """The recipe of an abstract definition, compiled the first time it is asked for."""
        with self._lock:
            recipe = self._abstract.get(definition.id)
            if recipe is not None:
                return recipe
            compiled = _Compiled()
            compiler = _Compiler(compiled)
            refs = compiler.compile(definition)
            for ref in refs:
                if ref.object_id not in self._recipes:
                    raise ConfigurationError(
                        f"reference to unknown or abstract object {ref.object_id!r}",
                        source=ref.source or definition.source, object_id=definition.id,
                    )
            if compiler.errors:
                raise compiler.errors[0]
            recipe = self._abstract[definition.id] = compiled.recipes[definition.id]
            return recipe

    def _no_such_object(self, name: str) -> NoSuchObjectError:
        if self._closed:
            return NoSuchObjectError(f"no object named {name!r}: the context has been shut down")
        close = difflib.get_close_matches(str(name), self._recipes, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return NoSuchObjectError(f"no object named {name!r} is defined{hint}", object_id=str(name))

    def _singleton(self, recipe: Recipe) -> Any:
        with self._lock:
            obj = self._singletons.get(recipe.id, _MISSING)
            if obj is not _MISSING:
                return obj
            if self._closed:
                raise SpringPythonError(f"cannot create {recipe.id!r}: the context has been shut down")
            log.debug("Did NOT find object '%s' in the singleton storage.", recipe.id)
            creating = self._creating
            nesting = creating.__dict__.get("nesting", 0)
            if nesting >= _NESTED_CREATIONS and recipe.id in self._refs:
                self._create_dependencies(recipe.id)
            creating.nesting = nesting + 1
            try:
                obj = _builders.make(self, recipe, True)
            finally:
                creating.nesting = nesting
            self._singletons[recipe.id] = obj
            log.debug("Stored object '%s' in container's singleton storage", recipe.id)
            return obj

    def _create_dependencies(self, root: str) -> None:
        """Create the singletons ``root`` refers to, directly or not, those it reaches
        last first, by walking the references rather than recursing: a singleton
        created inside :data:`_NESTED_CREATIONS` others does this, so that a chain of
        references of any length is created without Python's recursion limit (each
        object then finds what it refers to made already)."""
        refs, created = self._refs, self._singletons
        seen = {root}
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(refs.get(root, ())))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in seen and child not in created:
                    seen.add(child)
                    stack.append((child, iter(refs.get(child, ()))))
                    break
            else:
                stack.pop()
                recipe = self._recipes.get(node)
                if node != root and recipe is not None and recipe.singleton and node not in created:
                    self._singleton(recipe)

    @staticmethod
    def _check_unknown(recipe: Recipe, obj: Any) -> None:
        """Log, once per definition, the properties of a plain class that the new
        object (before its properties are set) does not have: probably misspelt."""
        unchecked, recipe.unchecked = recipe.unchecked, ()
        try:  # never through __getattr__: a remote proxy would answer any name
            own = object.__getattribute__(obj, "__dict__")
        except AttributeError:
            own = {}
        for prop in unchecked:
            if prop.name not in own and inspect.getattr_static(obj, prop.name, _MISSING) is _MISSING:
                log.warning("%s", _never_had(recipe.definition, prop, type(obj)))

    @staticmethod
    def _check_declared(recipe: Recipe, obj: Any) -> None:
        """Refuse an object from a factory that was given an attribute its class does
        not declare (``exporter.serivce_port = 7101`` in a ``PythonConfig`` method)."""
        cls: type = type(obj)
        declared = declared_properties(cls)
        if declared is None:
            return
        for name in getattr(obj, "__dict__", {}):
            if name.startswith("_") or name in declared or _resolve.known_on_class(cls, name):
                continue
            raise ConfigurationError(
                unknown_property_message(cls, name), source=recipe.definition.source, object_id=recipe.id
            )

    def _from_factory(self, recipe: Recipe) -> Any:
        stack = self._creating.__dict__.setdefault("stack", [])
        if recipe.id in stack:
            cycle = stack[stack.index(recipe.id):] + [recipe.id]
            raise CircularDependencyError(cycle, source=recipe.definition.source)
        stack.append(recipe.id)
        try:
            obj = recipe.factory()  # type: ignore[misc]  # only recipes with a factory get here
        except ConfigurationError:
            raise
        except Exception as exc:
            self._fail(recipe, exc, "its factory failed")
        finally:
            stack.pop()
        self._check_declared(recipe, obj)
        return obj

    def _initialize(self, recipe: Recipe, obj: Any, track: bool) -> Any:
        name = recipe.id
        known = recipe.aware is not None  # lifecycle flags known from the class
        if recipe.aware if known else isinstance(obj, ApplicationContextAware):
            obj.set_app_context(self)
        processors = self._post_processors
        if processors and not isinstance(obj, ObjectPostProcessor):
            for processor in processors:
                obj = processor.post_process_before_initialization(obj, name)
            known = False  # the object may have been replaced: check it, not the class
        if recipe.initializing if known else isinstance(obj, InitializingObject):
            try:
                obj.after_properties_set()
            except Exception as exc:
                self._fail(recipe, exc, "after_properties_set() failed")
        if track and (
            (recipe.disposable if known else isinstance(obj, DisposableObject)) or recipe.destroy_method
        ):
            with self._lock:
                self._disposables.append((name, obj, recipe.destroy_method))
        if processors and not isinstance(obj, ObjectPostProcessor):
            for processor in processors:
                obj = processor.post_process_after_initialization(obj, name)
        return obj

    @staticmethod
    def _fail(recipe: Recipe, exc: Exception, what: str) -> NoReturn:
        """Raise ``exc`` as an :class:`ObjectCreationError` naming the object (chained),
        or as it is when it already names one (a referenced object that failed)."""
        if isinstance(exc, ConfigurationError) and exc.object_id is not None:
            raise exc
        raise ObjectCreationError(
            f"{what}: {type(exc).__name__}: {exc}",
            source=recipe.definition.source,
            object_id=recipe.id,
        ) from exc

    # -- shutdown -------------------------------------------------------------
    def shutdown(self) -> None:
        """Destroy every singleton in reverse order of creation, exactly once.

        A failing ``destroy()`` is logged and the others still run."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            disposables = self._disposables[::-1]
            self._disposables.clear()
            self._singletons.clear()
            self._prototypes.clear()
            self._post_processors.clear()
            for recipe in self._generated:
                recipe.build = None  # a generated builder refers back to its recipe and this container
            self._generated.clear()
        for name, obj, method in disposables:
            self._dispose(name, obj, method)
        log.debug("context shut down (%d objects destroyed)", len(disposables))

    def _dispose(self, name: str, obj: Any, method: str | None) -> None:
        calls = []
        if isinstance(obj, DisposableObject):
            # Spring Python 1.2: a ``destroy_method`` attribute names the method to call instead
            calls.append(obj.destroy_method or "destroy")
        if method and method not in calls:
            calls.append(method)
        for call in calls:
            log.debug("Destroying object '%s' with %s()", name, call)
            try:
                getattr(obj, call)()
            except Exception:
                log.warning("destroying object '%s' with %s() failed", name, call, exc_info=True)

    @property
    def closed(self) -> bool:
        """Whether :meth:`shutdown` has run."""
        return self._closed


def _check_name(what: str, name: str, source: Any, definition: ObjectDefinition) -> None:
    """Refuse a name that Unicode NFKC normalisation changes (``ｘ``, ``ﬁle``): Python
    reads such an identifier in source code as its normal form, so the attribute set
    by name would be another one than the class's code uses; and a generated builder
    (prototypes) would set the normal form where a singleton got the name as written."""
    normal = unicodedata.normalize("NFKC", name)
    if normal != name:
        raise ConfigurationError(
            f"{what} name {name!r} is not in Unicode normal form NFKC: Python reads it as "
            f"{normal!r}; write {normal!r}",
            source=source, object_id=definition.id,
        )


def _never_had(definition: ObjectDefinition, prop: PropertyDef, cls: type) -> ConfigurationError:
    return ConfigurationError(
        f"property {prop.name!r} is not an attribute of {cls.__qualname__} "
        "(set anyway; misspelt?)",
        source=prop.source or definition.source,
        object_id=definition.id,
    )


class _Compiled:
    def __init__(self) -> None:
        self.recipes: dict[str, Recipe] = {}
        #: The ids each recipe refers to (its inner objects' references included).
        self.refs: dict[str, list[str]] = {}
        self.errors: list[ConfigurationError] = []
        self.warnings: list[ConfigurationError] = []


def _compile_all(
    definitions: dict[str, ObjectDefinition], *, static: bool = False
) -> tuple[dict[str, ObjectDefinition], _Compiled]:
    """Merge parents, compile every concrete definition and run the static checks.

    Every problem is collected; they are listed in the order: parents, references,
    cycles, then classes and arguments. With ``static``, the properties of plain
    classes that no method of the class assigns are collected as warnings (what
    ``springpython validate`` reports without creating anything)."""
    compiled = _Compiled()
    merged, parent_problems = _resolve.merge_parents(definitions)
    concrete = {i: d for i, d in merged.items() if not d.abstract}
    compiler = _Compiler(compiled, static=static)
    refs = {i: compiler.compile(d) for i, d in concrete.items()}
    compiled.refs = {i: [r.object_id for r in found] for i, found in refs.items() if found}
    reference_problems = []
    for defn_id, found in refs.items():
        for ref in found:
            target = merged.get(ref.object_id)
            if target is not None and not target.abstract:
                continue
            defn = concrete[defn_id]
            if target is None:
                close = difflib.get_close_matches(ref.object_id, concrete, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                message = f"reference to unknown object {ref.object_id!r}{hint}"
            else:
                message = f"reference to abstract object {ref.object_id!r}, which cannot be created"
            reference_problems.append(
                ConfigurationError(message, source=ref.source or defn.source, object_id=defn.id)
            )
    cycles = _resolve.find_cycles(concrete, refs)
    compiled.errors = [*parent_problems, *reference_problems, *cycles, *compiler.errors]
    return merged, compiled


class _Compiler:
    """Turns definitions into recipes: resolves classes, puts constructor arguments
    in call order, checks literals and compiles inner objects in place."""

    def __init__(self, out: _Compiled, *, static: bool = False) -> None:
        self.out = out
        self.static = static
        self.errors: list[ConfigurationError] = []
        self.classes: dict[str, Any] = {}  # class name -> class, for this compilation

    def compile(self, defn: ObjectDefinition) -> list[Ref]:
        """Compile a top-level definition; return the references it makes, its inner
        objects' included."""
        refs: list[Ref] = []
        try:
            self.out.recipes[defn.id] = self.recipe(defn, refs)
        except RecursionError:
            self.errors.append(ConfigurationError(
                "its values are nested too deeply to compile (Python's recursion limit)",
                source=defn.source, object_id=defn.id,
            ))
            self.out.recipes[defn.id] = Recipe(defn)
        return refs

    def recipe(self, defn: ObjectDefinition, refs: list[Ref]) -> Recipe:
        recipe = Recipe(defn)
        if recipe.factory is not None:
            return recipe
        try:
            name = defn.class_name or ""
            cls = self.classes.get(name)
            if cls is None:
                cls = self.classes[name] = _resolve.resolve_class(defn)
            recipe.cls = cls
            self._arguments(recipe, defn, refs)
            properties = defn.properties
            if properties:
                for prop in properties:
                    _check_name("property", prop.name, prop.source or defn.source, defn)
                nodes = self.nodes([p.value for p in properties], defn, refs)
                recipe.props = tuple(zip([p.name for p in properties], nodes))
                recipe.unchecked = _resolve.check_properties(cls, defn, properties)
                if self.static and recipe.unchecked:
                    assigned = _resolve.self_assigned(cls)
                    self.out.warnings.extend(
                        _never_had(defn, p, cls) for p in recipe.unchecked
                        if assigned is not None and p.name not in assigned
                    )
        except ConfigurationError as exc:
            self.errors.append(exc)
            return recipe
        if isinstance(cls, type):
            recipe.aware, recipe.initializing, recipe.disposable = _lifecycle_flags(cls)
        return recipe

    def _arguments(self, recipe: Recipe, defn: ObjectDefinition, refs: list[Ref]) -> None:
        args = defn.constructor_args
        for arg in args:
            if arg.index is not None or arg.name is not None:
                break
        else:  # the common case: positional arguments only
            _resolve.check_signature(recipe.cls, len(args), (), defn)
            if args:
                recipe.args = self.nodes([a.value for a in args], defn, refs)
            return
        positional = [a for a in args if a.index is None and a.name is None]
        indexed: dict[int, Argument] = {}
        named: dict[str, Argument] = {}
        for arg in defn.constructor_args:
            if arg.index is not None and arg.name is not None:
                raise ConfigurationError(
                    "a constructor argument has both 'index' and 'name'; give one",
                    source=arg.source or defn.source, object_id=defn.id,
                )
            if arg.index is not None:
                if arg.index < 0 or arg.index in indexed:
                    raise ConfigurationError(
                        f"constructor argument index {arg.index} is negative or given twice",
                        source=arg.source or defn.source, object_id=defn.id,
                    )
                indexed[arg.index] = arg
            elif arg.name is not None:
                _check_name("constructor argument", arg.name, arg.source or defn.source, defn)
                if arg.name in named:
                    raise ConfigurationError(
                        f"constructor argument {arg.name!r} is given twice",
                        source=arg.source or defn.source, object_id=defn.id,
                    )
                named[arg.name] = arg
        total = len(positional) + len(indexed)
        slots: list[Argument | None] = [None] * total
        for index, arg in indexed.items():
            if index >= total:
                raise ConfigurationError(
                    f"constructor argument index {index} leaves a gap: only {total} positional arguments are given",
                    source=arg.source or defn.source, object_id=defn.id,
                )
            slots[index] = arg
        rest = iter(positional)
        ordered = [slot if slot is not None else next(rest) for slot in slots]
        _resolve.check_signature(recipe.cls, len(ordered), named, defn)
        recipe.args = self.nodes([a.value for a in ordered], defn, refs)
        recipe.kwargs = tuple(zip(named, self.nodes([a.value for a in named.values()], defn, refs)))

    def nodes(self, values: list[ValueNode], owner: ObjectDefinition, refs: list[Ref]) -> tuple[Node, ...]:
        """The compiled form of several values (plain literals and references, the
        common cases, are handled here without a call)."""
        # One type() call dispatches each chain; mypy does not narrow ``node`` through
        # ``kind``, so the ignores here and in :meth:`node` stand for that narrowing.
        out: list[Node] = []
        for node in values:
            kind = type(node)
            if kind is Ref:
                refs.append(node)  # type: ignore[arg-type]
            elif kind is not Value or type(node.value) not in _PLAIN:  # type: ignore[union-attr]
                node = self.node(node, owner, refs)  # type: ignore[assignment]
            out.append(node)  # type: ignore[arg-type]
        return tuple(out)

    def node(self, node: ValueNode, owner: ObjectDefinition, refs: list[Ref]) -> Node:
        """The compiled form of one value: literals checked, references collected,
        inner objects compiled (an :class:`Inner` becomes its recipe)."""
        kind = type(node)
        if kind is Value:
            if isinstance(node.value, _IMMUTABLE):  # type: ignore[union-attr]
                return node  # type: ignore[return-value]
            raise ConfigurationError(
                f"a literal value must be immutable, got {type(node.value).__name__}",  # type: ignore[union-attr]
                source=owner.source, object_id=owner.id,
            )
        if kind is Ref:
            refs.append(node)  # type: ignore[arg-type]
            return node  # type: ignore[return-value]
        if kind is Inner:
            return self.recipe(node.definition, refs)  # type: ignore[union-attr]
        if kind is Collection:
            items = self.nodes(node.items, owner, refs)  # type: ignore[union-attr, arg-type]
            if all(type(item) is Value for item in items):  # nothing to evaluate when built
                plain = [item.value for item in items]  # type: ignore[union-attr]
                if node.kind in (tuple, frozenset):  # type: ignore[union-attr, operator]
                    return Value(node.kind(plain))  # type: ignore[union-attr]
                return Fresh(node.kind, tuple(plain))  # type: ignore[union-attr]
            # the same items (by identity: comparing by value would recurse through every
            # level of a deeply nested list) mean no inner object was compiled
            same = len(items) == len(node.items) and all(a is b for a, b in zip(items, node.items))  # type: ignore[union-attr]
            return node if same else Collection(node.kind, items)  # type: ignore[union-attr, return-value]
        if kind is Mapping:
            pairs = node.entries  # type: ignore[union-attr]
            keys = self.nodes([k for k, _ in pairs], owner, refs)
            values = self.nodes([v for _, v in pairs], owner, refs)
            if all(type(k) is Value for k in keys) and all(type(v) is Value for v in values):
                return Fresh(dict, tuple((k.value, v.value) for k, v in zip(keys, values)))  # type: ignore[union-attr]
            entries = tuple(zip(keys, values))
            same = all(k is pk and v is pv for (k, v), (pk, pv) in zip(entries, pairs))
            return node if same else Mapping(entries)  # type: ignore[return-value]
        raise ConfigurationError(f"unsupported value {node!r}", source=owner.source, object_id=owner.id)


@functools.lru_cache(maxsize=4096)
def _lifecycle_flags(cls: type) -> tuple[bool, bool, bool]:
    """Which lifecycle base classes ``cls`` extends (aware, initializing, disposable)."""
    return (
        issubclass(cls, ApplicationContextAware),
        issubclass(cls, InitializingObject),
        issubclass(cls, DisposableObject),
    )


def check_configs(configs: Config | Sequence[Config]) -> list[ConfigurationError]:
    """Every static problem in ``configs`` (classes, references, cycles, arguments,
    unknown properties of declaring classes), without creating anything."""
    return validate_configs(configs).errors


@dataclasses.dataclass
class Report:
    """What :func:`validate_configs` found: ``errors`` stop a context from starting;
    ``warnings`` (an id defined again, a property a plain class may not have) do not."""

    errors: list[ConfigurationError]
    warnings: list[ConfigurationError]


def validate_configs(configs: Config | Sequence[Config]) -> Report:
    """Check ``configs`` as a context would, without creating anything: what
    ``springpython validate`` reports."""
    overrides: list[ConfigurationError] = []
    definitions = ObjectContainer._read(_normalize(configs), overrides=overrides)
    compiled = _compile_all(definitions, static=True)[1]
    return Report(compiled.errors, overrides + compiled.warnings)


def factory_returns(definition: ObjectDefinition, kind: type) -> bool:
    """Whether a factory's return annotation says it makes a ``kind`` (how a
    ``PythonConfig`` method declares a post-processor, which must exist before the
    other objects are created)."""
    factory = definition.factory
    if factory is None:
        return False
    func = getattr(factory, "func", factory)
    try:
        annotation = typing.get_type_hints(func).get("return")
    except Exception:  # an annotation that cannot be evaluated says nothing
        return False
    return isinstance(annotation, type) and issubclass(annotation, kind)
