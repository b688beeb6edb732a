"""Pyro daemons shared per host:port, each serving in its own thread.

Rules of this file: a :class:`ServerThread` is listening when its constructor
returns and is stopped by :meth:`ServerThread.close`, which is idempotent and
leaves nothing behind: the listening socket is closed (the port can be bound
again at once), every client connection is shut down and the threads serving
them are joined. Sharing goes through :class:`~springpython.remoting.registry.SharedServers`,
the one registry of running servers; this module only adds what Pyro needs.
Serving threads are daemon threads; what keeps a program whose main code has ended
serving its context's exporters (chapter 8.2.4's server.py) is
:func:`springpython.remoting.registry.keep_serving_at_exit`.

The :class:`ConnectionTracking` mixin goes in front of
:class:`~._pyro_internals.DaemonHooks` and a Pyro 4 or Pyro 5 ``Daemon`` class. It
implements the per-connection hook, which Pyro calls in the worker thread of each
new connection before anything else is read, to (1) turn the connection into TLS there when the daemon has a TLS context, so a
slow or hostile client ties up only its own worker and never the accept loop,
(2) bound the handshake by a timeout, and (3) remember the connection so that
``close()`` can end it."""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from typing import Any, Callable, Hashable

from ...errors import ExportError, VerificationException
from .. import tls as tls_policy
from ..tls import CLIENT_CERTIFICATE_REFUSED, ServerTLS
from ..registry import SharedServers

__all__ = [
    "ConnectionTracking",
    "ServerThread",
    "acquire_server",
    "release_server",
    "check_port_free",
    "HANDSHAKE_TIMEOUT",
    "JOIN_TIMEOUT",
]

log = logging.getLogger(__name__)

#: Seconds a new client has to complete the TLS and Pyro handshakes.
HANDSHAKE_TIMEOUT = 10.0
#: Seconds a refused TLS client has to read the alert and hang up.
REFUSAL_DRAIN_TIMEOUT = 1.0
#: Seconds ``close()`` waits for each serving thread to end.
JOIN_TIMEOUT = 5.0


class ConnectionTracking:
    """Mixin for a Pyro ``Daemon`` subclass: TLS in the worker, bounded handshake,
    and a record of open connections (see the module docstring)."""

    sp_tls: ssl.SSLContext | None = None

    def sp_init(self, tls: ServerTLS | None) -> None:
        self.sp_tls = tls.context() if tls is not None else None
        self.sp_verify = tls.verify if tls is not None and tls.verify_fields else None
        self.sp_lock = threading.Lock()
        self.sp_open: dict[Any, threading.Thread] = {}
        self.sp_closing = False

    def on_connect(self, conn: Any, denied_reason: Any = None) -> bool:
        with self.sp_lock:
            if self.sp_closing:
                denied_reason = denied_reason or "the server is shutting down"
            self.sp_open[conn] = threading.current_thread()
        ok = False
        try:
            previous = conn.sock.gettimeout()
            conn.sock.settimeout(HANDSHAKE_TIMEOUT)
            if self.sp_tls is not None:
                if not self._sp_tls_handshake(conn):
                    return False
                denied_reason = denied_reason or self._sp_check_subject(conn)
            ok = bool(self.sp_protocol_handshake(conn, denied_reason))
            if ok:
                conn.sock.settimeout(previous)
            return ok
        finally:
            if not ok:
                self._sp_forget(conn)

    def _sp_tls_handshake(self, conn: Any) -> bool:
        """Turn ``conn`` into TLS; a refused client is logged and told why (see :func:`refuse`)."""
        peer = _peer(conn.sock)
        try:
            tls_sock = self.sp_tls.wrap_socket(conn.sock, server_side=True, do_handshake_on_connect=False)  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            log.warning("TLS connection from %s failed: %s", peer, exc)
            return False
        conn.sock = tls_sock
        try:
            tls_sock.do_handshake()
        except (OSError, ValueError) as exc:
            refuse(tls_sock, peer, exc)
            return False
        return True

    def _sp_check_subject(self, conn: Any) -> str | None:
        """``verify_fields`` on the client certificate: a mismatch is logged with the
        field and refused through Pyro's handshake with a reason that says only that
        the certificate was refused (the client learns no expected value)."""
        if self.sp_verify is None:
            return None
        try:
            self.sp_verify(conn.sock.getpeercert())
        except VerificationException as exc:
            tls_policy.log_refusal(log, _peer(conn.sock), exc)
            return CLIENT_CERTIFICATE_REFUSED
        return None

    def sp_protocol_handshake(self, conn: Any, denied_reason: Any) -> bool:
        """Pyro's own handshake on ``conn`` (a subclass may wrap the connection first)."""
        return bool(self.pyro_handshake(conn, denied_reason))  # type: ignore[attr-defined]

    def clientDisconnect(self, conn: Any) -> None:  # Pyro's hook name
        self._sp_forget(conn)

    def _sp_forget(self, conn: Any) -> None:
        with self.sp_lock:
            self.sp_open.pop(conn, None)

    @property
    def sp_connections(self) -> int:
        """How many client connections are open now."""
        with self.sp_lock:
            return len(self.sp_open)

    def sp_end_connections(self) -> list[threading.Thread]:
        """Shut every open client connection down; returns the threads serving them."""
        with self.sp_lock:
            self.sp_closing = True
            items = list(self.sp_open.items())
        for conn, _ in items:
            try:
                # the plain socket method: an SSLSocket's own shutdown() would drop
                # its TLS state under the worker still reading from it
                socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer
        return [thread for _, thread in items]


