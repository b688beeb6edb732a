"""The one module that touches Pyro's private API, for Pyro5 and Pyro4.

Everything else in :mod:`springpython.remoting.pyro` goes through the small named
methods of :class:`Pyro5Internals` and :class:`Pyro4Internals` (one instance per
engine) and the :class:`DaemonHooks` mixin. When Pyro changes, this is the file to
re-check; ``tests/remoting/pyro/test_pyro_internals.py`` pins the versions it was
checked against (:data:`CHECKED_VERSIONS`) and fails, naming this file, when the
installed Pyro differs.

Private names used, and why:

* ``Daemon._handshake(conn, denied_reason)`` (Pyro4, Pyro5): the hook Pyro calls in
  each new connection's worker thread before anything is read. :class:`DaemonHooks`
  overrides it to run TLS there and track connections, and calls Pyro's own.
* ``Daemon._sendExceptionResponse(conn, seq, serializer_id, exc, traceback_lines)``
  (Pyro4, Pyro5): sends an exception back to the caller; :meth:`DaemonHooks.answer_exit`
  uses it for a ``SystemExit`` or ``KeyboardInterrupt`` a service raised, which Pyro
  itself lets end the worker thread.
* ``Daemon._Daemon__serializer_ids`` (Pyro4): the daemon's own copy of the accepted
  serializer ids, replaced per daemon instead of changing ``config.SERIALIZERS_ACCEPTED``.
* ``Pyro5.serializers.serializers`` / ``serializers_by_id``, ``Pyro4.util._serializers``:
  the global serializer tables. Read to list and
  name serializers; one entry per serializer is *added* (``springpython.<name>``),
  the client flavour that turns exceptions into :class:`PyroFault` (below); no
  existing entry is changed.
* ``SerializerBase.dict_to_class`` (overridden in that flavour): where Pyro turns a
  serialized exception back into a class. Only Pyro's own errors
  (``Pyro5.errors.*``/``Pyro4.errors.*``) go on to Pyro; every other exception
  becomes a :class:`PyroFault` carrying a :class:`~springpython.remoting.faults.FaultInfo`,
  so nothing named on the wire is instantiated here.
* ``Proxy._pyroSerializer``, ``_pyroTimeout``, ``_pyroMaxRetries`` (per-proxy settings),
  ``_pyroBind()``, ``_pyroInvoke(name, args, kwargs)`` (one call without the
  attribute look-up), ``_pyroConnection`` (its socket, for the stale-connection
  check; ``None`` once closed), ``_pyroRelease()``, ``_pyroClaimOwnership()`` (Pyro5
  proxies belong to one thread; closing from another must claim it first),
  ``_pyroUri`` (the object id in messages), ``_pyroGetMetadata(known_metadata=)``
  (metadata from our own TLS connect handshake).
* ``_pyroExposed`` (attribute set on the functions of the exported facade, so the
  service itself is never decorated) and ``_pyroTraceback`` (the server traceback
  Pyro attaches to an exception).
* ``_get_attribute`` (Pyro5) / ``getAttribute`` (Pyro4): the functions whose failing
  ``getattr`` means "no such method" on a plain Pyro daemon, recognized in the
  remote traceback (:meth:`Internals.lookup_failed`).
* Pyro5 protocol internals for the TLS connect handshake done on our own socket
  (``protocol.SendingMessage``, ``recv_stub``, ``MSG_CONNECT``/``MSG_CONNECTOK``/
  ``MSG_CONNECTFAIL``, ``socketutil.SocketConnection``/``create_socket``).
* ``Daemon.transportServer.pool`` and the ``Pool``/``Worker``/``PoolError`` classes
  of Pyro's thread-pool server (``Pyro5.svr_threads``,
  ``Pyro4.socketserver.threadpool``): a daemon's pool is bounded by its own number
  (:meth:`Internals.bound_workers`) instead of the process-wide
  ``config.THREADPOOL_SIZE``, and a connection beyond it is handed to a callback
  instead of Pyro's refusal, which would read the client's handshake in the accept
  loop.
* The layout of the message headers (Pyro5: 40 bytes, ``protocol._header_format``;
  Pyro4: 24 bytes, ``message.Message.header_format``) and their message types and
  compression flag, read by :meth:`Internals.parse_header` so that a daemon checks
  a message's size and serializer before it reads the body (:mod:`._daemons`)."""

