"""Property values shared by the Pyro 4 and Pyro 5 beans: serializer names and name
server tags (TLS settings follow the one policy of :mod:`springpython.remoting.tls`).
Values may arrive as text from XML, so every parser takes text as well as Python
values and names the property in its error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ...errors import ConfigurationError
from ..tls import ServerTLS

__all__ = ["DaemonSettings", "parse_names", "parse_serializers", "parse_tags"]

#: Serializers that run code while loading: never used unless named in the configuration.
UNSAFE_SERIALIZERS = frozenset({"pickle", "dill", "cloudpickle"})


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """What a shared daemon is started with; every exporter sharing it must agree."""

    serializers: tuple[str, ...]
    tls: ServerTLS | None

    def __str__(self) -> str:
        return f"serializers={','.join(self.serializers)}, {self.tls or 'no TLS'}"


def parse_names(prop: str, value: Any) -> tuple[str, ...]:
    """A list of names from a sequence or from comma/space separated text."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: Iterable[Any] = value.replace(",", " ").split()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        raise ConfigurationError(f"{prop} must be a list of names or comma-separated text, got {value!r}")
    names = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ConfigurationError(f"{prop} must contain names, got {item!r} in {value!r}")
        name = item.strip()
        if name not in names:
            names.append(name)
    return tuple(names)


def parse_serializers(prop: str, value: Any, available: Iterable[str], engine: str) -> tuple[str, ...]:
    """Serializer names, each one the engine has; at least one."""
    names = tuple(n.lower() for n in parse_names(prop, value))
    if not names:
        raise ConfigurationError(f"{prop} names no serializer (got {value!r}); {engine} offers {sorted(available)}")
    known = set(available)
    for name in names:
        if name not in known:
            hint = " (Pyro5 has no pickle; use Pyro4ServiceExporter/Pyro4ProxyFactory for it)" if (
                name in UNSAFE_SERIALIZERS and engine == "Pyro5"
            ) else ""
            raise ConfigurationError(
                f"{prop}: serializer {name!r} is not available in {engine}{hint}; available: {sorted(known)}"
            )
    return names


def parse_tags(prop: str, value: Any) -> frozenset[str]:
    """Name server metadata tags from a set, a list or comma-separated text."""
    return frozenset(parse_names(prop, value))