class ServerThread:
    """A Pyro daemon (already bound and listening) served by a thread of its own."""

    def __init__(self, daemon: Any, kind: str, settings: Hashable) -> None:
        self.daemon = daemon
        self.kind = kind
        self.settings = settings
        self.location: str = daemon.locationStr
        self.port: int = daemon.sock.getsockname()[1]
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name=f"springpython-{kind}-{self.location}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            self.daemon.requestLoop()
        except Exception:
            # a request loop that dies must not leave clients waiting on a port that
            # still accepts connections nobody answers
            log.error("%s daemon at %s failed; closing it", self.kind, self.location, exc_info=True)
            self.daemon.close()
            self.daemon.sp_end_connections()

    @property
    def connections(self) -> int:
        """How many client connections the daemon has open now."""
        return int(self.daemon.sp_connections)

    def close(self) -> None:
        """Stop accepting, end every connection, join the threads; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        daemon = self.daemon
        try:
            daemon.shutdown()
        finally:
            for thread in daemon.sp_end_connections():
                if thread is not threading.current_thread():
                    thread.join(JOIN_TIMEOUT)
            if self._thread is not threading.current_thread():
                self._thread.join(JOIN_TIMEOUT)
        log.debug("%s daemon at %s closed", self.kind, self.location)

    def __enter__(self) -> "ServerThread":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"serving, {self.connections} connections"
        return f"<ServerThread {self.kind} {self.location} {state}>"


def _peer(sock: socket.socket) -> str:
    try:
        host, port = sock.getpeername()[:2]
    except (OSError, ValueError):
        return "an unknown peer"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def refuse(tls_sock: ssl.SSLSocket, peer: str, exc: BaseException) -> None:
    """Log a failed TLS handshake at WARNING with the peer and the reason, and end the
    connection so the client reads the TLS alert (a refused certificate) rather than a
    reset: close our side for writing, then read what the client still sends, for
    :data:`REFUSAL_DRAIN_TIMEOUT` seconds at most."""
    reason = tls_policy.handshake_refusal(exc)
    if reason is None:
        log.debug("TLS handshake with %s failed: %s", peer, exc)
    else:
        tls_policy.log_refusal(log, peer, reason)
    try:
        socket.socket.shutdown(tls_sock, socket.SHUT_WR)
        deadline = time.monotonic() + REFUSAL_DRAIN_TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            tls_sock.settimeout(left)
            if not socket.socket.recv(tls_sock, 65536):
                break
    except OSError:
        pass  # the client is gone already


def check_port_free(host: str, port: int) -> None:
    """Raise ``OSError`` when host:port cannot be listened on.

    Done with a socket of our own before Pyro binds, because Pyro leaves its socket
    unclosed when its bind fails; a port of 0 needs no check."""
    if port == 0:
        return
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
        probe.listen(1)


def acquire_server(
    servers: SharedServers[ServerThread],
    host: str,
    port: int,
    settings: Hashable,
    start: Callable[[str, int], ServerThread],
) -> ServerThread:
    """The shared server for host:port, started if needed; its settings must match ours."""
    server = servers.acquire(host, port, start)
    if server.settings != settings:
        servers.release(server, ServerThread.close)
        raise ExportError(
            f"{servers.kind} daemon at {host}:{server.port} already runs with other settings "
            f"({_describe(server.settings)}); this exporter asks for {_describe(settings)}: "
            f"services sharing a host:port must use the same TLS and serializer settings"
        )
    return server


def release_server(servers: SharedServers[ServerThread], server: ServerThread) -> None:
    """Drop one user of ``server``; the last one stops it."""
    servers.release(server, ServerThread.close)


def _describe(settings: Hashable) -> str:
    return str(settings)
