"""Objects whose properties are declared: typed constructor keywords, checked names.

A class deriving from :class:`DeclaredProperties` lists its properties as annotated
class attributes with defaults, and gets a constructor that takes them by name (or,
in declaration order, by position)::

    class Exporter(DeclaredProperties):
        service_name: str | None = None
        service_port: int | str = 7766

Type checkers read the same declarations (:pep:`681`), so
``Exporter(serivce_port=1)`` and ``Exporter(service_port=1.5)`` are flagged before the
program runs; at run time an unknown name is a ``TypeError`` and the container
refuses it in configuration with the file, line and object id.

Rules of this file:

* A property is an annotated class attribute with a default, declared on a class that
  derives from ``DeclaredProperties`` (annotations of other bases, such as
  ``ApplicationContextAware.app_context``, are not properties), whose name does not
  start with ``_`` and whose annotation is not ``ClassVar``. Private state that needs a
  class-level default is declared with :func:`state` so type checkers leave it out of
  the constructor too.
* The constructor only assigns: values are checked where the object starts
  (``after_properties_set``), so a value set later by the container is checked the
  same way as one given to the constructor.
* :attr:`DeclaredProperties.__sp_properties__` is computed once per class and is the
  one list the container and ``springpython validate`` read."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

__all__ = ["DeclaredProperties", "state", "declared_properties", "unknown_property_message", "object_lock"]

T = TypeVar("T")

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:  # the decorator only informs type checkers

    def dataclass_transform(**_: Any) -> Any:
        return lambda cls: cls


def state(default: T, *, init: Literal[False] = False) -> T:
    """Declare private per-object state with a class-level default (not a property)."""
    return default


@dataclass_transform(field_specifiers=(state,))
class DeclaredProperties:
    """Base of objects whose properties are their annotated class attributes."""

    __sp_properties__: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            if not (isinstance(klass, type) and issubclass(klass, DeclaredProperties)):
                continue
            for name, annotation in vars(klass).get("__annotations__", {}).items():
                if name.startswith("_") or name in names or name not in vars(klass):
                    continue
                text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
                if text.startswith(("ClassVar", "typing.ClassVar")):
                    continue
                names.append(name)
        cls.__sp_properties__ = tuple(names)

    def __init__(self, *args: Any, **properties: Any) -> None:
        names = type(self).__sp_properties__
        if len(args) > len(names):
            raise TypeError(
                f"{type(self).__name__}() takes at most {len(names)} positional arguments ({len(args)} given)"
            )
        for name, value in zip(names, args):
            if name in properties:
                raise TypeError(f"{type(self).__name__}() got multiple values for property {name!r}")
            properties[name] = value
        for name, value in properties.items():
            if name not in names:
                raise TypeError(unknown_property_message(type(self), name))
            setattr(self, name, value)


def declared_properties(cls: type) -> tuple[str, ...] | None:
    """The property names ``cls`` declares, or ``None`` when it declares none (a plain class)."""
    if isinstance(cls, type) and issubclass(cls, DeclaredProperties):
        return cls.__sp_properties__
    return None


def unknown_property_message(cls: type, name: str) -> str:
    """``X has no property 'serivce_port'; did you mean 'service_port'?`` (with the list)."""
    import difflib

    names = declared_properties(cls) or ()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; its properties are {', '.join(names)}"
    return f"{cls.__name__} has no property {name!r}{hint}"


def object_lock(obj: Any, key: str) -> threading.Lock:
    """The lock stored on ``obj`` under ``key``, made on first use: a declared-properties
    constructor only assigns, so per-object locks are created lazily (and atomically:
    ``dict.setdefault`` lets exactly one lock win)."""
    lock: threading.Lock | None = obj.__dict__.get(key)
    if lock is None:
        lock = obj.__dict__.setdefault(key, threading.Lock())
    return lock