from __future__ import annotations

import functools
import struct
import threading
import traceback
from typing import Any, Callable, NamedTuple

import Pyro5
import Pyro5.callcontext
import Pyro5.client
import Pyro5.core
import Pyro5.errors
import Pyro5.protocol
import Pyro5.serializers
import Pyro5.server
import Pyro5.socketutil
import Pyro5.svr_threads

from ...errors import MissingDependencyError
from .. import faults

__all__ = [
    "CHECKED_VERSIONS",
    "PRIVATE_NAMES",
    "PyroFault",
    "DaemonHooks",
    "Pyro5DaemonHooks",
    "WireHeader",
    "HeaderLayout",
    "Internals",
    "Pyro5Internals",
    "Pyro4Internals",
    "PYRO5",
    "pyro4",
    "INSTALL_HINT",
]

#: The Pyro versions this module was checked against (engine -> version).
CHECKED_VERSIONS = {"Pyro5": "5.17", "Pyro4": "4.82"}

#: The private names used here (the test keeps them out of every other module).
PRIVATE_NAMES = (
    "_handshake",
    "_sendExceptionResponse",
    "_Daemon__serializer_ids",
    "serializers_by_id",
    "_serializers",
    "_pyroSerializer",
    "_pyroTimeout",
    "_pyroMaxRetries",
    "_pyroBind",
    "_pyroInvoke",
    "_pyroConnection",
    "_pyroRelease",
    "_pyroClaimOwnership",
    "_pyroUri",
    "_pyroGetMetadata",
    "_pyroExposed",
    "_pyroTraceback",
    "_get_attribute",
    "getAttribute",
    "SendingMessage",
    "recv_stub",
    "MSG_CONNECT",
    "SocketConnection",
    "_header_format",
    "transportServer",
    "svr_threads",
    "threadpool",
)

INSTALL_HINT = 'pip install "springpython[pyro4]"'

_lock = threading.Lock()


class PyroFault(Exception):
    """What the client's serializer makes of an exception the service raised: the
    facts only (a :class:`~springpython.remoting.faults.FaultInfo`); the proxy
    factory turns it into the contract's exception."""

    def __init__(self, info: faults.FaultInfo) -> None:
        super().__init__(info.message)
        self.info = info


def _fault_serializer(base: type, pyro_errors_prefix: str) -> type:
    """The client flavour of a Pyro serializer class (see the module docstring)."""

    class FaultSerializer(base):  # type: ignore[misc]  # Pyro's class, untyped
        @classmethod
        def dict_to_class(cls, data: dict[str, Any]) -> Any:
            if data.get("__exception__"):
                name = data.get("__class__")
                if isinstance(name, bytes):
                    name = name.decode("utf-8", "replace")
                if not (isinstance(name, str) and name.startswith(pyro_errors_prefix)):
                    return PyroFault(faults.from_pyro(data))
            return super().dict_to_class(data)

    FaultSerializer.__name__ = FaultSerializer.__qualname__ = f"SpringPython{base.__name__}"
    return FaultSerializer


class WireHeader(NamedTuple):
    """What a daemon reads of a message before its body (see :meth:`Internals.parse_header`)."""

    #: Pyro's message type (``MSG_CONNECT``, ``MSG_INVOKE``, ``MSG_PING``, ...).
    msg_type: int
    serializer_id: int
    seq: int
    #: Bytes after the header: annotations and data.
    body_size: int
    #: Where the compressed data starts in the body, or ``None`` when not compressed.
    compressed_from: int | None
    #: A call, whose data the daemon deserializes (its serializer must be accepted).
    is_call: bool
    #: Where the (serialized, perhaps compressed) data starts in the body, after the annotations.
    data_from: int = 0


