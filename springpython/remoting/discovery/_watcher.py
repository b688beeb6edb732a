"""The client side's thread: the current registrations of one service, followed by
one long-lived etcd watch.

The thread reads every registration under the service's prefix (with the store
revision), then watches the prefix from the next revision; each change reads them
again (nothing depends on receiving every single event). When the watch ends (etcd
stopped or cancelled it) the thread reads again and opens a new one. A watch that
stays quiet for ``resync`` seconds is ended too, so the registrations are read in
full at least that often: the safety net for a change lost while etcd restarted or
the network hung. When etcd cannot be reached the last registrations stay (one
WARNING per outage) and the thread tries again. For ``grace`` seconds after etcd
answers again (the registry's TTL: the time an exporter takes to register again in
an etcd that lost its data) registrations that are missing are kept too.

Rules of this file: ``_current`` is replaced whole under ``_lock``, never changed in
place; ``on_change`` is called outside the lock; the open stream is set and taken
under ``_lock`` so that :meth:`ServiceWatch.close` can end it from another thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ...errors import ConnectFailedError
from ._connection import EtcdConnection, WatchStream
from ._records import Registration, decode_registration

__all__ = ["ServiceWatch"]

log = logging.getLogger(__name__)

#: Seconds between two attempts to reach etcd again during an outage, and the
#: shortest life of a watch before another is opened.
RETRY_INTERVAL = 0.5
#: Seconds :meth:`ServiceWatch.close` waits for its thread beyond one etcd request.
CLOSE_MARGIN = 1.0


class ServiceWatch:
    """The registrations under one service prefix, kept current by a thread."""

    def __init__(self, connection: EtcdConnection, prefix: str, url: str,
                 on_change: Callable[[], None] | None = None, grace: float = 0.0, resync: float = 10.0,
                 on_close: Callable[["ServiceWatch"], None] | None = None) -> None:
        self._connection = connection
        self._prefix = prefix
        self.url = url
        self._on_change = on_change
        self._on_close = on_close
        self._lock = threading.Lock()
        self._current: dict[str, Registration] = {}
        self._error: ConnectFailedError | None = None
        self._listed = False
        self._outage = False
        self._grace = grace
        self._grace_until = 0.0
        self._resync = max(resync, RETRY_INTERVAL)
        self._bad: set[tuple[str, bytes]] = set()
        self._stop = threading.Event()
        self._stream: WatchStream | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Follow the registrations in a thread (the first :meth:`snapshot` reads them itself)."""
        if self._thread is not None or self._stop.is_set():
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

    @property
    def following(self) -> bool:
        """Whether the thread is running."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def close(self) -> None:
        """Stop following: the open watch is ended and the thread joined (for at most one
        etcd request's timeout); idempotent."""
        self._stop.set()
        with self._lock:
            stream, self._stream = self._stream, None
            thread = self._thread
        if stream is not None:
            stream.close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(self._connection.settings.timeout + CLOSE_MARGIN)
            if thread.is_alive():
                log.warning("the watch of %s did not stop within %.1f s; it ends with its etcd request",
                            self.url, self._connection.settings.timeout + CLOSE_MARGIN)
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            on_close(self)

    # -- the thread -----------------------------------------------------------------
    def _run(self) -> None:
        revision: int | None = None
        while not self._stop.is_set():
            try:
                if revision is None:
                    revision = self._read()
                stream = self._connection.open_watch(self._prefix, revision, self._idle())
            except ConnectFailedError as exc:
                revision = None
                self._unreachable(exc)
                self._stop.wait(RETRY_INTERVAL)
                continue
            opened = time.monotonic()
            try:
                self._follow(stream)
            except ConnectFailedError as exc:
                self._unreachable(exc)
                self._stop.wait(RETRY_INTERVAL)
            revision = None  # the watch ended: read everything again before the next one
            if time.monotonic() - opened < RETRY_INTERVAL:
                self._stop.wait(RETRY_INTERVAL)  # a watch etcd ends at once is not opened in a busy loop

    def _follow(self, stream: WatchStream) -> None:
        """Read the registrations again on each change until ``stream`` ends."""
        with self._lock:
            if self._stop.is_set():
                stream.close()
                return
            self._stream = stream
        try:
            for _ in stream.changes():
                if self._stop.is_set():
                    return
                self._read()
                if time.monotonic() < self._grace_until:
                    return  # opened again with an idle limit that ends with the grace period
        finally:
            with self._lock:
                if self._stream is stream:
                    self._stream = None
            stream.close()

    def _idle(self) -> float:
        """Seconds the next watch may stay quiet: until the next full read is due."""
        remaining = self._grace_until - time.monotonic()
        return min(self._resync, remaining + 0.05) if remaining > 0 else self._resync

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
