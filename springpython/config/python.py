"""``PythonConfig``: configuration written as Python methods marked ``@Object``.

Each marked method is one object definition named after the method. Methods call
each other to wire objects; once the config belongs to a context those calls go
through the context, so a singleton is created once however many methods ask for it.
All state lives on the config instance; nothing is kept at module level."""

from __future__ import annotations

import functools
import inspect
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


_SPEC = "__springpython_object__"


@overload
def Object(func: F, /) -> F: ...
@overload
def Object(
    scope: Scope | str = ..., lazy_init: bool = ..., *, destroy_method: str | None = ...
) -> Callable[[F], F]: ...


def Object(  # noqa: N802 - the name users know from Spring Python
    scope: Any = Scope.SINGLETON,
    lazy_init: bool = False,
    *,
    destroy_method: str | None = None,
) -> Any:
    """Mark a ``PythonConfig`` method as an object definition.

    Usable bare (``@Object``) or with arguments (``@Object(scope.PROTOTYPE, lazy_init=True)``)."""
    if callable(scope) and not isinstance(scope, (Scope, str)):
        return _mark(scope, _ObjectSpec(Scope.SINGLETON, False, None))
    spec = _ObjectSpec(convert(scope), bool(lazy_init), destroy_method)
    return lambda func: _mark(func, spec)


def _mark(func: Callable[..., Any], spec: _ObjectSpec) -> Callable[..., Any]:
    name = func.__name__

    @functools.wraps(func)
    def wrapper(self: "PythonConfig") -> Any:
        return self._object(name)

    setattr(wrapper, _SPEC, spec)
    return wrapper


class PythonConfig(Config, ApplicationContextAware):
    """Subclass it and mark methods with ``@Object``; hand an instance to ``ApplicationContext``."""

    def __init__(self) -> None:
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
        if spec.scope is Scope.PROTOTYPE:
            return func(self)
        with self._standalone_lock:
            if name not in self._standalone:
                self._standalone[name] = func(self)
            return self._standalone[name]

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
            definitions.append(
                ObjectDefinition(
                    id=name,
                    source=source,
                    factory=functools.partial(func, self),
                    scope=spec.scope,
                    lazy_init=spec.lazy_init,
                    destroy_method=spec.destroy_method,
                )
            )
        return definitions

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} (PythonConfig)>"