class DaemonHooks:
    """Mixin placed right in front of a Pyro ``Daemon`` class.

    Pyro's per-connection handshake hook calls :meth:`on_connect`, which a subclass
    implements and which calls :meth:`pyro_handshake` (Pyro's own handshake) when it
    wants it. :attr:`pyro_handle_request` is Pyro's own request handling, which a
    subclass calls around its per-message checks; a ``SystemExit``,
    ``KeyboardInterrupt`` or ``GeneratorExit`` raised by a service method, which Pyro
    does not catch (it would end the worker thread and drop the connection), goes
    back to the caller like any exception through :meth:`answer_exit`."""

    #: Pyro's per-thread call context (it holds the sequence number and serializer
    #: of the request being handled).
    call_context: Any = None
    #: Pyro's own ``Daemon.handleRequest(conn)`` (set per engine).
    pyro_handle_request: Any

    def answer_exit(self, conn: Any, exc: BaseException) -> None:
        """Send ``exc`` (a ``BaseException`` a service raised) back to the caller of
        the request being handled, with its traceback."""
        context = self.call_context
        lines = traceback.format_exception(exc)
        self._sendExceptionResponse(conn, context.seq, context.serializer_id, exc, lines)  # type: ignore[attr-defined]

    def _handshake(self, conn: Any, denied_reason: Any = None) -> bool:
        return self.on_connect(conn, denied_reason)

    def on_connect(self, conn: Any, denied_reason: Any) -> bool:
        return self.pyro_handshake(conn, denied_reason)

    def pyro_handshake(self, conn: Any, denied_reason: Any) -> bool:
        """Pyro's own connect handshake on ``conn``."""
        return bool(super()._handshake(conn, denied_reason))  # type: ignore[misc]


class HeaderLayout(NamedTuple):
    """Where the facts of a message header are, for a daemon's check of each
    message: the header's ``struct``, the bytes every header of this protocol version
    starts with, the positions of its fields in the unpacked tuple, the message type
    of a call and the flag of a compressed body."""

    header: struct.Struct
    prefix: bytes
    msg_type: int
    serializer_id: int
    flags: int
    data_size: int
    annotations_size: int
    invoke: int
    compressed: int


def _bounded_pool(module: Any) -> type:
    """A subclass of ``module.Pool`` (Pyro's worker pool) bounded by its own
    ``sp_max_workers`` rather than the global ``config.THREADPOOL_SIZE``; at the
    bound, a new connection goes to ``sp_on_full(socket, address)`` (which must not
    block: it runs in the daemon's accept loop)."""

    class BoundedPool(module.Pool):  # type: ignore[misc]  # Pyro's class, untyped
        sp_max_workers: int
        sp_on_full: Callable[[Any, Any], None]

        def process(self, job: Any) -> None:
            if self.closed:
                raise module.PoolError("job queue is closed")
            if self.idle:
                worker = self.idle.pop()
            elif self.num_workers() < self.sp_max_workers:
                worker = module.Worker(self)
                worker.start()
            else:
                self.sp_on_full(job.csock.sock, job.caddr)
                return
            self.busy.add(worker)
            worker.process(job)

    BoundedPool.__name__ = BoundedPool.__qualname__ = "SpringPythonBoundedPool"
    return BoundedPool


