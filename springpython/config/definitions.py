"""Format-neutral object definitions: what every configuration reader produces and
the only thing the container reads.

Rules of this file: definitions are plain data. They name classes by the text the
user wrote (resolution happens in the container), carry the :class:`Source` they
came from so every later error can point at a file and line, and hold values as a
small tree of nodes (:class:`Value`, :class:`Ref`, :class:`Inner`,
:class:`Collection`, :class:`Mapping`)."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar, Union

from .._scope import Scope
from ..errors import Source

__all__ = [
    "Source",
    "Value",
    "Ref",
    "Inner",
    "Collection",
    "Mapping",
    "ValueNode",
    "Argument",
    "PropertyDef",
    "ObjectDefinition",
    "Config",
]


@dataclass(frozen=True, slots=True)
class Value:
    """A ready Python value: a string, a number, ``None``…"""

    value: Any


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to another object by id."""

    object_id: str
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Inner:
    """An anonymous object defined in place."""

    definition: "ObjectDefinition"


#: The kind of node a :class:`Collection` or :class:`Mapping` holds: a
#: :data:`ValueNode` in definitions; the container's compiled node in its recipes.
N = TypeVar("N")


@dataclass(frozen=True, slots=True)
class Collection(Generic[N]):
    """A list, tuple, set or frozenset of values."""

    kind: type
    items: tuple[N, ...]


@dataclass(frozen=True, slots=True)
class Mapping(Generic[N]):
    """A dict of values; keys are value nodes too."""

    entries: tuple[tuple[N, N], ...]


ValueNode = Union[Value, Ref, Inner, "Collection[ValueNode]", "Mapping[ValueNode]"]


@dataclass(slots=True)
class Argument:
    """A constructor argument: positional (in order), by ``index`` or by ``name``."""

    value: ValueNode
    index: int | None = None
    name: str | None = None
    source: Source | None = None


@dataclass(slots=True)
class PropertyDef:
    """An attribute set on the object after construction."""

    name: str
    value: ValueNode
    source: Source | None = None


@dataclass(slots=True)
class ObjectDefinition:
    """How to make one object.

    ``class_name`` is the text of the configuration (a dotted path, or a bare name
    looked up in ``__main__`` and then among the builtins); ``factory`` replaces it
    for readers that build the object themselves (``PythonConfig``). ``scope`` and
    ``lazy_init`` are ``None`` when not given, so a ``parent`` can supply them."""

    id: str
    source: Source = field(default_factory=Source)
    class_name: str | None = None
    factory: Callable[[], Any] | None = None
    scope: Scope | None = None
    lazy_init: bool | None = None
    abstract: bool = False
    parent: str | None = None
    constructor_args: list[Argument] = field(default_factory=list)
    properties: list[PropertyDef] = field(default_factory=list)
    destroy_method: str | None = None
    description: str | None = None


class Config(abc.ABC):
    """A source of object definitions (an XML file, a Python class…)."""

    @abc.abstractmethod
    def read_object_defs(self) -> list[ObjectDefinition]:
        """Return the definitions, in the order they were written."""
