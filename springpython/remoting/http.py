"""A small threaded HTTP/1.1 server shared by the HTTP-based transports (XML-RPC,
Hessian): handlers are mounted on paths and turn a :class:`Request` into a
:class:`Response`.

Rules of this file:

* One I/O thread owns every connection that is not being answered: it accepts,
  performs TLS handshakes without blocking (``do_handshake_on_connect=False``),
  reads request bytes as they come and hands a *complete* request to a bounded
  pool of worker threads. A slow, silent or stalled client (one header line a
  second, a TCP connection that never sends its ClientHello, a keep-alive
  connection between requests) costs no worker, only a socket.
* Deadlines are per phase, not per ``recv``: a TLS handshake must finish within
  ``handshake_timeout`` seconds of the accept, a request within
  ``request_timeout`` seconds of its first byte, and a connection with no request
  under way is closed after ``idle_timeout`` seconds of silence (with a TLS
  close_notify).
* A worker that answered a request on a kept-alive connection waits a ``linger``
  of a few milliseconds for the next one and reads it itself while its bytes are
  there at once (a busy client then skips two thread hand-overs per call); the
  first time the socket has nothing more, the connection goes back to the I/O
  thread. A worker never blocks on a read.
* Sockets are non-blocking from the accept on (switching modes per request would
  cost system calls that drop the GIL). A response (status line, headers and
  body) is written in one ``send``, more only when the socket buffer is full,
  waiting in ``select`` at most ``request_timeout`` seconds in all; so Nagle's
  algorithm and delayed ACKs never stall a keep-alive exchange.
* Connection caps: at most ``max_connections`` open connections, and at most
  ``max_connections_per_peer`` from one peer address. At a cap the longest-idle
  connection (of that peer, for the peer cap) is closed to make room, or, when
  none is idle, the new connection is refused: closed at once (a plain HTTP one
  first gets a 503), logged like every refusal.
* Requests are parsed by :mod:`.http_reader` (sans-IO, strict RFC 9112 framing);
  this file only moves bytes. A peer that sends a bad request gets one error answer
  (400, a too large body 413) and loses its connection, and nothing it sent after
  the bad request is read as a request (what follows is drained by the I/O thread
  for a moment, so the answer is not lost to a reset); the server goes on serving
  everyone else.
* Whatever a handler raises, ``SystemExit`` and ``KeyboardInterrupt`` included, is a
  500 logged at ERROR; a worker never dies of a request. A worker that dies anyway
  (of an exception outside any request) is logged at ERROR and replaced, and the
  request it was about to take is served by its replacement.
* A refused client is told so, and logged once at WARNING as ``refused client
  HOST:PORT: reason``: refused in the TLS handshake, it gets the TLS alert; refused
  by ``verify_peer``, its request is read and answered 403 with
  ``tls.REFUSED_HEADER``, and never handled; refused by a connection cap, see above.
* Out of descriptors, accepting pauses for 0.1 s at a time, with one WARNING per
  5 s, and resumes by itself; the connections already open are served meanwhile.

``start()`` returns once the socket listens (port 0 picks a free port, read it back
from :attr:`HTTPServer.port`); ``close()`` is idempotent: it stops accepting, closes
idle connections, lets requests in flight finish and joins every thread."""

from __future__ import annotations

import collections
import email.utils
import errno
import heapq
import http
import logging
import queue
import select
import selectors
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..errors import ExportError, HTTPRequestError, VerificationException
from ._values import as_port
from .http_reader import SEND_CONTINUE, ParsedRequest, RequestReader
from . import tls as tls_policy
from .tls import CLIENT_CERTIFICATE_REFUSED, REFUSED_HEADER

__all__ = [
    "Request",
    "Response",
    "Handler",
    "PeerVerifier",
    "HTTPServer",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MAX_WORKERS",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_CONNECTIONS_PER_PEER",
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_REQUEST_TIMEOUT",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_SIZE = 8 * 1024 * 1024
DEFAULT_MAX_WORKERS = 32
#: Connections a server keeps open at once (idle ones included): well under the usual
#: 1024 descriptors a process may have.
DEFAULT_MAX_CONNECTIONS = 1000
#: Connections one peer address may keep open: a tenth of the server's, so one host
#: cannot take them all, and room for a reverse proxy's pool.
DEFAULT_MAX_CONNECTIONS_PER_PEER = 100
DEFAULT_HANDSHAKE_TIMEOUT = 5.0
DEFAULT_IDLE_TIMEOUT = 30.0
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_CLOSE_TIMEOUT = 10.0
# How long a worker waits for a keep-alive client's next request before handing the
# connection back to the I/O thread: a busy client then skips two thread hand-overs
# per call.
DEFAULT_LINGER = 0.01
THREAD_PREFIX = "springpython-http"

# Out of descriptors (or kernel memory), accepting pauses this long at a time, and a
# WARNING is logged at most once per interval.
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_ACCEPT_PAUSE = 0.1
_ACCEPT_WARNING_INTERVAL = 5.0
_RECV_SIZE = 65536
# After an error answer, what the peer still sends is read and dropped for this long
# (or this much): closing with unread data would reset the connection before the peer
# reads the answer.
_DRAIN_SECONDS = 0.5
_DRAIN_BYTES = 1024 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_UNAVAILABLE = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Content-Length: 25\r\nConnection: close\r\n\r\ntoo many connections, sorry")
_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)

