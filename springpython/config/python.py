"""``PythonConfig``: configuration written as Python methods marked ``@Object``.

Each marked method is one object definition named after the method. Methods call
each other to wire objects; once the config belongs to a context those calls go
through the context, so a singleton is created once however many methods ask for it.
All state lives on the config instance; nothing is kept at module level."""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, TypeVar, overload

from .._scope import Scope, convert
from ..context.lifecycle import ApplicationContextAware
from ..errors import Source
from .definitions import Config, ObjectDefinition

__all__ = ["PythonConfig", "Object"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class _ObjectSpec:
    scope: Scope
    lazy_init: bool
    destroy_method: str | None
    abstract: bool = False
    parent: str | None = None


_SPEC = "__springpython_object__"


@overload
def Object(func: F, /) -> F: ...
@overload
def Object(
    scope: Scope | str = ...,
    lazy_init: bool = ...,
    *,
    destroy_method: str | None = ...,
    abstract: bool = ...,
    parent: str | None = ...,
) -> Callable[[F], F]: ...


def Object(  # noqa: N802 - the name users know from Spring Python
    scope: Any = Scope.SINGLETON,
    lazy_init: bool = False,
    *,
    destroy_method: str | None = None,
    abstract: bool = False,
    parent: str | None = None,
) -> Any:
    """Mark a ``PythonConfig`` method as an object definition.

    Usable bare (``@Object``) or with arguments (``@Object(scope.PROTOTYPE, lazy_init=True)``).
    ``abstract=True`` makes a template that is not an object of its own;
    ``parent="base"`` hands the method a new object of ``base`` (made with
    ``get_object("base", ignore_abstract=True)``) as its argument, to finish, as in
    Spring Python 1.2."""
    if callable(scope) and not isinstance(scope, (Scope, str)):
        return _mark(scope, _ObjectSpec(Scope.SINGLETON, False, None))
    spec = _ObjectSpec(convert(scope), bool(lazy_init), destroy_method, bool(abstract), parent)
    return lambda func: _mark(func, spec)


def _mark(func: Callable[..., Any], spec: _ObjectSpec) -> Callable[..., Any]:
    name = func.__name__

    @functools.wraps(func)
    def wrapper(self: "PythonConfig", *args: Any) -> Any:
        if args:  # a parent's method called by hand with the object to finish (1.2's idiom)
            return func(self, *args)
        return self._object(name)

    setattr(wrapper, _SPEC, spec)
    return wrapper


class PythonConfig(Config, ApplicationContextAware):
    """Subclass it and mark methods with ``@Object``; hand an instance to ``ApplicationContext``."""

    def __init__(self) -> None:
        #: A logger named after the configuration class, for use in ``@Object`` methods (as in 1.2).
        self.logger = logging.getLogger(f"{type(self).__module__}.{type(self).__qualname__}")
        self.app_context = None
        self._standalone: dict[str, Any] = {}
        self._standalone_lock = threading.RLock()

    def _object(self, name: str) -> Any:
        """What a marked method returns: the context's object, or (before there is a
        context) one built here, honouring the singleton scope."""
        context = self.app_context
        if context is not None:
            return context.get_object(name)
        spec, func = self._specs()[name]
        if spec.scope is Scope.PROTOTYPE or spec.abstract:
            return self._call(spec, func)
        with self._standalone_lock:
            if name not in self._standalone:
                self._standalone[name] = self._call(spec, func)
            return self._standalone[name]

    def _call(self, spec: _ObjectSpec, func: Callable[..., Any]) -> Any:
        """Run a marked method, handing it a new object of its parent if it has one."""
        if spec.parent is None:
            return func(self)
        context = self.app_context
        if context is not None:
            return func(self, context.get_object(spec.parent, ignore_abstract=True))
        parent_spec, parent_func = self._specs()[spec.parent]
        return func(self, self._call(parent_spec, parent_func))

    def _specs(self) -> dict[str, tuple[_ObjectSpec, Callable[..., Any]]]:
        found = {}
        for klass in reversed(type(self).__mro__):
            for attr, member in vars(klass).items():
                spec = getattr(member, _SPEC, None)
                if spec is not None:
                    found[attr] = (spec, member.__wrapped__)
                elif attr in found:
                    del found[attr]  # overridden by a plain method
        return found

    def read_object_defs(self) -> list[ObjectDefinition]:
        """One definition per ``@Object`` method, named after it."""
        definitions = []
        for name, (spec, func) in self._specs().items():
            code = getattr(func, "__code__", None)
            source = Source(
                inspect.getsourcefile(func) if code else type(self).__qualname__,
                code.co_firstlineno if code else None,
            )
            factory = functools.partial(func, self)
            if spec.parent is not None:
                factory = functools.partial(self._call, spec, func)
            definitions.append(
                ObjectDefinition(
                    id=name,
                    source=source,
                    factory=factory,
                    scope=spec.scope,
                    lazy_init=spec.lazy_init,
                    abstract=spec.abstract,
                    parent=spec.parent,
                    destroy_method=spec.destroy_method,
                )
            )
        return definitions

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} (PythonConfig)>"