class Internals:
    """The private parts of one Pyro engine (the proxy's are the same in 4 and 5)."""

    #: Pyro's worker pool, bounded per daemon (see :meth:`bound_workers`).
    _pool_class: type

    name: str
    errors: Any
    Proxy: Any
    version: str
    locate_ns: Callable[..., Any]
    #: Pyro's (public) per-thread call context: ``annotations`` sent with a call, and
    #: those of the call being served.
    call_context: Any
    _errors_prefix: str

    # -- serializers ----------------------------------------------------------------
    def _table(self) -> dict[str, Any]:
        raise NotImplementedError

    def available_serializers(self) -> list[str]:
        """The serializers this engine has (ours, ``springpython.*``, left out)."""
        return [n for n in self._table() if "." not in n]

    def serializer_id(self, name: str) -> int:
        return int(self._table()[name].serializer_id)

    def serializer(self, name: str) -> Any:
        return self._table()[name]

    def client_serializer(self, name: str) -> str:
        """The name to give a proxy for serializer ``name``: its client flavour."""
        key = f"springpython.{name}"
        table = self._table()
        if key not in table:
            with _lock:
                if key not in table:
                    table[key] = _fault_serializer(type(table[name]), self._errors_prefix)()
        return key

    # -- proxies --------------------------------------------------------------------
    def proxy(self, uri: Any, serializer: str | None, timeout: float | None) -> Any:
        """A Pyro proxy with per-proxy settings (``None``: Pyro's default serializer)
        and no automatic retries; not connected yet."""
        proxy = self.Proxy(uri)
        proxy._pyroSerializer = serializer
        proxy._pyroTimeout = timeout
        proxy._pyroMaxRetries = 0
        return proxy

    @staticmethod
    def bind(proxy: Any) -> None:
        proxy._pyroBind()

    @staticmethod
    def invoker(proxy: Any) -> Callable[[str, tuple[Any, ...], dict[str, Any]], Any]:
        """The proxy's call function: ``(name, args, kwargs) -> result``."""
        return proxy._pyroInvoke  # type: ignore[no-any-return]

    @staticmethod
    def connected(proxy: Any) -> bool:
        return proxy._pyroConnection is not None

    @staticmethod
    def socket_of(proxy: Any) -> Any:
        return proxy._pyroConnection.sock

    @staticmethod
    def object_id(proxy: Any) -> str:
        return str(proxy._pyroUri.object)

    @staticmethod
    def release(proxy: Any) -> None:
        """Close the proxy's connection from any thread."""
        claim = getattr(proxy, "_pyroClaimOwnership", None)
        if claim is not None:  # Pyro5 proxies belong to one thread
            claim()
        proxy._pyroRelease()

    # -- exceptions -----------------------------------------------------------------
    @staticmethod
    def remote_traceback(exc: BaseException) -> str | None:
        """The server traceback Pyro attached to ``exc``, if any."""
        tb = getattr(exc, "_pyroTraceback", None)
        if isinstance(tb, (list, tuple)):
            return "".join(str(line) for line in tb)
        return tb if isinstance(tb, str) else None

    def is_pyro_error(self, exc: BaseException) -> bool:
        return isinstance(exc, self.errors.PyroError)

    def lookup_failed(self, remote_traceback: str | None) -> bool:
        """Whether the innermost frame of a remote traceback is Pyro's method look-up
        (a plain daemon whose object has no such attribute)."""
        if not remote_traceback:
            return False
        frames = [line for line in remote_traceback.splitlines() if line.lstrip().startswith('File "')]
        return bool(frames) and frames[-1].rstrip().endswith(self._lookup_frame)

    _lookup_frame: str

    # -- server side ----------------------------------------------------------------
    @staticmethod
    def mark_exposed(func: Any) -> Any:
        """Mark a function of the exported facade as callable by Pyro."""
        func._pyroExposed = True
        return func

    def bound_workers(self, daemon: Any, limit: int, on_full: Callable[[Any, Any], None]) -> bool:
        """Bound the worker threads of ``daemon`` (one per open connection) by
        ``limit``, for this daemon only; a connection beyond it is handed to
        ``on_full(socket, address)`` in the accept loop. ``False`` when the daemon
        has no worker pool (Pyro's multiplexed server type)."""
        pool: Any = getattr(daemon.transportServer, "pool", None)
        pyro_pool: Any = self._pool_class.__mro__[1]
        if type(pool) is not pyro_pool:
            return False
        pool.__class__ = self._pool_class
        pool.sp_max_workers = limit
        pool.sp_on_full = on_full
        return True

    #: Bytes in a message header.
    header_size: int
    #: Where the facts of a message header are.
    layout: HeaderLayout

    def parse_header(self, data: bytes | bytearray) -> WireHeader | None:
        """The facts of the message header at the start of ``data``; ``None`` when it
        is not a header of this engine's protocol version."""
        raise NotImplementedError

    def _serializers_by_id(self) -> dict[int, Any]:
        raise NotImplementedError

    def serializer_name(self, serializer_id: int) -> str:
        """The name of the serializer with this id (``id N`` when the engine has none)."""
        for name, ser in self._table().items():
            if "." not in name and ser.serializer_id == serializer_id:
                return name
        return f"id {serializer_id}"

    def too_large(self, message: str) -> BaseException:
        """The error a daemon answers a too large message with."""
        raise NotImplementedError

    def refused(self, message: str) -> BaseException:
        """The error a daemon answers a message with when its policy refuses it."""
        raise NotImplementedError

    def send_refusal(self, daemon: Any, conn: Any, header: WireHeader, exc: BaseException) -> None:
        """Answer the message of ``header`` with ``exc`` (in the client's serializer
        when this engine has it; serializing an exception runs nothing of the peer's)."""
        by_id = self._serializers_by_id()
        serializer_id = header.serializer_id if header.serializer_id in by_id else self.serializer_id("serpent")
        daemon._sendExceptionResponse(conn, header.seq, serializer_id, exc, [f"{exc}\n"])


