"""The object container: reads definitions from configurations, checks them, and
creates, wires and hands out objects.

Rules of this file: every definition is compiled once, when the container is built,
into a :class:`_Recipe` whose value producers are plain closures, so creating an
object does no look-ups by name and no parsing. Static problems (unknown classes,
unknown references, cycles, arguments that cannot fit the constructor) are found at
that point for every definition, lazy ones included. Singletons are created under
one re-entrant lock and remembered in the order they finished, which is the reverse
of the order they must be destroyed in."""

from __future__ import annotations

import decimal
import difflib
import functools
import logging
import typing
import threading
from typing import Any, Callable, Iterable, Sequence

from .._scope import Scope
from ..config.definitions import (
    Argument,
    Collection,
    Config,
    Inner,
    Mapping,
    ObjectDefinition,
    Ref,
    Value,
    ValueNode,
)
from ..errors import (
    CircularDependencyError,
    ConfigurationError,
    NoSuchObjectError,
    ObjectCreationError,
    SpringPythonError,
)
from . import _builders, _resolve
from ._builders import Build, Constant
from .lifecycle import (
    ApplicationContextAware,
    DisposableObject,
    InitializingObject,
    ObjectPostProcessor,
)

__all__ = ["ObjectContainer", "check_configs"]

log = logging.getLogger(__name__)

_MISSING = object()
_IMMUTABLE = (str, bytes, int, float, complex, bool, type(None), frozenset, tuple, decimal.Decimal)

Producer = Callable[[bool], Any]


def _unbuildable(track: bool) -> Any:
    raise SpringPythonError("internal error: an object was built before its definition was compiled")


