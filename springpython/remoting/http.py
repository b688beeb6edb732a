"""A small threaded HTTP/1.1 server shared by the HTTP-based transports (XML-RPC,
Hessian): handlers are mounted on paths and turn a :class:`Request` into a
:class:`Response`.

Rules of this file:

* The accept thread only accepts and watches idle keep-alive connections; it never
  reads a request or performs a TLS handshake. Every connection that has something
  to read is handed to a bounded pool of worker threads.
* The TLS handshake runs in a worker under ``handshake_timeout``, so a client that
  connects and stalls holds one worker for that long and blocks nobody else.
* A connection with no request in flight is parked with the accept thread, not held
  by a worker (after a ``linger`` of a few milliseconds, so a busy client's next
  request skips the hand-over); it is closed after ``idle_timeout`` seconds of
  silence, with a TLS close_notify.
* A request must arrive completely within ``request_timeout`` seconds of its first
  byte, however slowly it trickles in.
* A response (status line, headers and body) is written with one ``sendall`` so
  Nagle's algorithm and delayed ACKs never stall a keep-alive exchange.
* Requests are parsed by :mod:`.http_reader` (sans-IO, strict RFC 9112 framing);
  this file only moves bytes. A peer that sends a bad request gets one error answer
  (400, a too large body 413) and loses its connection, and nothing it sent after
  the bad request is read; the server goes on serving everyone else.
* Whatever a handler raises, ``SystemExit`` and ``KeyboardInterrupt`` included, is a
  500 logged at ERROR; a worker never dies of a request.
* A refused client is told so, and logged once at WARNING as ``refused client
  HOST:PORT: reason``: refused in the TLS handshake, it gets the TLS alert; refused
  by ``verify_peer``, its request is read and answered 403 with
  ``tls.REFUSED_HEADER``, and never handled.
* Out of descriptors, accepting pauses for 0.1 s at a time, with one WARNING per
  5 s, and resumes by itself; the connections already open are served meanwhile.

``start()`` returns once the socket listens (port 0 picks a free port, read it back
from :attr:`HTTPServer.port`); ``close()`` is idempotent: it stops accepting, closes
idle connections, lets requests in flight finish and joins every thread."""

from __future__ import annotations

import email.utils
import errno
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
    "DEFAULT_HANDSHAKE_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_REQUEST_TIMEOUT",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_SIZE = 8 * 1024 * 1024
DEFAULT_MAX_WORKERS = 32
DEFAULT_HANDSHAKE_TIMEOUT = 5.0
DEFAULT_IDLE_TIMEOUT = 30.0
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_CLOSE_TIMEOUT = 10.0
# How long a worker waits for a keep-alive client's next request before parking the
# connection: a busy client then skips two thread hand-overs per call.
DEFAULT_LINGER = 0.01
# The socket timeout is tightened to a request's own deadline only once a tenth of
# the request timeout has passed: a read may overrun the deadline by at most that
# much, and a quick request costs no system call for it.
_TIGHTEN_AFTER = 0.9
THREAD_PREFIX = "springpython-http"

# TLS handshake failures that are the server refusing the client (OpenSSL reasons);
# anything else (garbage, an early close, the client refusing us) is logged at DEBUG.
# Out of descriptors (or kernel memory), accepting pauses this long at a time, and a
# WARNING is logged at most once per interval.
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_ACCEPT_PAUSE = 0.1
_ACCEPT_WARNING_INTERVAL = 5.0
_RECV_SIZE = 65536
_DRAIN_SECONDS = 0.5
_DRAIN_BYTES = 1024 * 1024


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


class _Closed(Exception):
    """The peer went away (or the server is closing) between or during requests."""


class _Connection:
    __slots__ = ("sock", "address", "reader", "peer_cert", "requests", "deadline", "busy", "ready", "timeout",
                 "refused")

    def __init__(self, sock: socket.socket, address: tuple[Any, ...], reader: RequestReader) -> None:
        self.sock = sock
        self.address = address
        self.reader = reader
        self.peer_cert: dict[str, Any] | None = None
        self.requests = 0
        self.deadline = 0.0
        self.busy = False  # a handler runs for it: let it finish on close
        self.ready = False  # set up (TCP options, TLS handshake, peer check) done
        self.timeout: float | None = None  # the socket's timeout as last set
        self.refused = False  # verify_peer refused the client: answer its request with 403

    def set_timeout(self, seconds: float) -> None:
        """Set the socket timeout; each change costs a system call, so skip repeats."""
        if seconds != self.timeout:
            self.sock.settimeout(seconds)
            self.timeout = seconds


