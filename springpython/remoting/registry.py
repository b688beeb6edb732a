"""The shared servers per host:port: the one piece of process-wide state in
springpython, owned here and guarded by a lock.

Several exporters configured on the same host and port share one listening server;
it starts with the first exporter and stops, freeing the port, with the last."""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Callable, Generic, TypeVar

__all__ = ["SharedServers", "live_servers"]

log = logging.getLogger(__name__)

S = TypeVar("S")

_REGISTRIES: "weakref.WeakSet[SharedServers]" = weakref.WeakSet()


class SharedServers(Generic[S]):
    """Reference-counted servers keyed by ``(host, port)``, one registry per transport.

    ``start(host, port)`` must return a server that is already listening;
    ``port_of(server)`` reads its real port back, so an exporter asking for port 0
    gets a fresh server that later exporters can share by naming its real port."""

    def __init__(self, kind: str, port_of: Callable[[S], int]) -> None:
        self.kind = kind
        self._port_of = port_of
        self._lock = threading.RLock()
        self._entries: dict[tuple[str, int], list] = {}
        _REGISTRIES.add(self)

    def acquire(self, host: str, port: int, start: Callable[[str, int], S]) -> S:
        """The server for host:port, started on first use; the caller must release it."""
        with self._lock:
            entry = self._entries.get((host, port)) if port else None
            if entry is None:
                server = start(host, port)
                entry = [server, 0]
                self._entries[(host, self._port_of(server))] = entry
                log.debug("%s server started at %s:%s", self.kind, host, self._port_of(server))
            entry[1] += 1
            return entry[0]

    def release(self, server: S, stop: Callable[[S], None]) -> None:
        """Drop one user of ``server``; the last one stops it (and frees the port)."""
        with self._lock:
            for key, entry in self._entries.items():
                if entry[0] is server:
                    entry[1] -= 1
                    if entry[1] == 0:
                        del self._entries[key]
                        stop(server)
                        log.debug("%s server at %s:%s stopped", self.kind, *key)
                    return
        raise ValueError(f"{self.kind} server {server!r} is not registered")

    def users(self, server: S) -> int:
        """How many exporters currently share ``server``."""
        with self._lock:
            return next((e[1] for e in self._entries.values() if e[0] is server), 0)

    def addresses(self) -> list[tuple[str, int]]:
        """The host:port of every server this registry runs."""
        with self._lock:
            return list(self._entries)

    def __repr__(self) -> str:
        return f"<SharedServers {self.kind} {self.addresses()}>"


def live_servers() -> list[tuple[str, str, int]]:
    """Every shared server still running, as ``(kind, host, port)``."""
    return [(r.kind, h, p) for r in list(_REGISTRIES) for (h, p) in r.addresses()]
