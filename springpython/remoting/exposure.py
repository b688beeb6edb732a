"""What an exporter makes reachable: a service's public methods and public
properties, never a name that starts with an underscore."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["ServiceInterface", "describe", "is_public_name"]


def is_public_name(name: str) -> bool:
    """True for names a remote caller may use: not empty, no leading underscore."""
    return bool(name) and not name.startswith("_")


@dataclass(frozen=True, slots=True)
class ServiceInterface:
    """The reachable surface of one service object, computed once at export."""

    service: Any
    methods: dict[str, Callable[..., Any]]
    properties: frozenset[str]

    def method(self, name: str) -> Callable[..., Any] | None:
        """The bound method for ``name``, or ``None`` if it is not reachable."""
        return self.methods.get(name)


def describe(service: Any) -> ServiceInterface:
    """Collect the public methods (bound) and public properties of ``service``.

    Properties are found on the class and never evaluated here, so a property with
    side effects is not run at export time."""
    cls = type(service)
    methods: dict[str, Callable[..., Any]] = {}
    properties: set[str] = set()
    for name in dir(service):
        if not is_public_name(name):
            continue
        static = inspect.getattr_static(service, name, None)
        if isinstance(static, property):
            properties.add(name)
            continue
        if isinstance(getattr(cls, name, None), property):
            properties.add(name)
            continue
        attr = getattr(service, name, None)
        if callable(attr) and not isinstance(attr, type):
            methods[name] = attr
    return ServiceInterface(service, methods, frozenset(properties))
