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
:class:`~._pyro_internals.DaemonHooks` and a Pyro 4 or Pyro 5 ``Daemon`` class. In
the worker thread of each connection, before Pyro sees any of its bytes:

* A peer address with ``max_connections_per_peer`` connections open already makes
  room by closing its longest-idle one; when none of them is idle the new one is
  refused through Pyro's handshake ("too many connections from HOST"). The same
  holds for the daemon's ``max_connections`` in all. Each open connection has a
  worker thread of the daemon's own pool, bounded by ``max_connections`` plus
  :data:`SPARE_WORKERS` (which only make room or refuse); a connection beyond even
  those is closed at once by the accept loop. Every refusal is logged by
  :func:`~springpython.remoting.tls.log_refusal`.
* The connection turns into TLS when the daemon has a TLS context (so a slow or
  hostile client ties up only its own worker, never the accept loop), and the TLS
  and Pyro handshakes together must be done within :data:`HANDSHAKE_TIMEOUT`
  seconds of the connection, however slowly their bytes trickle in (one deadline,
  not a timeout per ``recv``).
* Every message (the handshake's and each request) is read here, not by Pyro: its
  header first, then the body, which must arrive within ``request_timeout`` seconds
  of its first byte however slowly it trickles in. Pyro then parses it from memory
  (:class:`ClientConnection`). A body over ``max_message_size`` bytes (after
  decompression, for a compressed one) and a call in a serializer the exporter does
  not accept are answered with an error and the connection is closed, without the
  body being kept; so is a call over its decode budget (:mod:`._budget`: items,
  nesting, references), before Pyro decodes it. A connection silent for
  ``idle_timeout`` seconds between requests is closed.
* Every reply must be taken by the client within ``request_timeout`` seconds (one
  deadline per reply, :func:`_sender`): a client that stops reading costs its
  worker that long at most.
* The connection is remembered so that ``close()`` can end it."""

from __future__ import annotations

import io
import logging
import socket
import ssl
import struct
import threading
import time
import zlib
from typing import Any, Callable, Hashable

from ...errors import ExportError, VerificationException
from .. import tls as tls_policy
from .. import tracing
from ..tls import CLIENT_CERTIFICATE_REFUSED
from ..registry import SharedServers
from . import _budget
from ._pyro_internals import Internals, WireHeader
from ._settings import DaemonSettings

__all__ = [
    "ConnectionTracking",
    "ClientConnection",
    "ServerThread",
    "acquire_server",
    "release_server",
    "check_port_free",
    "HANDSHAKE_TIMEOUT",
    "JOIN_TIMEOUT",
    "SPARE_WORKERS",
]

log = logging.getLogger(__name__)

#: Seconds a new client has to complete the TLS and Pyro handshakes.
HANDSHAKE_TIMEOUT = 10.0
#: Worker threads a daemon has beyond ``max_connections``: a connection over a cap
#: needs one to make room (close an idle connection) or to be refused through Pyro's
#: handshake, which tells the client why.
SPARE_WORKERS = 8
#: Seconds a refused client has to read the answer (a TLS alert, a refused message)
#: while what it still sends is read and dropped.
REFUSAL_DRAIN_TIMEOUT = 1.0
#: The shortest socket timeout set for a deadline that is about to pass (a timeout
#: of 0 would make the socket non-blocking instead).
_MIN_WAIT = 0.001
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
#: Seconds ``close()`` waits for each serving thread to end.
JOIN_TIMEOUT = 5.0
_RECV_SIZE = 65536


class ClientConnection:
    """One open connection, and what Pyro handles each of its messages through.

    Its record: the worker thread, the peer's host, since when it has been waiting
    for a request (``None`` while handshaking or busy) and bytes received past the
    last message. As Pyro's connection: ``recv`` hands out the bytes of the message
    this module has read and checked already (``header`` holds the facts of a
    message read by :meth:`ConnectionTracking._sp_read`), ``send`` sends under a
    deadline (:func:`_sender`), everything else goes to Pyro's own connection.

    ``recv`` is a :class:`io.BytesIO`'s ``read``, bound per message: Pyro reads a
    message in three ``recv`` calls, and a C-level read keeps their cost to the
    binding. The object lives as long as the connection, so a message costs no
    stand-in of its own."""

    __slots__ = ("conn", "thread", "host", "idle_since", "evicted", "pending", "rest_timeout",
                 "recv", "send", "sock", "header", "__weakref__")

    def __init__(self, conn: Any, host: str) -> None:
        self.pending = bytearray()
        #: The socket timeout between messages (see :func:`_wait_in_kernel`).
        self.rest_timeout: float | None = None
        self.conn = conn
        self.thread = threading.current_thread()
        self.host = host
        self.idle_since: float | None = None
        self.evicted = False
        self.recv: Callable[..., bytes] = _EMPTY_READ
        self.send: Callable[[bytes], None] = conn.send
        self.sock: Any = conn.sock
        self.header: WireHeader | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


_EMPTY_READ = io.BytesIO(b"").read


class _Refused(Exception):
    """A message was answered with an error; the connection ends."""


class ConnectionTracking:
    """Mixin for a Pyro ``Daemon`` subclass (in front of
    :class:`~._pyro_internals.DaemonHooks`): the per-connection checks of the module
    docstring and a record of open connections."""

    sp_tls: ssl.SSLContext | None = None
    # DaemonHooks' (see there)
    pyro_handle_request: Any
    answer_exit: Callable[[Any, BaseException], None]

    def sp_init(self, internals: Internals, settings: DaemonSettings) -> None:
        tls = settings.tls
        self.sp_tls = tls.context() if tls is not None else None
        self.sp_verify = tls.verify if tls is not None and tls.verify_fields else None
        limits = self.sp_limits = settings.limits
        self.sp_internals = internals
        internals.bound_workers(self, limits.max_connections + SPARE_WORKERS, self._sp_turn_away)
        self.sp_accepted = settings.serializers
        accepted = self.sp_accepted_ids = frozenset(internals.serializer_id(n) for n in settings.serializers)
        self.sp_lock = threading.Lock()
        self.sp_open: dict[Any, ClientConnection] = {}
        self.sp_closing = False
        #: Whether the facades serve their traced methods (see :meth:`sp_trace_on`).
        self.sp_traced = False
        #: Accepted serializers by id, and those whose calls of no more bytes than
        #: ``max_items`` are within the decode budget without a look (:mod:`._budget`).
        self.sp_names = {internals.serializer_id(n): n for n in settings.serializers}
        unchecked = frozenset(i for i, n in self.sp_names.items() if n in _budget.TEXT_SERIALIZERS)
        layout = internals.layout
        #: What the check of each message needs, in one tuple (see :meth:`handleRequest`).
        self.sp_check = (
            layout.header.unpack_from, layout.header.size, layout.prefix, layout.annotations_size,
            layout.data_size, layout.flags, layout.compressed, layout.msg_type, layout.invoke,
            layout.serializer_id, unchecked, min(limits.max_message_size, limits.budget.max_items),
        )

    def on_connect(self, conn: Any, denied_reason: Any = None) -> bool:
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        client = ClientConnection(conn, _peer_host(conn.sock))
        denied_reason = self._sp_admit(client) or denied_reason
        ok = False
        try:
            conn.sock.settimeout(HANDSHAKE_TIMEOUT)
            if self.sp_tls is not None:
                if not self._sp_tls_handshake(conn, deadline):
                    return False
                denied_reason = denied_reason or self._sp_check_subject(conn)
            sock = client.sock = conn.sock
            client.send = _sender(sock, self.sp_limits.request_timeout, self.sp_internals.errors)
            if not self._sp_read(client, deadline, handshake=True):
                return False
            try:
                ok = bool(self.sp_protocol_handshake(client, denied_reason))
            finally:
                client.recv = _EMPTY_READ
            if ok:
                client.rest_timeout = _wait_in_kernel(sock, self.sp_limits.idle_timeout)
                client.idle_since = time.monotonic()  # waiting for its first request
            return ok
        finally:
            if not ok:
                self._sp_forget(conn)

    def _sp_turn_away(self, sock: socket.socket, address: Any) -> None:
        """A connection beyond every worker (see the module docstring): logged and
        closed at once, in the accept loop, without reading anything."""
        tls_policy.log_refusal(log, _peer(sock), f"too many connections (at most {self.sp_limits.max_connections}"
                               f" and {SPARE_WORKERS} more being refused)")
        try:
            sock.close()
        except OSError:
            pass

    def _sp_admit(self, client: ClientConnection) -> str | None:
        """Record ``client``; at its peer's cap (or the daemon's), close that peer's
        (or any) longest-idle connection, or return why it is refused when none is idle."""
        cap = self.sp_limits.max_connections_per_peer
        total_cap = self.sp_limits.max_connections
        victim = None
        reason = None
        with self.sp_lock:
            if self.sp_closing:
                reason = "the server is shutting down"
            counted = [c for c in self.sp_open.values() if not c.evicted]
            same = [c for c in counted if c.host == client.host]
            if len(same) >= cap:
                candidates, full = same, f"too many connections from {client.host} (at most {cap})"
            elif len(counted) >= total_cap:
                candidates, full = counted, f"too many connections (at most {total_cap})"
            else:
                candidates, full = [], None
            if full is not None:
                idle = [c for c in candidates if c.idle_since is not None]
                if idle:
                    victim = min(idle, key=lambda c: c.idle_since or 0.0)
                    victim.idle_since = None
                    victim.evicted = True
                else:
                    reason = reason or full
            self.sp_open[client.conn] = client
        if victim is not None:
            log.debug("closing the longest-idle connection from %s to make room for a new one", client.host)
            _shutdown(victim.conn.sock)
        elif reason is not None and not self.sp_closing:
            tls_policy.log_refusal(log, _peer(client.conn.sock), reason)
        return reason

    def handleRequest(self, conn: Any) -> None:  # Pyro's name
        """Read the next message, check it, and let Pyro handle it (see the module
        docstring). The usual message, one that arrives whole with the first ``recv``
        and passes every check, is checked here with the fields of its header; any
        other goes through :meth:`_sp_read`. A ``BaseException`` that is not an
        ``Exception`` (a service's ``SystemExit``) is answered to the caller."""
        client = self.sp_open.get(conn)
        if client is None:
            raise self.sp_internals.errors.ConnectionClosedError("connection closed")
        client.idle_since = time.monotonic()
        if client.pending:
            ok = self._sp_read(client, None)
        else:
            try:
                data = client.sock.recv(_RECV_SIZE)
            except OSError as exc:  # the receive timeout (EAGAIN), or the peer is gone
                self._sp_log_silent(client.sock, exc, False)
                data = b""
            client.idle_since = None
            (unpack, header_size, prefix, annotations_at, data_at, flags_at, compressed, type_at, invoke,
             serializer_at, accepted, max_size) = self.sp_check
            if len(data) >= header_size and data.startswith(prefix):
                fields = unpack(data)
                size = fields[annotations_at] + fields[data_at]
                ok = (len(data) - header_size == size <= max_size and not fields[flags_at] & compressed
                      and (fields[type_at] != invoke or fields[serializer_at] in accepted))
                if ok:
                    client.recv = io.BytesIO(data).read
            else:
                ok = False
            if not ok and data:
                client.pending += data
                ok = self._sp_read(client, None)
        if not ok:
            raise self.sp_internals.errors.ConnectionClosedError("connection closed")
        if not self.sp_traced and tracing.active():  # checked once the message is in
            self.sp_trace_on()
        try:
            self.pyro_handle_request(client)
        except BaseException as exc:
            if isinstance(exc, Exception):
                raise  # Pyro's own way of ending a connection
            self.answer_exit(client, exc)
        finally:
            client.recv = _EMPTY_READ

    def register(self, obj: Any, *args: Any, **kwargs: Any) -> Any:  # Pyro's name
        if "sp_lock" not in self.__dict__:  # Pyro's own object, registered before sp_init
            return super().register(obj, *args, **kwargs)  # type: ignore[misc]
        with self.sp_lock:
            if self.sp_traced and hasattr(obj, "sp_trace"):
                obj.sp_trace()
            return super().register(obj, *args, **kwargs)  # type: ignore[misc]

    def sp_trace_on(self) -> None:
        """Tracing was turned on (an OpenTelemetry provider is set once and stays):
        every facade served here switches to its traced methods, once. Until then a
        request costs this one check, made with the others in :meth:`handleRequest`."""
        with self.sp_lock:
            if not self.sp_traced:
                for obj in list(self.objectsById.values()):  # type: ignore[attr-defined]
                    if hasattr(obj, "sp_trace"):
                        obj.sp_trace()
                self.sp_traced = True

    def _sp_log_silent(self, sock: Any, exc: OSError, handshake: bool) -> None:
        """Log (at DEBUG) why a wait for a message's first bytes ended without any."""
        if isinstance(exc, (socket.timeout, BlockingIOError, ssl.SSLWantReadError)):
            log.debug("closing the connection from %s: %s", _peer(sock),
                      "handshake not done in time" if handshake else
                      f"idle for {self.sp_limits.idle_timeout:g}s")

    def _sp_read(self, client: ClientConnection, deadline: float | None, *, handshake: bool = False) -> bool:
        """Read and check the next message on ``client`` and hand its bytes to
        ``client.recv``; false when the connection is to end (closed, idle, too slow,
        or refused and answered). ``deadline`` bounds the whole message (by default
        ``request_timeout`` from its first byte); during the handshake it bounds the
        wait for the first byte too.

        A message that arrives with its first ``recv`` costs that one system call:
        the wait for it is bounded by the socket's own receive timeout
        (:func:`_wait_in_kernel`), and bytes read past its end are kept in
        ``client.pending`` for the next one."""
        internals, limits = self.sp_internals, self.sp_limits
        sock = client.sock
        buf = client.pending
        try:
            if not buf:
                try:
                    if deadline is not None:
                        sock.settimeout(max(deadline - time.monotonic(), _MIN_WAIT))
                    chunk = sock.recv(_RECV_SIZE)
                except OSError as exc:  # the receive timeout (EAGAIN), or the peer is gone
                    self._sp_log_silent(sock, exc, handshake)
                    return False
                if not chunk:
                    return False
                buf += chunk
            client.idle_since = None
            size = internals.header_size
            if len(buf) < size:
                deadline = deadline or time.monotonic() + limits.request_timeout
                _read_into(sock, buf, size, deadline, None if handshake else client.rest_timeout)
            header = internals.parse_header(buf)
            if header is None:
                log.warning("closing the connection from %s: not a %s message", _peer(sock), internals.name)
                return False
            client.header = header
            body_size = header.body_size
            if body_size > limits.max_message_size:
                self._sp_refuse(client, header, handshake, len(buf) - size, internals.too_large(
                    f"message of {body_size} bytes is larger than this server's limit of "
                    f"{limits.max_message_size} bytes (max_message_size)"))
            if header.is_call and header.serializer_id not in self.sp_accepted_ids:
                name = internals.serializer_name(header.serializer_id)
                self._sp_refuse(client, header, handshake, len(buf) - size, internals.refused(
                    f"serializer {name!r} is not accepted by this service; use one of {', '.join(self.sp_accepted)}"))
            if len(buf) < size + body_size:
                deadline = deadline or time.monotonic() + limits.request_timeout
                _read_into(sock, buf, size + body_size, deadline, None if handshake else client.rest_timeout)
            if header.compressed_from is not None:
                body = memoryview(buf)[size:size + body_size]
                inflated = _inflated_size(body, header.compressed_from, limits.max_message_size)
                body.release()
                if inflated is None or inflated > limits.max_message_size:
                    what = "is not valid zlib data" if inflated is None else (
                        f"inflates to more than this server's limit of {limits.max_message_size} bytes "
                        f"(max_message_size)")
                    self._sp_refuse(client, header, handshake, body_size, internals.too_large(f"compressed message {what}"))
            if header.is_call:
                reason = self._sp_over_budget(header, memoryview(buf)[size:size + body_size])
                if reason is not None:
                    self._sp_refuse(client, header, handshake, body_size, internals.too_large(reason))
            if len(buf) == size + body_size:
                message, client.pending = buf, bytearray()
            else:  # the next message began already
                message = buf[:size + body_size]
                del buf[:size + body_size]  # cheap: a bytearray drops its front without moving the rest
            client.recv = io.BytesIO(message).read
            return True
        except socket.timeout:
            log.warning("closing the connection from %s: a message did not arrive within %s", _peer(sock),
                        "the handshake timeout" if handshake else f"request_timeout={limits.request_timeout:g}s")
            return False
        except (_Refused, ConnectionError, ssl.SSLError, OSError):
            return False

    def _sp_over_budget(self, header: WireHeader, body: memoryview) -> str | None:
        """Why the call in ``body`` is over the decode budget (:mod:`._budget`), or ``None``."""
        try:
            data: Any = body[header.data_from:]
            if header.compressed_from is not None:  # its inflated size is checked already
                data = zlib.decompress(data)
            return _budget.refusal(self.sp_names.get(header.serializer_id, ""), data, self.sp_limits.budget)
        except zlib.error:
            return "the compressed call is not valid zlib data"
        finally:
            body.release()

    def _sp_refuse(self, conn: ClientConnection, header: WireHeader, handshake: bool, received: int,
                   exc: BaseException) -> None:
        """Log ``exc``, answer the message with it (not during the handshake, where
        the client waits for another kind of answer), drop what the client still
        sends of it (``received`` of its body bytes are in already) for a moment so
        that it reads the answer, and end the connection."""
        tls_policy.log_refusal(log, _peer(conn.sock), exc)
        if not handshake:
            try:
                self.sp_internals.send_refusal(self, conn, header, exc)
            except Exception:  # the client is gone, or its serializer failed
                log.debug("could not answer the refused message", exc_info=True)
        _drain(conn.sock, max(header.body_size - received, 0))
        raise _Refused(str(exc))

    def _sp_tls_handshake(self, conn: Any, deadline: float) -> bool:
        """Turn ``conn`` into TLS by ``deadline``; a refused client is logged and told
        why (see :func:`refuse`)."""
        peer = _peer(conn.sock)
        try:
            tls_sock = self.sp_tls.wrap_socket(conn.sock, server_side=True, do_handshake_on_connect=False)  # type: ignore[union-attr]
        except (OSError, ValueError) as exc:
            log.warning("TLS connection from %s failed: %s", peer, exc)
            return False
        conn.sock = tls_sock
        try:
            # one deadline for the whole handshake: the TLS layer retries each read
            # and write within what is left of the socket's timeout
            tls_sock.settimeout(max(deadline - time.monotonic(), _MIN_WAIT))
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
        """Pyro's own handshake on ``conn`` (a subclass may look at the message first)."""
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
            clients = list(self.sp_open.values())
        for client in clients:
            _shutdown(client.conn.sock)
        return [client.thread for client in clients]


def _shutdown(sock: socket.socket) -> None:
    try:
        # the plain socket method: an SSLSocket's own shutdown() would drop its TLS
        # state under the worker still reading from it
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer


def _read_into(sock: socket.socket, buffer: bytearray, size: int, deadline: float,
               rest_timeout: float | None) -> None:
    """Read until ``buffer`` holds ``size`` bytes, all by ``deadline`` (``socket.timeout``
    otherwise); a connection closed early is ``ConnectionError``. The socket's
    timeout is ``rest_timeout`` again afterwards (during the handshake, ``None``:
    left as it is)."""
    try:
        while len(buffer) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("deadline passed")
            sock.settimeout(left)
            chunk = sock.recv(min(size - len(buffer), _RECV_SIZE))
            if not chunk:
                raise ConnectionError("closed inside a message")
            buffer += chunk
    finally:
        if rest_timeout is not None:
            sock.settimeout(None if rest_timeout < 0 else rest_timeout)


def _sender(sock: Any, timeout: float, errors: Any) -> Callable[[bytes], None]:
    """The ``send`` of a client connection: all of ``data`` within ``timeout``
    seconds, or the engine's ``TimeoutError`` (``ConnectionClosedError`` when the
    client is gone), which ends the connection.

    On a plain socket the reply is first offered to the kernel without waiting
    (``MSG_DONTWAIT``), which takes a reply that fits its buffer in that one system
    call; only what is left waits, under the deadline. Pyro's own send would wait
    again in full for every part a slow reader takes, so a client reading a byte
    now and then would hold the worker for ever."""
    tls = isinstance(sock, ssl.SSLSocket)
    send = sock.send

    def send_all(data: bytes) -> None:
        sent = 0
        if not tls:
            try:
                sent = send(data, _DONTWAIT)
            except BlockingIOError:
                pass
            except OSError as exc:
                raise errors.ConnectionClosedError(f"sending: connection lost: {exc}") from None
            if sent == len(data):
                return
        _send_rest(sock, data, sent, timeout, errors)

    return send_all


def _send_rest(sock: Any, data: bytes, sent: int, timeout: float, errors: Any) -> None:
    """Send ``data[sent:]`` within ``timeout`` seconds (see :func:`_sender`); the
    socket's timeout is as before afterwards."""
    deadline = time.monotonic() + timeout
    before = sock.gettimeout()
    view = memoryview(data)
    try:
        while sent < len(view):
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("closing the connection from %s: it did not take a reply within "
                            "request_timeout=%gs", _peer(sock), timeout)
                raise errors.TimeoutError(f"sending: the reply was not taken within {timeout:g}s")
            sock.settimeout(left)
            try:
                sent += sock.send(view[sent:])
            except socket.timeout:
                continue
            except OSError as exc:
                raise errors.ConnectionClosedError(f"sending: connection lost: {exc}") from None
    finally:
        view.release()
        try:
            sock.settimeout(before)
        except OSError:
            pass  # closed meanwhile


#: ``rest_timeout`` of a plain socket: blocking, its receive timeout in the kernel.
_IN_KERNEL = -1.0


def _wait_in_kernel(sock: socket.socket, idle_timeout: float) -> float:
    """Bound the wait for the next message on ``sock`` by ``idle_timeout`` seconds;
    returns its timeout between messages. A plain socket is made blocking with a
    receive timeout kept by the kernel (``SO_RCVTIMEO``): waiting for a request
    then costs no system call besides the ``recv`` itself, where a Python socket
    timeout adds a ``poll`` and two mode switches to each. A TLS socket keeps a
    Python timeout (Python's TLS layer retries a read the kernel timed out)."""
    if isinstance(sock, ssl.SSLSocket):
        sock.settimeout(idle_timeout)
        return idle_timeout
    sock.settimeout(None)
    seconds = int(idle_timeout)
    micros = int((idle_timeout - seconds) * 1_000_000)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", seconds, micros))
    return _IN_KERNEL


def _inflated_size(body: bytearray | memoryview, start: int, limit: int) -> int | None:
    """How many bytes the zlib data in ``body[start:]`` inflates to, counted up to
    ``limit + 1`` only (the output is not kept); ``None`` when it is not zlib data."""
    inflater = zlib.decompressobj()
    data: Any = memoryview(body)[start:]
    total = 0
    try:
        while data and total <= limit:
            total += len(inflater.decompress(data, _RECV_SIZE))
            data = inflater.unconsumed_tail
        if total <= limit:
            total += len(inflater.flush())
    except zlib.error:
        return None
    return total
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


def _peer_host(sock: socket.socket) -> str:
    try:
        return str(sock.getpeername()[0])
    except (OSError, ValueError, IndexError):
        return "an unknown peer"


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
    _drain(tls_sock, None)


def _drain(sock: socket.socket, limit: int | None) -> None:
    """Close our side for writing, then read and drop what the client still sends
    (``limit`` bytes at most when given) for :data:`REFUSAL_DRAIN_TIMEOUT` seconds at
    most, so it reads our answer rather than a reset."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_WR)
        deadline = time.monotonic() + REFUSAL_DRAIN_TIMEOUT
        left_bytes = _RECV_SIZE if limit is None else limit + _RECV_SIZE
        while (left := deadline - time.monotonic()) > 0 and left_bytes > 0:
            sock.settimeout(left)
            chunk = socket.socket.recv(sock, _RECV_SIZE)
            if not chunk:
                break
            if limit is not None:
                left_bytes -= len(chunk)
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
