"""Property values shared by the Pyro 4 and Pyro 5 beans: serializer names and name
server tags (TLS settings follow the one policy of :mod:`springpython.remoting.tls`).
Values may arrive as text from XML, so every parser takes text as well as Python
values and names the property in its error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ...errors import ConfigurationError
from ..http import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT
from ..tls import ServerTLS
from ._budget import DecodeBudget

__all__ = [
    "DaemonSettings",
    "Limits",
    "parse_names",
    "parse_serializers",
    "parse_tags",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_REQUEST_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_CONNECTIONS_PER_PEER",
]

#: Bytes a message to a daemon may have (header excluded, after decompression):
#: the HTTP servers' body limit, not Pyro's 1 GiB.
DEFAULT_MAX_MESSAGE_SIZE = DEFAULT_MAX_BODY_SIZE
#: Client connections one peer address may have open on a daemon at once: a quarter
#: of Pyro's 80 worker threads, so one host can never take them all.
DEFAULT_MAX_CONNECTIONS_PER_PEER = 20

#: Serializers that run code while loading: never used unless named in the configuration.
UNSAFE_SERIALIZERS = frozenset({"pickle", "dill", "cloudpickle"})


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may cost a daemon: the size of a message, the seconds a
    connection may stay idle between requests, the seconds a request may take to
    arrive once its first byte did (and a reply may take to be read), the connections
    one peer address may hold, the decode budget of a call, and the connections the
    daemon holds in all (``DEFAULT_MAX_CONNECTIONS``, as on the HTTP server: each
    open connection has a worker thread of the daemon's own pool)."""

    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_connections_per_peer: int = DEFAULT_MAX_CONNECTIONS_PER_PEER
    #: What one call may cost to decode (:mod:`._budget`).
    budget: DecodeBudget = DecodeBudget()
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    def __str__(self) -> str:
        return (f"max_message_size={self.max_message_size}, idle_timeout={self.idle_timeout:g}, "
                f"max_connections={self.max_connections}, "
                f"max_connections_per_peer={self.max_connections_per_peer}, "
                f"max_items={self.budget.max_items}, max_depth={self.budget.max_depth}")


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """What a shared daemon is started with; every exporter sharing it must agree."""

    serializers: tuple[str, ...]
    tls: ServerTLS | None
    limits: Limits = Limits()

    def __str__(self) -> str:
        return f"serializers={','.join(self.serializers)}, {self.tls or 'no TLS'}, {self.limits}"


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