class HTTPServer:
    """A threaded HTTP/1.1 server with keep-alive, optional TLS and mounted handlers.

    ``verify_peer(cert, address)`` runs after each TLS handshake with the decoded
    peer certificate (``None`` if the peer sent none); raising
    :class:`~springpython.errors.VerificationException` refuses the client: its
    request is read but never handled, it gets a 403 with the header
    ``tls.REFUSED_HEADER: client-certificate`` (saying the call did not run, never
    what was expected) and the connection closes. Every refusal, there or in the TLS
    handshake (no client certificate, unknown CA, expired, TLS version), is logged at
    WARNING as ``refused client HOST:PORT: reason``. Timeouts are in seconds: ``handshake_timeout`` for the
    TLS handshake, ``idle_timeout`` between requests, ``request_timeout`` for a
    request once it started arriving. ``logger`` lets an owner (such as an ``SSLServer``
    subclass) receive the connection-level messages under its own name."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        verify_peer: PeerVerifier | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        max_workers: int = DEFAULT_MAX_WORKERS,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        linger: float = DEFAULT_LINGER,
        server_name: str = "springpython",
        logger: logging.Logger | None = None,
    ) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        if max_body_size < 0:
            raise ValueError(f"max_body_size must not be negative, got {max_body_size}")
        self.host = host
        self._requested_port = as_port("port", port)
        self.ssl_context = ssl_context
        self.verify_peer = verify_peer
        self.max_body_size = int(max_body_size)
        self.max_workers = int(max_workers)
        self.handshake_timeout = float(handshake_timeout)
        self.idle_timeout = float(idle_timeout)
        self.request_timeout = float(request_timeout)
        self.server_name = server_name
        self.log = logger or log
        self.linger = float(linger)

        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._address: tuple[Any, ...] | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._to_park: list[_Connection] = []
        self._active: set[_Connection] = set()
        self._jobs: queue.SimpleQueue[_Connection | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._idle_workers = 0
        self._pending = 0  # connections queued for a worker, not yet taken
        self._acceptor: threading.Thread | None = None
        self._accept_failures = 0  # out-of-descriptor failures since the last warning
        self._accept_warned_at = -_ACCEPT_WARNING_INTERVAL
        self._closing = False
        self._closed = threading.Event()

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
                    target=self._accept_loop, name=f"{THREAD_PREFIX}-accept-{self.port}", daemon=True
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
                acceptor.join()
            elif self._listener is not None:
                self._listener.close()
            with self._lock:
                reading = [c for c in self._active if not c.busy]
            for conn in reading:  # unblock workers waiting for a request or a handshake
                _shutdown(conn.sock)
            while True:  # connections no worker has taken yet (the acceptor has stopped)
                try:
                    leftover = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if leftover is not None:
                    self._drop(leftover)
            with self._lock:
                workers = list(self._workers)
            for _ in workers:
                self._jobs.put(None)
            deadline = time.monotonic() + DEFAULT_CLOSE_TIMEOUT
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

    # -- accept thread -------------------------------------------------------------
    def _wake(self) -> None:
        try:
            if self._wake_w is not None:
                self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # a full wake-up pipe already guarantees a wake-up

    def _accept_loop(self) -> None:
        selector, listener = self._selector, self._listener
        assert selector is not None and listener is not None and self._wake_r is not None
        parked: dict[int, _Connection] = {}
        resume_at: float | None = None  # accepting paused (out of descriptors) until then
        try:
            while not self._closing:
                deadlines = [c.deadline for c in parked.values()]
                if resume_at is not None:
                    deadlines.append(resume_at)
                timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
                for key, _ in selector.select(timeout):
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
                    else:
                        conn = key.data
                        selector.unregister(conn.sock)
                        del parked[id(conn)]
                        self._submit(conn)
                with self._lock:
                    to_park, self._to_park = self._to_park, []
                for conn in to_park:
                    conn.deadline = time.monotonic() + self.idle_timeout
                    selector.register(conn.sock, selectors.EVENT_READ, conn)
                    parked[id(conn)] = conn
                now = time.monotonic()
                if resume_at is not None and resume_at <= now:
                    selector.register(listener, selectors.EVENT_READ, None)
                    resume_at = None
                for conn in [c for c in parked.values() if c.deadline <= now]:
                    selector.unregister(conn.sock)
                    del parked[id(conn)]
                    self.log.debug("closing idle connection from %s", _peer(conn.address))
                    self._drop(conn, graceful=True)
        except Exception:  # the accept thread must never die silently
            self.log.error("%s: accept loop failed", self, exc_info=True)
        finally:
            listener.close()
            for conn in parked.values():
                selector.unregister(conn.sock)
                self._drop(conn, graceful=True)
            with self._lock:
                late, self._to_park = self._to_park, []
            for conn in late:
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
            conn = _Connection(sock, address, RequestReader(self.max_body_size))
            with self._lock:
                self._active.add(conn)
            self._submit(conn)

    def _park(self, conn: _Connection) -> None:
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
            self._active.discard(conn)
        try:
            if graceful and isinstance(conn.sock, ssl.SSLSocket):
                conn.set_timeout(0)  # send our close_notify, never wait for the peer's
                try:
                    conn.sock.unwrap()
                except (ssl.SSLError, OSError, ValueError):
                    pass  # the peer did not answer at once, or is already gone
        finally:
            try:
                conn.sock.close()
            except OSError:
                pass

    # -- workers -----------------------------------------------------------------------
    def _submit(self, conn: _Connection) -> None:
        with self._lock:
            closing = self._closing
            if not closing:
                self._pending += 1
                if self._pending > self._idle_workers and len(self._workers) < self.max_workers:
                    worker = threading.Thread(
                        target=self._work,
                        name=f"{THREAD_PREFIX}-worker-{self.port}-{len(self._workers) + 1}",
                        daemon=True,
                    )
                    self._workers.append(worker)
                    self._idle_workers += 1
                    worker.start()
                self._jobs.put(conn)
        if closing:
            self._drop(conn)

    def _work(self) -> None:
        while True:
            conn = self._jobs.get()
            with self._lock:
                self._idle_workers -= 1
                if conn is not None:
                    self._pending -= 1
            if conn is None:
                return
            try:
                self._serve(conn)
            except BaseException:  # one connection's failure must not cost a worker
                self.log.error("%s: internal error serving %s", self, _peer(conn.address), exc_info=True)
                self._drop(conn)
            finally:
                with self._lock:
                    self._idle_workers += 1

    def _serve(self, conn: _Connection) -> None:
        if self._closing:
            self._drop(conn)
            return
        readable = conn.ready  # a parked connection comes back when it has data
        if not conn.ready:
            if not self._setup(conn):
                self._drop(conn)
                return
            conn.ready = True
        try:
            while True:
                if not (readable or conn.reader.pending or (isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending())):
                    # Wait a moment for the (next) request, else let the accept thread
                    # watch the connection: a silent client never holds a worker for long.
                    if not (self.linger and _readable(conn.sock, self.linger)):
                        self._park(conn)
                        return
                readable = False
                request = self._read_request(conn)
                if request is None:
                    self._drop(conn)
                    return
                if conn.refused:
                    self._send(conn, request, _REFUSAL)
                    self._drop(conn, graceful=True)
                    return
                if not self._respond(conn, request):
                    self._drop(conn, graceful=True)
                    return
        except HTTPRequestError as exc:
            self.log.warning("bad request from %s: %s", _peer(conn.address), exc)
            self._send_error(conn, exc.status, str(exc))
            self._drop(conn)
        except _Closed:
            self._drop(conn)
        except socket.timeout:
            self.log.debug("connection from %s timed out mid-request", _peer(conn.address))
            self._drop(conn)
        except ssl.SSLError as exc:
            self.log.debug("TLS error on connection from %s: %s", _peer(conn.address), exc)
            self._drop(conn)
        except OSError as exc:
            self.log.debug("connection from %s failed: %s", _peer(conn.address), exc)
            self._drop(conn)

    def _setup(self, conn: _Connection) -> bool:
        """Per-connection setup: TCP_NODELAY, then the TLS handshake and peer check."""
        sock, peer = conn.sock, _peer(conn.address)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not TCP (a test's socketpair) or already gone: harmless either way
        if self.ssl_context is None:
            self.log.debug("connection from %s", peer)
            conn.set_timeout(self.request_timeout)
            return True
        sock.settimeout(self.handshake_timeout)
        try:
            tls = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        except OSError as exc:
            self.log.debug("connection from %s lost before the TLS handshake: %s", peer, exc)
            return False
        conn.sock = tls
        try:
            tls.do_handshake()
        except socket.timeout:
            self.log.warning("TLS handshake with %s timed out after %ss", peer, self.handshake_timeout)
            return False
        except ssl.SSLError as exc:
            reason = tls_policy.handshake_refusal(exc)
            if reason is not None:
                tls_policy.log_refusal(self.log, peer, reason)
            elif _is_eof(exc):
                self.log.debug("connection from %s closed during the TLS handshake", peer)
            else:
                self.log.debug("TLS handshake with %s failed: %s", peer, exc)
            return False
        except OSError as exc:
            self.log.debug("connection from %s lost during the TLS handshake: %s", peer, exc)
            return False
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
        conn.timeout = None  # a new socket object: set its timeout for certain
        conn.set_timeout(self.request_timeout)
        return True

    # -- reading ---------------------------------------------------------------------
    def _fill(self, conn: _Connection) -> None:
        remaining = conn.deadline - time.monotonic()
        if remaining <= 0:  # a client trickling bytes still has to finish in time
            raise socket.timeout(f"request not complete within {self.request_timeout}s")
        if remaining < self.request_timeout * _TIGHTEN_AFTER:
            conn.set_timeout(remaining)  # a slow request: wait no longer than its deadline
        data = conn.sock.recv(_RECV_SIZE)
        if not data:
            raise _Closed()
        conn.reader.receive(data)

    def _read_request(self, conn: _Connection) -> Request | None:
        reader = conn.reader
        conn.deadline = time.monotonic() + self.request_timeout
        while True:
            event = reader.next_event()
            if isinstance(event, ParsedRequest):
                conn.requests += 1
                method, path, query, version, headers, body = event
                return Request(method, path, query, version, headers, body, conn.address, conn.peer_cert)
            if event is SEND_CONTINUE:
                conn.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                continue
            if self._closing:  # NEED_DATA
                return None
            try:
                self._fill(conn)
            except _Closed:
                reader.receive_eof()  # raises HTTPRequestError in the middle of a request
                return None

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
        """Write ``response`` with one ``sendall``; whether the connection stays open."""
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
        conn.set_timeout(self.request_timeout)
        conn.sock.sendall(payload)
        return keep

    def _send_error(self, conn: _Connection, status: int, message: str) -> None:
        body = f"{status} {_phrase(status)}: {message}\n".encode("utf-8", "replace")
        payload = (
            f"HTTP/1.1 {status} {_phrase(status)}\r\nServer: {self.server_name}\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode("latin-1") + body
        try:
            conn.sock.sendall(payload)
            socket.socket.shutdown(conn.sock, socket.SHUT_WR)  # the peer sees EOF after the answer
            # Read (and drop) what the peer is still sending for a while: closing with
            # unread data would reset the connection before the peer reads the answer.
            conn.set_timeout(_DRAIN_SECONDS)
            deadline, drained = time.monotonic() + _DRAIN_SECONDS, 0
            while drained < _DRAIN_BYTES and time.monotonic() < deadline:
                chunk = conn.sock.recv(_RECV_SIZE)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass  # the peer is gone or slow; the answer was sent if it could be


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


def _shutdown(sock: socket.socket) -> None:
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed or never connected


def _is_eof(exc: ssl.SSLError) -> bool:
    return isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) or "EOF" in str(exc)