class Pyro5DaemonHooks(DaemonHooks):
    """:class:`DaemonHooks` for a Pyro5 daemon."""

    call_context = Pyro5.callcontext.current_context
    pyro_handle_request = Pyro5.server.Daemon.handleRequest


_PYRO5_HEADER = struct.Struct(Pyro5.protocol._header_format)
_PYRO5_MAGIC = 0x4DC5


class Pyro5Internals(Internals):
    """Pyro5's private parts."""

    name = "Pyro5"
    header_size = _PYRO5_HEADER.size
    layout = HeaderLayout(
        _PYRO5_HEADER, b"PYRO" + Pyro5.protocol.PROTOCOL_VERSION.to_bytes(2, "big"),
        2, 3, 4, 6, 7, Pyro5.protocol.MSG_INVOKE, Pyro5.protocol.FLAGS_COMPRESSED,
    )
    errors = Pyro5.errors
    Proxy = Pyro5.client.Proxy
    version = Pyro5.__version__
    _errors_prefix = "Pyro5.errors."
    _lookup_frame = "in _get_attribute"
    locate_ns = staticmethod(Pyro5.core.locate_ns)
    call_context = Pyro5.callcontext.current_context
    _pool_class = _bounded_pool(Pyro5.svr_threads)

    def _table(self) -> dict[str, Any]:
        table: dict[str, Any] = Pyro5.serializers.serializers
        return table

    def _serializers_by_id(self) -> dict[int, Any]:
        by_id: dict[int, Any] = Pyro5.serializers.serializers_by_id
        return by_id

    def parse_header(self, data: bytes | bytearray) -> WireHeader | None:
        tag, version, msg_type, serializer_id, flags, seq, data_size, annotations_size, _, _, magic = (
            _PYRO5_HEADER.unpack_from(data)
        )
        protocol = Pyro5.protocol
        if tag != b"PYRO" or version != protocol.PROTOCOL_VERSION or magic != _PYRO5_MAGIC:
            return None
        compressed = annotations_size if flags & protocol.FLAGS_COMPRESSED else None
        return WireHeader(msg_type, serializer_id, seq, annotations_size + data_size, compressed,
                          msg_type == protocol.MSG_INVOKE, annotations_size)

    def too_large(self, message: str) -> BaseException:
        error: BaseException = Pyro5.errors.ProtocolError(message)
        return error

    def refused(self, message: str) -> BaseException:
        error: BaseException = Pyro5.errors.SecurityError(message)
        return error


    def resolve(self, uri: str) -> Any:
        return Pyro5.core.resolve(uri)

    def tls_proxy(
        self, uri: str, serializer_name: str, timeout: float | None, context: Any,
        verify_peer: Callable[[Any], None] | None = None,
    ) -> Any:
        """A connected Pyro5 proxy on a TLS socket made with ``context``: the socket is
        opened here, ``verify_peer`` (if any) checks the server's certificate, and Pyro's
        connect handshake (MSG_CONNECT, answered by MSG_CONNECTOK with the object's
        metadata) is done on it before the proxy takes it over."""
        resolved = self.resolve(uri)
        serializer = self._table()[serializer_name]
        sock = Pyro5.socketutil.create_socket(
            connect=(resolved.host, resolved.port), timeout=timeout, nodelay=True, sslContext=context
        )
        conn = Pyro5.socketutil.SocketConnection(sock, resolved.object)
        protocol = Pyro5.protocol
        try:
            if verify_peer is not None:
                verify_peer(sock.getpeercert())  # refused before anything is sent
            data = serializer.dumps({"handshake": "hello", "object": resolved.object})
            msg = protocol.SendingMessage(protocol.MSG_CONNECT, 0, 0, serializer.serializer_id, data)
            conn.send(msg.data)
            reply = protocol.recv_stub(conn, [protocol.MSG_CONNECTOK, protocol.MSG_CONNECTFAIL])
            by_id = Pyro5.serializers.serializers_by_id
            answer = by_id[reply.serializer_id].loads(reply.data) if reply.data else None
            if reply.type == protocol.MSG_CONNECTFAIL or not isinstance(answer, dict):
                raise Pyro5.errors.CommunicationError(
                    f"connection to {resolved.host}:{resolved.port} rejected: {answer}"
                )
            proxy = self.proxy(resolved, serializer_name, timeout)
            proxy._pyroGetMetadata(known_metadata=answer["meta"])
            proxy._pyroConnection = conn
            return proxy
        except BaseException:
            conn.close()
            raise