class _Recipe:
    """A compiled definition: the class or factory, and producers for every value."""

    __slots__ = (
        "id", "definition", "cls", "factory", "singleton", "lazy", "args", "kwargs",
        "props", "destroy_method", "aware", "initializing", "disposable", "build", "generated",
    )

    def __init__(self, definition: ObjectDefinition) -> None:
        self.id = definition.id
        self.definition = definition
        self.cls: Any = None
        self.factory = definition.factory
        self.singleton = (definition.scope or Scope.SINGLETON) is Scope.SINGLETON
        self.lazy = bool(definition.lazy_init)
        self.args: tuple[Producer, ...] = ()
        self.kwargs: tuple[tuple[str, Producer], ...] = ()
        self.props: tuple[tuple[str, Producer], ...] = ()
        self.destroy_method = definition.destroy_method
        self.aware = self.initializing = self.disposable = None  # known per class, else checked per object
        self.build: Callable[[bool], Any] = _unbuildable  # set once compiled (see _builders)
        self.generated = False

    def __repr__(self) -> str:
        what = self.factory if self.factory is not None else getattr(self.cls, "__qualname__", self.cls)
        return f"<recipe {self.id} {what} {'singleton' if self.singleton else 'prototype'}>"


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
    """Holds the definitions of one or more configurations and creates objects from them."""

    def __init__(self, config: Config | Sequence[Config] | None = None) -> None:
        self.configs = _normalize(config)
        self._lock = threading.RLock()
        self._singletons: dict[str, Any] = {}
        self._disposables: list[tuple[str, Any, str | None]] = []
        self._post_processors: list[ObjectPostProcessor] = []
        self._creating = threading.local()
        self._closed = False
        definitions = self._read(self.configs)
        self.object_defs, problems = _compile_all(self, definitions)
        self._recipes: dict[str, _Recipe] = problems.recipes
        if problems.errors:
            raise problems.errors[0]
        for recipe in (*self._recipes.values(), *problems.inner):
            recipe.build = _builders.interpreter(recipe, self)
        self._prototypes = {
            i: _builders.generate(r, self) for i, r in self._recipes.items() if not r.singleton
        }

    # -- reading ------------------------------------------------------------
    @staticmethod
    def _read(configs: Iterable[Config]) -> dict[str, ObjectDefinition]:
        definitions: dict[str, ObjectDefinition] = {}
        for config in configs:
            log.debug("=== Scanning configuration %r for object definitions ===", config)
            for definition in config.read_object_defs():
                previous = definitions.get(definition.id)
                if previous is None:
                    log.debug("%s object definition does not exist. Adding to list of definitions.", definition.id)
                else:
                    log.info(
                        "object '%s' defined at %s overrides the definition at %s",
                        definition.id, definition.source, previous.source,
                    )
                    del definitions[definition.id]
                definitions[definition.id] = definition
        log.debug("=== Done reading object definitions. ===")
        return definitions

    # -- public API ----------------------------------------------------------
    def get_object(self, name: str) -> Any:
        """The object called ``name``: the shared one for a singleton, a new one for a prototype."""
        obj = self._singletons.get(name, _MISSING)
        if obj is not _MISSING:
            return obj
        build = self._prototypes.get(name)
        if build is not None:
            return build(False)
        return self._get_slow(name)

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
    def _get_slow(self, name: str) -> Any:
        recipe = self._recipes.get(name)
        if recipe is None or self._closed:
            raise self._no_such_object(name)
        if not recipe.singleton:
            return recipe.build(False)
        return self._singleton(recipe)

    def _no_such_object(self, name: str) -> NoSuchObjectError:
        if self._closed:
            return NoSuchObjectError(f"no object named {name!r}: the context has been shut down")
        close = difflib.get_close_matches(str(name), self._recipes, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return NoSuchObjectError(f"no object named {name!r} is defined{hint}", object_id=str(name))

    def _singleton(self, recipe: _Recipe) -> Any:
        with self._lock:
            obj = self._singletons.get(recipe.id, _MISSING)
            if obj is not _MISSING:
                return obj
            if self._closed:
                raise SpringPythonError(f"cannot create {recipe.id!r}: the context has been shut down")
            log.debug("Did NOT find object '%s' in the singleton storage.", recipe.id)
            obj = recipe.build(True)
            self._singletons[recipe.id] = obj
            log.debug("Stored object '%s' in container's singleton storage", recipe.id)
            return obj

    def _from_factory(self, recipe: _Recipe) -> Any:
        stack = self._creating.__dict__.setdefault("stack", [])
        if recipe.id in stack:
            cycle = stack[stack.index(recipe.id):] + [recipe.id]
            raise CircularDependencyError(cycle, source=recipe.definition.source)
        stack.append(recipe.id)
        try:
            return recipe.factory()
        except ConfigurationError:
            raise
        except Exception as exc:
            raise self._creation_error(recipe, exc, "its factory failed") from exc
        finally:
            stack.pop()

    def _initialize(self, recipe: _Recipe, obj: Any, track: bool) -> Any:
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
                raise self._creation_error(recipe, exc, "after_properties_set() failed") from exc
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
    def _creation_error(recipe: _Recipe, exc: Exception, what: str) -> ConfigurationError:
        if isinstance(exc, ConfigurationError) and exc.object_id is not None:
            return exc
        return ObjectCreationError(
            f"{what}: {type(exc).__name__}: {exc}",
            source=recipe.definition.source,
            object_id=recipe.id,
        )

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
        for name, obj, method in disposables:
            self._dispose(name, obj, method)
        log.debug("context shut down (%d objects destroyed)", len(disposables))

    def _dispose(self, name: str, obj: Any, method: str | None) -> None:
        calls = []
        if isinstance(obj, DisposableObject):
            calls.append("destroy")
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


class _Compiled:
    def __init__(self) -> None:
        self.recipes: dict[str, _Recipe] = {}
        self.inner: list[_Recipe] = []  # inner objects, wherever they sit (collections too)
        self.errors: list[ConfigurationError] = []


def _compile_all(
    container: ObjectContainer | None, definitions: dict[str, ObjectDefinition]
) -> tuple[dict[str, ObjectDefinition], _Compiled]:
    """Merge parents, run the static checks and compile every concrete definition."""
    compiled = _Compiled()
    merged, problems = _resolve.merge_parents(definitions)
    compiled.errors.extend(problems)
    concrete = {i: d for i, d in merged.items() if not d.abstract}
    refs = {i: _resolve.definition_refs(d) for i, d in concrete.items()}
    for defn in concrete.values():
        for ref in refs[defn.id]:
            target = merged.get(ref.object_id)
            if target is None:
                close = difflib.get_close_matches(ref.object_id, concrete, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                compiled.errors.append(
                    ConfigurationError(
                        f"reference to unknown object {ref.object_id!r}{hint}",
                        source=ref.source or defn.source,
                        object_id=defn.id,
                    )
                )
            elif target.abstract:
                compiled.errors.append(
                    ConfigurationError(
                        f"reference to abstract object {ref.object_id!r}, which cannot be created",
                        source=ref.source or defn.source,
                        object_id=defn.id,
                    )
                )
    compiled.errors.extend(_resolve.find_cycles(concrete, refs))
    if compiled.errors and container is not None:
        return merged, compiled
    compiler = _Compiler(container, concrete, compiled)
    for defn in concrete.values():
        compiler.recipe(defn)
    return merged, compiled


class _Compiler:
    """Turns definitions into recipes, resolving classes and binding producers."""

    def __init__(self, container: ObjectContainer | None, concrete: dict[str, ObjectDefinition], out: _Compiled) -> None:
        self.container = container
        self.concrete = concrete
        self.out = out
        self.classes: dict[str, Any] = {}  # class name -> class, for this compilation

    def recipe(self, defn: ObjectDefinition, register: bool = True) -> _Recipe:
        existing = self.out.recipes.get(defn.id) if register else None
        if existing is not None:
            return existing
        recipe = _Recipe(defn)
        if register:
            self.out.recipes[defn.id] = recipe
        if recipe.factory is None:
            try:
                cls = self.classes.get(defn.class_name or "")
                if cls is None:
                    cls = self.classes[defn.class_name or ""] = _resolve.resolve_class(defn)
                recipe.cls = cls
                self._arguments(recipe, defn)
            except ConfigurationError as exc:
                self.out.errors.append(exc)
                return recipe
            recipe.props = tuple((p.name, self.producer(p.value, defn)) for p in defn.properties)
            if isinstance(cls, type):
                recipe.aware, recipe.initializing, recipe.disposable = _lifecycle_flags(cls)
        return recipe

    def _arguments(self, recipe: _Recipe, defn: ObjectDefinition) -> None:
        args = defn.constructor_args
        if all(a.index is None and a.name is None for a in args):  # the common case
            _resolve.check_signature(recipe.cls, len(args), (), defn)
            recipe.args = tuple(self.producer(a.value, defn) for a in args)
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
        recipe.args = tuple(self.producer(a.value, defn) for a in ordered)
        recipe.kwargs = tuple((name, self.producer(a.value, defn)) for name, a in named.items())

    def producer(self, node: ValueNode, owner: ObjectDefinition) -> Producer:
        """A producer ``produce(track) -> value`` for one value node."""
        if isinstance(node, Value):
            if isinstance(node.value, _IMMUTABLE):
                return Constant(node.value)
            raise ConfigurationError(
                f"a literal value must be immutable, got {type(node.value).__name__}",
                source=owner.source, object_id=owner.id,
            )
        if isinstance(node, Ref):
            return self._ref(node.object_id)
        if isinstance(node, Inner):
            inner = self.recipe(node.definition, register=False)
            self.out.inner.append(inner)
            return Build(inner)
        if isinstance(node, Collection):
            return self._collection(node, owner)
        if isinstance(node, Mapping):
            return self._mapping(node, owner)
        raise ConfigurationError(f"unsupported value {node!r}", source=owner.source, object_id=owner.id)

    def _ref(self, target_id: str) -> Producer:
        container = self.container
        if container is None:  # checking only: nothing is ever built
            return Constant(None)
        target = self.recipe(self.concrete[target_id])
        if not target.singleton:
            return Build(target)
        singletons = container._singletons
        get = container._singleton

        def singleton(track: bool) -> Any:
            obj = singletons.get(target_id, _MISSING)
            return get(target) if obj is _MISSING else obj

        return singleton

    def _collection(self, node: Collection, owner: ObjectDefinition) -> Producer:
        kind = node.kind
        producers = [self.producer(item, owner) for item in node.items]
        if all(isinstance(p, Constant) for p in producers):
            values = [p.value for p in producers]
            if kind in (tuple, frozenset):
                return Constant(kind(values))
            return lambda track: kind(values)
        return lambda track: kind([p(track) for p in producers])

    def _mapping(self, node: Mapping, owner: ObjectDefinition) -> Producer:
        pairs = [(self.producer(k, owner), self.producer(v, owner)) for k, v in node.entries]
        if all(isinstance(k, Constant) and isinstance(v, Constant) for k, v in pairs):
            template = {k.value: v.value for k, v in pairs}
            return lambda track: dict(template)
        return lambda track: {k(track): v(track) for k, v in pairs}


@functools.lru_cache(maxsize=4096)
def _lifecycle_flags(cls: type) -> tuple[bool, bool, bool]:
    """Which lifecycle base classes ``cls`` extends (aware, initializing, disposable)."""
    return (
        issubclass(cls, ApplicationContextAware),
        issubclass(cls, InitializingObject),
        issubclass(cls, DisposableObject),
    )


def check_configs(configs: Config | Sequence[Config]) -> list[ConfigurationError]:
    """Every static problem in ``configs`` (classes, references, cycles, arguments),
    without creating anything; what ``springpython validate`` reports."""
    definitions = ObjectContainer._read(_normalize(configs))
    return _compile_all(None, definitions)[1].errors


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
