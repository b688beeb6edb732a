"""The client side's thread: the current registrations of one service, followed by
watching etcd.

The thread reads every registration under the service's prefix (with the store
revision), then watches the prefix from the next revision; any change, or the end of
the watch window, reads them again. A change lost while etcd restarted is therefore
found within :data:`~._connection.WATCH_WINDOW` seconds, and nothing depends on
receiving every single event. When etcd cannot be reached the last registrations
stay (one WARNING per outage) and the thread tries again. For ``grace`` seconds after
etcd answers again (the registry's TTL: the time an exporter takes to register again
in an etcd that lost its data) registrations that are missing are kept too.

Rules of this file: ``_current`` is replaced whole under ``_lock``, never changed in
place; ``on_change`` is called outside the lock."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ...errors import ConnectFailedError
from ._connection import WATCH_WINDOW, EtcdConnection
from ._records import Registration, decode_registration

__all__ = ["ServiceWatch"]

log = logging.getLogger(__name__)

#: Seconds between two attempts to reach etcd again during an outage.
RETRY_INTERVAL = 0.5


class ServiceWatch:
    """The registrations under one service prefix, kept current by a thread."""

    def __init__(self, connection: EtcdConnection, prefix: str, url: str,
                 on_change: Callable[[], None] | None = None, grace: float = 0.0) -> None:
        self._connection = connection
        self._prefix = prefix
        self.url = url
        self._on_change = on_change
        self._lock = threading.Lock()
        self._current: dict[str, Registration] = {}
        self._error: ConnectFailedError | None = None
        self._listed = False
        self._outage = False
        self._grace = grace
        self._grace_until = 0.0
        self._bad: set[tuple[str, bytes]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Follow the registrations in a thread (the first :meth:`snapshot` reads them itself)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=f"springpython-etcd-watch {self.url}", daemon=True)
        self._thread.start()

    def snapshot(self) -> dict[str, Registration]:
        """The registrations known now, by key; read now when they never were (a
        ConnectFailedError when etcd cannot be reached then)."""
        with self._lock:
            if self._listed:
                return self._current
        self._read()
        with self._lock:
            return self._current

    @property
    def error(self) -> ConnectFailedError | None:
        """Why etcd could not be reached the last time, or None while it answers."""
        return self._error

    def close(self) -> None:
        """Stop following; idempotent (a watch under way ends within its window)."""
        self._stop.set()
        self._thread = None

    # -- the thread -----------------------------------------------------------------
    def _run(self) -> None:
        revision: int | None = None
        while not self._stop.is_set():
            try:
                if revision is None:
                    revision = self._read()
                self._connection.wait_for_change(self._prefix, revision, WATCH_WINDOW)
                if self._stop.is_set():
                    return
                revision = self._read()
            except ConnectFailedError as exc:
                revision = None
                self._unreachable(exc)
                self._stop.wait(RETRY_INTERVAL)

    def _read(self) -> int:
        """Read every registration now; returns the store revision."""
        revision, items = self._connection.range_prefix(self._prefix)
        found: dict[str, Registration] = {}
        for key, value in items:
            try:
                found[key] = decode_registration(key, value)
            except ValueError as exc:
                if (key, value) not in self._bad:
                    self._bad.add((key, value))
                    log.warning("%s: %s; ignored", self.url, exc)
        now = time.monotonic()
        if self._outage:
            self._grace_until = now + self._grace
        with self._lock:
            if now < self._grace_until:
                found = {**{k: r for k, r in self._current.items() if k not in found}, **found}
            changed = found != self._current or not self._listed
            self._current = found
            self._listed = True
            self._error = None
        if self._outage:
            self._outage = False
            log.info("etcd at %s answers again; %d endpoint(s) registered for %s",
                     self._connection.location, len(found), self.url)
        if changed:
            log.debug("%s: %d registration(s) at revision %d", self.url, len(found), revision)
            if self._on_change is not None:
                self._on_change()
        return revision

    def _unreachable(self, exc: ConnectFailedError) -> None:
        with self._lock:
            self._error = exc
            known = len(self._current)
        if not self._outage:
            self._outage = True
            log.warning("cannot follow %s: %s; keeping the %d endpoint(s) known", self.url, exc, known)
