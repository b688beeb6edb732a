"""The process-wide state of springpython, owned here and guarded by locks: the
shared servers per host:port, and the exporters that keep the process serving.

Several exporters configured on the same host and port share one listening server;
it starts with the first exporter and stops, freeing the port, with the last.
Serving threads are daemon threads, so a program ends when its main code does —
except that exporters started by an application context keep it serving at exit,
as the chapter's ``server.py`` (which ends right after creating its context) needs."""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import weakref
from typing import Any, Callable, Generic, TypeVar

__all__ = ["SharedServers", "live_servers", "hold", "drop", "keep_serving_at_exit"]

log = logging.getLogger(__name__)

S = TypeVar("S")

_REGISTRIES: "weakref.WeakSet[SharedServers[Any]]" = weakref.WeakSet()


class _Entry(Generic[S]):
    """One shared server and how many exporters use it."""

    __slots__ = ("server", "users")

    def __init__(self, server: S) -> None:
        self.server = server
        self.users = 0


class SharedServers(Generic[S]):
    """Reference-counted servers keyed by ``(host, port)``, one registry per transport.

    ``start(host, port)`` must return a server that is already listening;
    ``port_of(server)`` reads its real port back, so an exporter asking for port 0
    gets a fresh server that later exporters can share by naming its real port."""

    def __init__(self, kind: str, port_of: Callable[[S], int]) -> None:
        self.kind = kind
        self._port_of = port_of
        self._lock = threading.RLock()
        self._entries: dict[tuple[str, int], _Entry[S]] = {}
        _REGISTRIES.add(self)

    def acquire(self, host: str, port: int, start: Callable[[str, int], S]) -> S:
        """The server for host:port, started on first use; the caller must release it."""
        with self._lock:
            entry = self._entries.get((host, port)) if port else None
            if entry is None:
                server = start(host, port)
                entry = _Entry(server)
                self._entries[(host, self._port_of(server))] = entry
                log.debug("%s server started at %s:%s", self.kind, host, self._port_of(server))
            entry.users += 1
            return entry.server

    def release(self, server: S, stop: Callable[[S], None]) -> None:
        """Drop one user of ``server``; the last one stops it (and frees the port)."""
        with self._lock:
            for key, entry in self._entries.items():
                if entry.server is server:
                    entry.users -= 1
                    if entry.users == 0:
                        del self._entries[key]
                        stop(server)
                        log.debug("%s server at %s:%s stopped", self.kind, *key)
                    return
        raise ValueError(f"{self.kind} server {server!r} is not registered")

    def users(self, server: S) -> int:
        """How many exporters currently share ``server``."""
        with self._lock:
            return next((e.users for e in self._entries.values() if e.server is server), 0)

    def addresses(self) -> list[tuple[str, int]]:
        """The host:port of every server this registry runs."""
        with self._lock:
            return list(self._entries)

    def __repr__(self) -> str:
        return f"<SharedServers {self.kind} {self.addresses()}>"


def live_servers() -> list[tuple[str, str, int]]:
    """Every shared server still running, as ``(kind, host, port)``."""
    return [(r.kind, h, p) for r in list(_REGISTRIES) for (h, p) in r.addresses()]


_held: set[Any] = set()
_held_changed = threading.Condition()


def hold(exporter: Any) -> None:
    """Keep the process serving ``exporter`` at exit (see :func:`keep_serving_at_exit`)."""
    with _held_changed:
        _held.add(exporter)
    # registered anew each time so it runs before the exit hook of the context that
    # created the exporter (atexit runs the most recent registration first)
    atexit.unregister(keep_serving_at_exit)
    atexit.register(keep_serving_at_exit)


def drop(exporter: Any) -> None:
    """``exporter`` left the network: nothing to wait for on its behalf."""
    with _held_changed:
        _held.discard(exporter)
        _held_changed.notify_all()


def keep_serving_at_exit() -> None:
    """Keep a program serving after its main code ends, as the chapter's server.py does.

    Applies to exporters started by an application context. At interpreter exit, if
    the main code ended normally while such services are still exported, wait until
    they are destroyed or the user presses Ctrl-C; the context's own exit hook then
    takes them off the network. A main code that ended with an exception does not wait;
    ``sys.exit()`` counts as ending normally, so shut the context down before it."""
    if getattr(sys, "last_value", None) is not None:
        return
    # Ctrl-C anywhere in here, even while "serving ... until interrupted" is being
    # logged, is the user ending the wait
    try:
        with _held_changed:
            if _held:
                log.info("serving %s until interrupted", ", ".join(sorted(str(e.service_url) for e in _held)))
            while _held:
                _held_changed.wait(1.0)
    except KeyboardInterrupt:
        log.info("interrupted: stopping")