# What the I/O thread is doing with a connection.
_HANDSHAKE, _READING, _DRAINING = range(3)


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as a handler sees it; header names are lower case."""

    method: str
    path: str
    query: str
    version: str
    headers: Mapping[str, str]
    body: bytes
    client_address: tuple[Any, ...]
    peer_cert: dict[str, Any] | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name`` (any case), or ``default``."""
        return self.headers.get(name.lower(), default)


@dataclass(slots=True)
class Response:
    """What a handler returns; ``close`` ends the connection after it is sent."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False


Handler = Callable[[Request], Response]
PeerVerifier = Callable[["dict[str, Any] | None", "tuple[Any, ...]"], None]

# The answer to a request from a client whose certificate verify_peer refused: it
# never names the fields that were expected.
_REFUSAL = Response(403, f"{CLIENT_CERTIFICATE_REFUSED}\n".encode(), headers=[(REFUSED_HEADER, "client-certificate")],
                    close=True)


class _Connection:
    __slots__ = ("sock", "address", "host", "reader", "peer_cert", "deadline", "busy", "refused",
                 "phase", "events", "started", "idle_since", "drained", "closed", "generation", "filed")

    def __init__(self, sock: socket.socket, address: tuple[Any, ...], reader: RequestReader) -> None:
        self.sock = sock
        self.address = address
        self.host = str(address[0]) if isinstance(address, tuple) and address else str(address)
        self.reader = reader
        self.peer_cert: dict[str, Any] | None = None
        self.deadline = 0.0  # when the I/O thread gives up on the current phase
        self.busy = False  # a handler runs for it: let it finish on close
        self.refused = False  # verify_peer refused the client: answer its request with 403
        self.phase = _READING
        self.events = 0  # what the I/O thread's selector watches for (0: not registered)
        self.started = False  # bytes of a request have arrived: request_timeout runs
        self.idle_since: float | None = None  # parked with no request under way, since
        self.drained = 0
        self.closed = False
        self.generation = 0  # bumped on every new deadline: stale heap entries are skipped
        self.filed = 0.0  # the deadline the I/O thread last filed for it

    def recv_now(self) -> bytes | None:
        """What the socket has now (``b""`` at EOF), or ``None`` when it has nothing:
        never waits."""
        try:
            return self.sock.recv(_RECV_SIZE)
        except _WOULD_BLOCK:
            return None

    def send_now(self, data: bytes) -> bool:
        """Send a small answer without waiting; false when it could not all go out."""
        try:
            return self.sock.send(data) == len(data)
        except (OSError, ValueError):
            return False

    def more_decrypted(self) -> bool:
        """Whether TLS has decrypted bytes that no ``recv`` returned yet."""
        return isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0


class HTTPServer:
    """A threaded HTTP/1.1 server with keep-alive, optional TLS and mounted handlers.

    ``verify_peer(cert, address)`` runs after each TLS handshake with the decoded
    peer certificate (``None`` if the peer sent none); raising
    :class:`~springpython.errors.VerificationException` refuses the client: its
    request is read but never handled, it gets a 403 with the header
    ``tls.REFUSED_HEADER: client-certificate`` (saying the call did not run, never
    what was expected) and the connection closes. Every refusal, there or in the TLS
    handshake (no client certificate, unknown CA, expired, TLS version), or by a
    connection cap, is logged at WARNING as ``refused client HOST:PORT: reason``.
    Timeouts are in seconds: ``handshake_timeout`` for the TLS handshake,
    ``idle_timeout`` between requests, ``request_timeout`` for a request once it
    started arriving; ``close_timeout`` for the requests in flight at :meth:`close`.
    ``max_connections`` and ``max_connections_per_peer`` cap the
    open connections, in all and from one peer address. ``logger`` lets an owner
    (such as an ``SSLServer`` subclass) receive the connection-level messages under
    its own name. ``listener`` is a TCP socket already bound and listening, such as
    the one a process manager (gunicorn) shares among its worker processes: the
    server accepts on it instead of binding its own, and leaves it open when it
    closes, since it is its owner's."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        verify_peer: PeerVerifier | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        max_workers: int = DEFAULT_MAX_WORKERS,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_connections_per_peer: int = DEFAULT_MAX_CONNECTIONS_PER_PEER,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        linger: float = DEFAULT_LINGER,
        close_timeout: float = DEFAULT_CLOSE_TIMEOUT,
        server_name: str = "springpython",
        logger: logging.Logger | None = None,
        listener: socket.socket | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if max_body_size < 0:
            raise ValueError(f"max_body_size must not be negative, got {max_body_size}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        if max_connections_per_peer < 1:
            raise ValueError(f"max_connections_per_peer must be at least 1, got {max_connections_per_peer}")
        self.host = host
        self._requested_port = as_port("port", port)
        self.ssl_context = ssl_context
        self.verify_peer = verify_peer
        self.max_body_size = int(max_body_size)
        self.max_workers = int(max_workers)
        self.max_connections = int(max_connections)
        self.max_connections_per_peer = int(max_connections_per_peer)
        self.handshake_timeout = float(handshake_timeout)
        self.idle_timeout = float(idle_timeout)
        self.request_timeout = float(request_timeout)
        self.close_timeout = float(close_timeout)
        self.server_name = server_name
        self.log = logger or log
        self.linger = float(linger)

        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._address: tuple[Any, ...] | None = None
        self._owns_listener = listener is None
        if listener is not None:
            if listener.family not in (socket.AF_INET, socket.AF_INET6) or listener.type != socket.SOCK_STREAM:
                raise ValueError(f"listener must be a listening TCP socket, got {listener!r}")
            self._listener, self._address = listener, listener.getsockname()
            self._requested_port = int(self._address[1])
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._to_park: list[_Connection] = []
        self._active: set[_Connection] = set()
        self._per_peer: dict[str, int] = {}
        # Jobs wait in a deque; a worker takes a token, then a job. A worker that dies
        # between the two leaves the job in place for its replacement.
        self._jobs: collections.deque[tuple[_Connection, Request]] = collections.deque()
        self._tokens: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._worker_count = 0  # workers ever started, for thread names
        self._idle_workers = 0
        self._acceptor: threading.Thread | None = None
        self._accept_failures = 0  # out-of-descriptor failures since the last warning
        self._accept_warned_at = -_ACCEPT_WARNING_INTERVAL
        self._closing = False
        self._closed = threading.Event()
        # Owned by the I/O thread alone.
        self._parked: dict[int, _Connection] = {}
        self._deadlines: list[tuple[float, int, int, _Connection]] = []

    # -- handlers ---------------------------------------------------------------
    def mount(self, path: str, handler: Handler) -> None:
        """Serve requests for ``path`` (exact match, query ignored) with ``handler``."""
        if not path.startswith("/"):
            raise ValueError(f"a mount path must start with '/', got {path!r}")
        with self._lock:
            if path in self._handlers:
                raise ValueError(f"path {path!r} is already mounted on {self}")
            self._handlers[path] = handler

    def unmount(self, path: str) -> None:
        """Stop serving ``path``; later requests for it get 404."""
        with self._lock:
            if self._handlers.pop(path, None) is None:
                raise ValueError(f"path {path!r} is not mounted on {self}")

    @property
    def paths(self) -> list[str]:
        """The mounted paths."""
        with self._lock:
            return sorted(self._handlers)

    # -- lifecycle ---------------------------------------------------------------
    def listen(self) -> "HTTPServer":
        """Bind and listen (connections queue up until :meth:`start`); idempotent."""
        with self._lock:
            if self._closing:
                raise ExportError(f"{self} is closed")
            if self._listener is not None:
                self._listener.setblocking(False)
                return self
            try:
                infos = socket.getaddrinfo(self.host, self._requested_port, type=socket.SOCK_STREAM,
                                           flags=socket.AI_PASSIVE)
            except socket.gaierror as exc:
                raise ExportError(f"cannot resolve host {self.host!r}: {exc}") from exc
            family, kind, proto, _, sockaddr = infos[0]
            sock = socket.socket(family, kind, proto)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(sockaddr)
                sock.listen(128)
                sock.setblocking(False)
            except OSError as exc:
                sock.close()
                raise ExportError(
                    f"cannot listen on {self.host}:{self._requested_port}: {exc.strerror or exc}"
                ) from exc
            self._listener = sock
            self._address = sock.getsockname()
        self.log.debug("listening on %s:%s", self.host, self.port)
        return self

    def start(self) -> "HTTPServer":
        """Listen (if not yet) and start serving in background threads; idempotent."""
        self.listen()
        with self._lock:
            if self._acceptor is not None:
                return self
            selector = selectors.DefaultSelector()
            wake_r, wake_w = socket.socketpair()
            try:
                wake_r.setblocking(False)
                wake_w.setblocking(False)
                assert self._listener is not None  # listen() above
                selector.register(self._listener, selectors.EVENT_READ, None)
                selector.register(wake_r, selectors.EVENT_READ, None)
                acceptor = threading.Thread(
                    target=self._io_loop, name=f"{THREAD_PREFIX}-io-{self.port}", daemon=True
                )
                self._selector, self._wake_r, self._wake_w = selector, wake_r, wake_w
                acceptor.start()
            except BaseException:
                self._selector = self._wake_r = self._wake_w = None
                selector.close()
                wake_r.close()
                wake_w.close()
                raise
            self._acceptor = acceptor
        return self

    def serve_forever(self) -> None:
        """Start serving and block until :meth:`close` is called (from another thread)."""
        self.start()
        self._closed.wait()

    def close(self) -> None:
        """Stop accepting, close idle connections, finish requests in flight, join threads."""
        with self._lock:
            if self._closing:
                already = True
            else:
                already = False
                self._closing = True
                acceptor = self._acceptor
        if already:
            self._closed.wait()
            return
        try:
            if acceptor is not None:
                self._wake()
                acceptor.join()  # it closes the listener and every connection it held
            elif self._listener is not None and self._owns_listener:
                self._listener.close()
            while True:  # requests no worker has taken yet
                try:
                    conn, _ = self._jobs.popleft()
                except IndexError:
                    break
                self._drop(conn)
            with self._lock:
                workers = list(self._workers)
                for _ in workers:
                    self._tokens.put(False)
            deadline = time.monotonic() + self.close_timeout
            for worker in workers:
                if worker is threading.current_thread():
                    continue  # closed from a handler: this worker exits when it returns
                worker.join(max(0.0, deadline - time.monotonic()))
                if worker.is_alive():
                    self.log.warning("%s: worker %s still busy after close", self, worker.name)
            for sock in (self._wake_r, self._wake_w):
                if sock is not None:
                    sock.close()
            if self._selector is not None:
                self._selector.close()
        finally:
            self._closed.set()
        self.log.debug("closed %s", self)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has completed."""
        return self._closed.is_set()

    @property
    def port(self) -> int:
        """The real port once listening (the requested one before)."""
        return self._address[1] if self._address else self._requested_port

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` as requested, with the real port."""
        return (self.host, self.port)

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context is not None else "http"

    @property
    def connections(self) -> int:
        """How many connections are open now."""
        with self._lock:
            return len(self._active)

    def url(self, path: str = "/") -> str:
        """The URL of ``path`` on this server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> "HTTPServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closing else ("serving" if self._acceptor else "not started")
        return f"<HTTPServer {self.scheme}://{self.host}:{self.port} {state} paths={list(self._handlers)}>"

    # -- I/O thread ------------------------------------------------------------------
    def _wake(self) -> None:
        try:
            if self._wake_w is not None:
                self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # a full wake-up pipe already guarantees a wake-up

    def _io_loop(self) -> None:
        selector, listener = self._selector, self._listener
        assert selector is not None and listener is not None and self._wake_r is not None
        resume_at: float | None = None  # accepting paused (out of descriptors) until then
        deadlines = self._deadlines
        try:
            while not self._closing:
                wake_at = deadlines[0][0] if deadlines else None
                if resume_at is not None:
                    wake_at = resume_at if wake_at is None else min(wake_at, resume_at)
                timeout = None if wake_at is None else max(0.0, wake_at - time.monotonic())
                for key, mask in selector.select(timeout):
                    if key.fileobj is listener:
                        if not self._accept(listener):
                            # The listener stays readable: stop watching it for a moment
                            # rather than spin on a failing accept.
                            selector.unregister(listener)
                            resume_at = time.monotonic() + _ACCEPT_PAUSE
                    elif key.fileobj is self._wake_r:
                        try:
                            while self._wake_r.recv(4096):
                                pass
                        except BlockingIOError:
                            pass
                    elif not key.data.closed:  # (one closed to make room may still be listed)
                        self._on_ready(key.data)
                with self._lock:
                    to_park, self._to_park = self._to_park, []
                for conn in to_park:
                    self._watch(conn)
                now = time.monotonic()
                if resume_at is not None and resume_at <= now:
                    selector.register(listener, selectors.EVENT_READ, None)
                    resume_at = None
                while deadlines and deadlines[0][0] <= now:
                    _, _, generation, conn = heapq.heappop(deadlines)
                    if generation == conn.generation and id(conn) in self._parked:
                        self._expire(conn)
                if len(deadlines) > 4 * len(self._parked) + 1024:  # mostly stale entries: rebuild
                    deadlines[:] = [(c.deadline, id(c), c.generation, c) for c in self._parked.values()]
                    heapq.heapify(deadlines)
        except Exception:  # the I/O thread must never die silently
            self.log.error("%s: I/O loop failed", self, exc_info=True)
        finally:
            if self._owns_listener:  # an adopted one goes on serving its owner's other processes
                listener.close()
            for conn in list(self._parked.values()):
                self._unwatch(conn)
                self._drop(conn, graceful=conn.phase == _READING)
            with self._lock:
                late, self._to_park = self._to_park, []
            for conn in late:
                self._drop(conn)

    def _watch(self, conn: _Connection, events: int = selectors.EVENT_READ) -> None:
        """Have the I/O thread wait for ``events`` on ``conn`` (until its deadline)."""
        assert self._selector is not None
        if conn.closed:
            return
        try:
            if conn.events == 0:
                self._selector.register(conn.sock, events, conn)
            elif conn.events != events:
                self._selector.modify(conn.sock, events, conn)
        except (OSError, ValueError, KeyError) as exc:  # closed under us
            self.log.debug("cannot watch the connection from %s: %s", _peer(conn.address), exc)
            self._parked.pop(id(conn), None)
            conn.events = 0
            self._drop(conn)
            return
        conn.events = events
        self._parked[id(conn)] = conn
        conn.generation += 1
        conn.filed = conn.deadline
        heapq.heappush(self._deadlines, (conn.deadline, id(conn), conn.generation, conn))

    def _unwatch(self, conn: _Connection) -> None:
        self._parked.pop(id(conn), None)
        conn.generation += 1
        if conn.events and self._selector is not None:
            conn.events = 0
            try:
                self._selector.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass  # already closed

    def _expire(self, conn: _Connection) -> None:
        """``conn`` missed its deadline: close it."""
        self._unwatch(conn)
        peer = _peer(conn.address)
        if conn.phase == _HANDSHAKE:
            self.log.warning("TLS handshake with %s timed out after %ss", peer, self.handshake_timeout)
            self._drop(conn)
        elif conn.phase == _DRAINING:
            self._drop(conn)
        elif conn.started:
            self.log.debug("request from %s not complete within %ss", peer, self.request_timeout)
            self._drop(conn)
        else:
            self.log.debug("closing idle connection from %s", peer)
            self._drop(conn, graceful=True)

    def _on_ready(self, conn: _Connection) -> None:
        """The selector says ``conn`` can go on: handshake, read or drain."""
        try:
            if conn.phase == _HANDSHAKE:
                self._tls_handshake(conn)
            elif conn.phase == _READING:
                self._read(conn)
            else:
                self._drain(conn)
        except Exception:  # one connection's failure must not stop the I/O thread
            self.log.error("%s: internal error on the connection from %s", self, _peer(conn.address),
                           exc_info=True)
            self._unwatch(conn)
            self._drop(conn)

    def _accept(self, listener: socket.socket) -> bool:
        """Accept every waiting connection; false when out of descriptors (or memory)."""
        while True:
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return True
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:  # e.g. ECONNABORTED: that peer is gone
                    self.log.debug("%s: accept failed: %s", self, exc)
                    continue
                # Keep serving the connections we have; say so once per interval.
                self._accept_failures += 1
                now = time.monotonic()
                if now - self._accept_warned_at >= _ACCEPT_WARNING_INTERVAL:
                    self.log.warning(
                        "%s: cannot accept connections: %s; pausing accepts for %ss at a time "
                        "(%d failures since the last warning)",
                        self, exc, _ACCEPT_PAUSE, self._accept_failures,
                    )
                    self._accept_warned_at, self._accept_failures = now, 0
                return False
            self._admit(sock, address)

    def _admit(self, sock: socket.socket, address: tuple[Any, ...]) -> None:
        """Take a new connection on, within the caps, and start its handshake or read."""
        conn = _Connection(sock, address, RequestReader(self.max_body_size))
        reason = self._make_room(conn.host)
        if reason is not None:
            tls_policy.log_refusal(self.log, _peer(address), reason)
            if self.ssl_context is None:
                conn.send_now(_UNAVAILABLE)
            _close_quietly(sock)
            return
        with self._lock:
            self._active.add(conn)
            self._per_peer[conn.host] = self._per_peer.get(conn.host, 0) + 1
        try:
            # Non-blocking for good: no read ever waits, and a send waits in select()
            # (switching modes per request would cost system calls that drop the GIL).
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP, or already gone: harmless either way
        now = time.monotonic()
        if self.ssl_context is None:
            self.log.debug("connection from %s", _peer(address))
            conn.deadline, conn.idle_since = now + self.idle_timeout, now
            self._watch(conn)
            return
        conn.phase, conn.deadline = _HANDSHAKE, now + self.handshake_timeout
        try:
            conn.sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        except OSError as exc:
            self.log.debug("connection from %s lost before the TLS handshake: %s", _peer(address), exc)
            self._drop(conn)
            return
        self._tls_handshake(conn)

    def _make_room(self, host: str) -> str | None:
        """At a connection cap, close the longest-idle connection that counts against
        it; why the new connection is refused when there is none."""
        with self._lock:
            total, same = len(self._active), self._per_peer.get(host, 0)
        if same >= self.max_connections_per_peer:
            victim = self._longest_idle(host)
            if victim is None:
                return f"too many connections from {host} (at most {self.max_connections_per_peer})"
        elif total >= self.max_connections:
            victim = self._longest_idle(None)
            if victim is None:
                return f"too many connections (at most {self.max_connections})"
        else:
            return None
        self.log.debug("closing the longest-idle connection from %s to make room for a new one",
                       _peer(victim.address))
        self._unwatch(victim)
        self._drop(victim, graceful=True)
        return None

    def _longest_idle(self, host: str | None) -> _Connection | None:
        idle = [c for c in self._parked.values()
                if c.idle_since is not None and (host is None or c.host == host)]
        return min(idle, key=lambda c: c.idle_since or 0.0) if idle else None

    def _tls_handshake(self, conn: _Connection) -> None:
        """Advance a TLS handshake without blocking; on success, check the peer and read."""
        peer = _peer(conn.address)
        tls = conn.sock
        assert isinstance(tls, ssl.SSLSocket)
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            self._watch(conn, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self._watch(conn, selectors.EVENT_WRITE)
            return
        except ssl.SSLError as exc:
            self._unwatch(conn)
            reason = tls_policy.handshake_refusal(exc)
            if reason is not None:
                tls_policy.log_refusal(self.log, peer, reason)
            elif _is_eof(exc):
                self.log.debug("connection from %s closed during the TLS handshake", peer)
            else:
                self.log.debug("TLS handshake with %s failed: %s", peer, exc)
            self._drop(conn)
            return
        except OSError as exc:
            self._unwatch(conn)
            self.log.debug("connection from %s lost during the TLS handshake: %s", peer, exc)
            self._drop(conn)
            return
        conn.peer_cert = tls.getpeercert() or None
        self.log.debug("TLS connection from %s (%s), client certificate %s", peer, tls.version(), conn.peer_cert)
        if self.verify_peer is not None:
            # A refused client still gets an answer (403, after its request is read), so
            # it knows its call did not run; only the log says why.
            try:
                self.verify_peer(conn.peer_cert, conn.address)
            except VerificationException as exc:
                tls_policy.log_refusal(self.log, peer, exc)
                conn.refused = True
            except Exception:
                self.log.error("refused client %s: verify_peer failed", peer, exc_info=True)
                conn.refused = True
        now = time.monotonic()
        conn.phase, conn.deadline, conn.idle_since = _READING, now + self.idle_timeout, now
        self._read(conn)  # the request may have come with the handshake's last flight

    def _read(self, conn: _Connection) -> None:
        """Read what ``conn`` has; hand a complete request to a worker."""
        try:
            data = conn.recv_now()
            while data:
                self._received(conn, data)
                data = conn.recv_now() if conn.more_decrypted() else None
        except OSError as exc:  # a reset, a TLS error: that peer is gone
            self.log.debug("connection from %s failed: %s", _peer(conn.address), exc)
            self._unwatch(conn)
            self._drop(conn)
            return
        if data == b"":
            self._unwatch(conn)
            self._eof(conn)
            return
        try:
            request = self._next_request(conn)
        except HTTPRequestError as exc:
            self._unwatch(conn)
            self._reject(conn, exc)
            return
        if request is None:
            if conn.events != selectors.EVENT_READ or id(conn) not in self._parked or conn.filed != conn.deadline:
                self._watch(conn)  # (re)filed under its current deadline
            return
        self._unwatch(conn)
        self._submit(conn, request)

    def _received(self, conn: _Connection, data: bytes) -> None:
        if not conn.started:  # the first bytes of a request: its deadline starts now
            conn.started, conn.idle_since = True, None
            conn.deadline = time.monotonic() + self.request_timeout
        conn.reader.receive(data)

    def _next_request(self, conn: _Connection) -> Request | None:
        """The next complete request in ``conn``'s buffer, answering ``100 Continue`` on
        the way; ``None`` when more bytes are needed."""
        reader = conn.reader
        while True:
            event = reader.next_event()
            if isinstance(event, ParsedRequest):
                method, path, query, version, headers, body = event
                if reader.pending:  # a pipelined request has begun
                    conn.deadline = time.monotonic() + self.request_timeout
                else:
                    conn.started = False
                return Request(method, path, query, version, headers, body, conn.address, conn.peer_cert)
            if event is not SEND_CONTINUE:  # NEED_DATA
                return None
            if not conn.send_now(_CONTINUE):
                raise HTTPRequestError(400, "cannot send 100 Continue")

    def _eof(self, conn: _Connection) -> None:
        """The peer closed its side: fine between requests, else the request is bad."""
        try:
            conn.reader.receive_eof()
        except HTTPRequestError as exc:
            self.log.debug("connection from %s closed mid-request: %s", _peer(conn.address), exc)
        self._drop(conn)

    def _drain(self, conn: _Connection) -> None:
        """Read and drop what a rejected peer still sends, until EOF, a limit or the deadline."""
        while True:
            try:
                data = conn.recv_now()
            except OSError:
                data = b""
            if data is None:
                return  # wait for more, or the deadline
            conn.drained += len(data)
            if not data or conn.drained >= _DRAIN_BYTES:
                self._unwatch(conn)
                self._drop(conn)
                return

    def _reject(self, conn: _Connection, exc: HTTPRequestError) -> None:
        """Answer a bad request once, then only drain the connection for a moment."""
        self.log.warning("bad request from %s: %s", _peer(conn.address), exc)
        status = exc.status
        body = f"{status} {_phrase(status)}: {exc}\n".encode("utf-8", "replace")
        payload = (
            f"HTTP/1.1 {status} {_phrase(status)}\r\nServer: {self.server_name}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode("latin-1") + body
        if not conn.send_now(payload):
            self._drop(conn)
            return
        try:
            socket.socket.shutdown(conn.sock, socket.SHUT_WR)  # the peer sees EOF after the answer
        except OSError:
            self._drop(conn)
            return
        conn.phase, conn.deadline, conn.idle_since = _DRAINING, time.monotonic() + _DRAIN_SECONDS, None
        self._park(conn)

    def _park(self, conn: _Connection) -> None:
        """Hand ``conn`` (back) to the I/O thread."""
        if threading.current_thread() is self._acceptor:
            self._watch(conn)
            return
        with self._lock:
            parked = not self._closing
            if parked:
                self._to_park.append(conn)
        if parked:
            self._wake()
        else:
            self._drop(conn)

    def _drop(self, conn: _Connection, graceful: bool = False) -> None:
        """Forget and close a connection; ``graceful`` first sends a TLS close_notify so
        the peer sees a clean end rather than a truncated stream."""
        with self._lock:
            if conn.closed:
                return
            conn.closed = True
            self._active.discard(conn)
            left = self._per_peer.get(conn.host, 0) - 1
            if left > 0:
                self._per_peer[conn.host] = left
            else:
                self._per_peer.pop(conn.host, None)
        try:
            if graceful and isinstance(conn.sock, ssl.SSLSocket):
                try:  # send our close_notify (the socket never blocks), never wait for the peer's
                    conn.sock.unwrap()
                except (ssl.SSLError, OSError, ValueError):
                    pass  # the peer did not answer at once, or is already gone
        finally:
            _close_quietly(conn.sock)

    # -- workers -----------------------------------------------------------------------
    def _submit(self, conn: _Connection, request: Request) -> None:
        with self._lock:
            closing = self._closing
            if not closing:
                self._jobs.append((conn, request))
                if len(self._jobs) > self._idle_workers and len(self._workers) < self.max_workers:
                    self._spawn_worker()
                self._tokens.put(True)
        if closing:
            self._drop(conn)

    def _spawn_worker(self) -> None:
        """Start one more worker (the caller holds the lock)."""
        self._worker_count += 1
        worker = threading.Thread(
            target=self._work, name=f"{THREAD_PREFIX}-worker-{self.port}-{self._worker_count}", daemon=True
        )
        self._workers.append(worker)
        self._idle_workers += 1
        worker.start()

    def _work(self) -> None:
        idle = True
        try:
            while True:
                if not self._tokens.get():
                    return
                with self._lock:  # taking a job and leaving the idle count are one step for _submit
                    if not self._jobs:
                        continue  # a spare token (left by a worker that died)
                    conn, request = self._jobs.popleft()
                    self._idle_workers -= 1
                idle = False
                try:
                    self._serve(conn, request)
                except BaseException:  # one connection's failure must not cost a worker
                    self.log.error("%s: internal error serving %s", self, _peer(conn.address), exc_info=True)
                    self._drop(conn)
                with self._lock:
                    self._idle_workers += 1
                idle = True
        except BaseException:  # logged and replaced; the exception ends this thread only
            self._replace(threading.current_thread(), idle)

    def _replace(self, dead: threading.Thread, idle: bool) -> None:
        """A worker died outside any request: log it, start another, pass its token on."""
        self.log.error("%s: worker %s died; starting a replacement", self, dead.name, exc_info=True)
        with self._lock:
            if dead in self._workers:
                self._workers.remove(dead)
            if idle:
                self._idle_workers -= 1
            if not self._closing:
                self._spawn_worker()
                self._tokens.put(True)  # the token it may have taken without its job

    def _serve(self, conn: _Connection, request: Request | None) -> None:
        """Answer ``request``, then the next ones while they arrive at once; then hand
        the connection back to the I/O thread."""
        try:
            while request is not None:
                if self._closing:
                    self._drop(conn)
                    return
                if conn.refused:
                    self._send(conn, request, _REFUSAL)
                    self._drop(conn, graceful=True)
                    return
                if not self._respond(conn, request):
                    self._drop(conn, graceful=True)
                    return
                request = self._next_in_worker(conn)
        except HTTPRequestError as exc:
            self._reject(conn, exc)
        except socket.timeout:
            self.log.debug("connection from %s timed out taking its answer", _peer(conn.address))
            self._drop(conn)
        except ssl.SSLError as exc:
            self.log.debug("TLS error on connection from %s: %s", _peer(conn.address), exc)
            self._drop(conn)
        except OSError as exc:
            self.log.debug("connection from %s failed: %s", _peer(conn.address), exc)
            self._drop(conn)

    def _next_in_worker(self, conn: _Connection) -> Request | None:
        """The next request if it is there within ``linger`` and all its bytes follow
        at once; else ``None``, the connection parked or closed."""
        request = self._next_request(conn)
        if request is not None:
            return request  # pipelined
        if not (conn.reader.pending or conn.more_decrypted()):
            if not (self.linger and _readable(conn.sock, self.linger)):
                self._idle(conn)
                return None
        while True:
            data = conn.recv_now()
            if data is None:
                if conn.started:
                    self._park(conn)
                else:
                    self._idle(conn)
                return None
            if not data:
                self._eof(conn)
                return None
            if not conn.started:
                conn.started, conn.idle_since = True, None
                conn.deadline = time.monotonic() + self.request_timeout
            conn.reader.receive(data)
            request = self._next_request(conn)
            if request is not None:
                return request

    def _idle(self, conn: _Connection) -> None:
        now = time.monotonic()
        conn.deadline, conn.idle_since = now + self.idle_timeout, now
        self._park(conn)

    # -- responding ---------------------------------------------------------------------
    def _respond(self, conn: _Connection, request: Request) -> bool:
        connection = request.headers.get("connection", "").lower()
        if request.version == "HTTP/1.1":
            keep = "close" not in connection
        else:
            keep = "keep-alive" in connection
        # Plain reads and writes, no lock: a dict look-up and a flag assignment are
        # atomic, and close() only needs a consistent snapshot of the flags it reads.
        handler = self._handlers.get(request.path)
        conn.busy = True
        try:
            if handler is None:
                response = Response(404, f"nothing is mounted at {request.path}\n".encode())
            else:
                try:
                    response = handler(request)
                except BaseException:  # SystemExit or KeyboardInterrupt from a service too: a
                    # worker thread has nobody to hand them to, and must keep serving
                    self.log.error("handler for %s failed on a request from %s", request.path,
                                   _peer(conn.address), exc_info=True)
                    response = Response(500, b"internal server error\n")
        finally:
            conn.busy = False
        return self._send(conn, request, response, keep)

    def _send(self, conn: _Connection, request: Request, response: Response, keep: bool = False) -> bool:
        """Write ``response`` in one piece; whether the connection stays open."""
        keep = keep and not response.close and not self._closing
        head = [f"HTTP/1.1 {response.status} {_phrase(response.status)}",
                f"Server: {self.server_name}",
                f"Date: {_http_date()}",
                f"Content-Type: {response.content_type}",
                f"Content-Length: {len(response.body)}"]
        head.extend(f"{name}: {value}" for name, value in response.headers)
        if not keep:
            head.append("Connection: close")
        elif request.version != "HTTP/1.1":
            head.append("Connection: keep-alive")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        if request.method != "HEAD":
            payload += response.body
        self._send_all(conn, payload)
        return keep

    def _send_all(self, conn: _Connection, data: bytes) -> None:
        """Send ``data`` on the non-blocking socket, waiting for room at most
        ``request_timeout`` seconds in all."""
        view = memoryview(data)
        deadline = None
        while view:
            try:
                sent = conn.sock.send(view)
            except ssl.SSLWantReadError:
                sent, wait_read = 0, True
            except (BlockingIOError, ssl.SSLWantWriteError):
                sent, wait_read = 0, False
            if sent:
                view = view[sent:]
                continue
            now = time.monotonic()
            if deadline is None:
                deadline = now + self.request_timeout
            elif now >= deadline:
                raise socket.timeout(f"answer not taken within {self.request_timeout}s")
            if wait_read:
                select.select([conn.sock], [], [], deadline - now)
            else:
                select.select([], [conn.sock], [], deadline - now)


_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header value, formatted at most once a second."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, email.utils.formatdate(now, usegmt=True))
    return _date_cache[1]


_PHRASES = {status.value: status.phrase for status in http.HTTPStatus}


def _phrase(status: int) -> str:
    return _PHRASES.get(status, "Unknown")


def _peer(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


def _readable(sock: socket.socket, timeout: float) -> bool:
    try:
        return bool(select.select([sock], [], [], timeout)[0])
    except (OSError, ValueError):
        return False


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def _is_eof(exc: ssl.SSLError) -> bool:
    return isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) or "EOF" in str(exc)
