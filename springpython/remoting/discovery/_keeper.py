"""The exporter side's thread: one lease per registry, kept alive, with the
registrations put under it.

Rules of this file:

- Every etcd request runs in the caller's thread or the keeper's thread while holding
  ``_io`` (so a lease is never granted twice); ``_records`` is only changed under it.
- etcd unreachable never raises out of here: it is logged (one WARNING per outage) and
  the keeper tries again every ``ttl / 3`` seconds; once etcd answers, the lease is
  refreshed (or a new one granted when it expired) and every registration put again."""

from __future__ import annotations

import logging
import threading

from ...errors import ConnectFailedError
from ._connection import EtcdConnection

__all__ = ["LeaseKeeper"]

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Holds the registrations of one registry under one lease it keeps alive."""

    def __init__(self, connection: EtcdConnection, ttl: int) -> None:
        self._connection = connection
        self._ttl = ttl
        self._io = threading.Lock()
        self._records: dict[str, bytes] = {}
        self._lease: int | None = None
        self._outage = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lease(self) -> int | None:
        """The current lease id (None before etcd was first reached)."""
        return self._lease

    def add(self, key: str, value: bytes) -> bool:
        """Register ``key``; True when it is in etcd now, False when etcd cannot be
        reached (the keeper puts it there once etcd answers)."""
        with self._io:
            self._records[key] = value
            self._start()
            try:
                lease = self._ensure_lease()
                if lease is not None:
                    self._connection.put(key, value, lease)
            except ConnectFailedError as exc:
                self._unreachable(exc)
                return False
            return lease is not None

    def remove(self, key: str) -> None:
        """Deregister ``key`` now; when etcd cannot be reached it expires with the lease."""
        with self._io:
            self._records.pop(key, None)
            if self._lease is None:
                return
            try:
                self._connection.delete(key)
            except ConnectFailedError as exc:
                log.warning("could not deregister %s (%s); it expires with its lease within %d s",
                            key, exc, self._ttl)

    def close(self) -> None:
        """Stop the thread and revoke the lease (its keys go at once); idempotent."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        with self._io:
            lease, self._lease = self._lease, None
            self._records.clear()
            if lease is None:
                return
            try:
                self._connection.revoke(lease)
            except ConnectFailedError as exc:
                log.warning("could not revoke lease %x (%s); its keys expire within %d s", lease, exc, self._ttl)

    # -- the thread --------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="springpython-etcd-lease", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        interval = max(self._ttl / 3.0, 0.2)
        while not self._stop.wait(interval):
            with self._io:
                if self._stop.is_set():
                    return
                try:
                    self._renew()
                except ConnectFailedError as exc:
                    self._unreachable(exc)

    def _renew(self) -> None:
        """Refresh the lease; after an outage or an expired lease, put every record again."""
        renewed = False
        if self._lease is not None and self._connection.keepalive(self._lease) <= 0:
            log.warning("lease %x expired in etcd; registering again under a new lease", self._lease)
            self._lease = None
        if self._lease is None:
            self._ensure_lease()
            renewed = True
        if (renewed or self._outage) and self._lease is not None:
            for key, value in self._records.items():
                self._connection.put(key, value, self._lease)
        if self._outage:
            self._outage = False
            log.info("etcd at %s answers again; %d registration(s) renewed", self._connection.location,
                        len(self._records))

    def _ensure_lease(self) -> int | None:
        if self._lease is None and self._records:
            self._lease = self._connection.grant(self._ttl)
            log.debug("granted lease %x (%d s) at %s", self._lease, self._ttl, self._connection.location)
        return self._lease

    def _unreachable(self, exc: ConnectFailedError) -> None:
        if not self._outage:
            self._outage = True
            log.warning("etcd registration failed: %s; serving on and registering again when etcd answers", exc)
        else:
            log.debug("etcd still unreachable: %s", exc)