class Pyro4Internals(Internals):
    """Pyro4's private parts (Pyro4 is imported when this is made)."""

    _errors_prefix = "Pyro4.errors."
    _lookup_frame = "in getAttribute"

    def __init__(self) -> None:
        try:
            import Pyro4
            import Pyro4.constants
            import Pyro4.core
            import Pyro4.errors
            import Pyro4.message
            import Pyro4.naming
            import Pyro4.socketserver.threadpool
            import Pyro4.util
        except ImportError as exc:
            raise MissingDependencyError(
                f"the Pyro4 beans need Pyro4, which is not installed: {INSTALL_HINT}"
            ) from exc
        self.name = "Pyro4"
        self.version = Pyro4.__version__
        self.errors = Pyro4.errors
        self.Proxy = Pyro4.core.Proxy
        self.core = Pyro4.core
        self.locate_ns = Pyro4.naming.locateNS
        self.call_context = Pyro4.core.current_context
        self.DaemonHooks: type[DaemonHooks] = type(
            "Pyro4DaemonHooks", (DaemonHooks,), {
                "call_context": Pyro4.core.current_context,
                "pyro_handle_request": Pyro4.core.Daemon.handleRequest,
            }
        )
        self._util = Pyro4.util
        self._pool_class = _bounded_pool(Pyro4.socketserver.threadpool)
        self._message = Pyro4.message
        self._header = struct.Struct(Pyro4.message.Message.header_format)
        self.header_size = self._header.size
        self._protocol_version = Pyro4.constants.PROTOCOL_VERSION
        self.layout = HeaderLayout(
            self._header, b"PYRO" + self._protocol_version.to_bytes(2, "big"),
            2, 6, 3, 5, 7, Pyro4.message.MSG_INVOKE, Pyro4.message.FLAGS_COMPRESSED,
        )

    def _table(self) -> dict[str, Any]:
        table: dict[str, Any] = self._util._serializers
        return table

    def _serializers_by_id(self) -> dict[int, Any]:
        by_id: dict[int, Any] = self._util._serializers_by_id
        return by_id

    def parse_header(self, data: bytes | bytearray) -> WireHeader | None:
        tag, version, msg_type, flags, seq, data_size, serializer_id, annotations_size, _, _ = (
            self._header.unpack_from(data)
        )
        if tag != b"PYRO" or version != self._protocol_version or data_size < 0:
            return None
        message = self._message
        compressed = annotations_size if flags & message.FLAGS_COMPRESSED else None
        return WireHeader(msg_type, serializer_id, seq, annotations_size + data_size, compressed,
                          msg_type == message.MSG_INVOKE, annotations_size)

    def too_large(self, message: str) -> BaseException:
        return self.errors.MessageTooLargeError(message)  # type: ignore[no-any-return]

    def refused(self, message: str) -> BaseException:
        return self.errors.SecurityError(message)  # type: ignore[no-any-return]

    @staticmethod
    def accept_only(daemon: Any, serializer_ids: frozenset[int]) -> None:
        """Replace a Pyro4 daemon's own set of accepted serializer ids."""
        daemon._Daemon__serializer_ids = set(serializer_ids)


#: Pyro5's private parts (Pyro5 is a required dependency).
PYRO5 = Pyro5Internals()


@functools.lru_cache(maxsize=1)
def pyro4() -> Pyro4Internals:
    """Pyro4's private parts; :class:`~springpython.errors.MissingDependencyError`
    naming the extra to install when Pyro4 is missing."""
    return Pyro4Internals()
