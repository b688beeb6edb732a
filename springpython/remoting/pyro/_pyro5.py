"""Pyro5 exporter and proxy factory.

How settings stay per daemon and per proxy: Pyro5 keeps one process-wide
``Pyro5.config``; this module never writes to it. Instead

- **serializer (client)**: each Pyro proxy gets ``_pyroSerializer``, Pyro5's own
  per-proxy override. The name set there is one of ours (``springpython.serpent``
  and so on): the engine's serializer with one addition, rebuilding exception
  types the client has already imported, so an application exception arrives with
  its own type. Registering that name adds an entry to Pyro5's table of
  serializers; no existing entry is changed.
- **serializer (server)**: Pyro5 daemons accept every serializer the engine has.
  The exporter's ``serializer`` list is checked at each connection's handshake
  (the daemon reads the serializer id from the handshake's header) and a client
  using another one is refused with a message that lists the accepted names.
  Pyro5 has no pickle at all, so no configuration can turn it on here.
- **TLS**: Pyro5 only knows the global ``config.SSL``. The daemon here is a
  subclass that turns each accepted connection into TLS inside its worker thread
  (see :mod:`._daemons`), with a context from :mod:`springpython.remoting.tls`;
  the proxy opens its TLS socket itself and performs Pyro's connect handshake on
  it (one message each way, as documented in ``Pyro5.protocol``), then hands the
  connection to a normal Pyro proxy.
- **exposure**: the service is never registered with Pyro, so it is never
  modified and needs no ``@expose``. A per-export adapter is registered instead:
  it holds the service's public methods (found once by
  :func:`springpython.remoting.exposure.describe`) marked as exposed, and a
  property per public property; Pyro's own checks refuse every other name,
  underscores and dunders included.
"""

from __future__ import annotations

import functools
import logging
import re
import select
import socket
import ssl
import sys
import threading
from typing import Any

import Pyro5.client as _client
import Pyro5.core as _core
import Pyro5.errors as _errors
import Pyro5.protocol as _protocol
import Pyro5.serializers as _serializers
import Pyro5.server as _server
import Pyro5.socketutil as _socketutil

from ...errors import (
    CallTimeoutError,
    ConfigurationError,
    ConnectFailedError,
    ConnectionLostError,
    ExportError,
)
from .. import tls as _tls
from .._values import as_bool, as_float, as_port
from ..exporter import ServiceExporter
from ..exposure import ServiceInterface, describe
from ..proxy import RemoteProxy
from ..registry import SharedServers
from . import _daemons, _settings
from ._urls import DEFAULT_PORT, PyroURL, direct_uri, parse_service_url

__all__ = ["Pyro5ServiceExporter", "Pyro5ProxyFactory", "SERVERS"]

log = logging.getLogger(__name__)

ENGINE = "Pyro5"
DEFAULT_SERIALIZER = "serpent"
_NAME = re.compile(r"^[^\s@]+$")

#: The running Pyro5 daemons, shared per host:port.
SERVERS: SharedServers[_daemons.ServerThread] = SharedServers("pyro5", lambda s: s.port)


def _available_serializers() -> list[str]:
    return [name for name in _serializers.serializers if "." not in name]


class Engine:
    """The parts of a Pyro engine the beans use, so Pyro4 can reuse this code."""

    def __init__(self, name: str, errors: Any, locate_ns: Any, resolve: Any, available: Any) -> None:
        self.name = name
        self.errors = errors
        self.locate_ns = locate_ns
        self.resolve = resolve
        self.available = available


PYRO5 = Engine(ENGINE, _errors, _core.locate_ns, _core.resolve, _available_serializers)


# -- server side ------------------------------------------------------------------


@_server.expose
class DaemonInterface(_server.DaemonObject):
    """The daemon's own remote object; answers metadata of adapters from the adapter."""

    def get_metadata(self, objectId: str) -> dict:  # Pyro's name
        obj = self.daemon.objectsById.get(objectId)
        if isinstance(obj, _Adapter):
            sniffed = getattr(self.daemon.sp_handshake, "serializer_id", None)
            if sniffed is not None and sniffed not in self.daemon.sp_accepted_ids:
                raise _errors.SecurityError(
                    f"serializer {_serializer_name(sniffed)!r} is not accepted by this service; "
                    f"use one of {', '.join(self.daemon.sp_accepted)}"
                )
            return obj._sp_metadata
        return super().get_metadata(objectId)


def _serializer_name(serializer_id: int) -> str:
    ser = _serializers.serializers_by_id.get(serializer_id)
    return ser.__class__.__name__.removesuffix("Serializer").lower() if ser else f"id {serializer_id}"


class _HeaderReader:
    """Stands in for the connection during Pyro's handshake only: remembers the
    serializer id in the first message's header (byte 7 of the 40-byte Pyro5
    header) where the daemon's metadata answer can check it."""

    __slots__ = ("conn", "header", "state")

    def __init__(self, conn: Any, state: threading.local) -> None:
        self.conn = conn
        self.header = b""
        self.state = state

    def recv(self, size: int) -> bytes:
        data = self.conn.recv(size)
        if len(self.header) < 8:
            self.header += data
            if len(self.header) >= 8:
                self.state.serializer_id = self.header[7]
        return data

    def send(self, data: bytes) -> None:
        self.conn.send(data)

    def getpeercert(self) -> Any:
        return self.conn.getpeercert()


def _quiet_error_handler(*_args: Any) -> None:
    """Application exceptions go back to the caller; the daemon logs nothing per call."""


class _Daemon(_daemons.ConnectionTracking, _server.Daemon):
    """A Pyro5 daemon with per-daemon TLS and accepted serializers."""

    def __init__(self, host: str, port: int, settings: _settings.DaemonSettings, tls: ssl.SSLContext | None) -> None:
        super().__init__(host=host, port=port, interface=DaemonInterface)
        self.sp_init(tls)
        self.sp_accepted = settings.serializers
        self.sp_accepted_ids = frozenset(_serializers.serializers[n].serializer_id for n in settings.serializers)
        self.sp_handshake = threading.local()
        self.methodcall_error_handler = _quiet_error_handler

    def sp_protocol_handshake(self, conn: Any, denied_reason: Any) -> bool:
        self.sp_handshake.serializer_id = None
        try:
            return _server.Daemon._handshake(self, _HeaderReader(conn, self.sp_handshake), denied_reason)
        finally:
            self.sp_handshake.serializer_id = None


class _Adapter:
    """What the daemon sees of one exported service (the service itself is untouched)."""

    def __init__(self, service: Any, interface: ServiceInterface) -> None:
        self._sp_service = service
        cls_name = type(service).__qualname__
        for method_name, method in interface.methods.items():
            self.__dict__[method_name] = _exposed(method, f"{cls_name}.{method_name}")
        self._sp_metadata = {
            "methods": set(interface.methods),
            "oneway": set(),
            "attrs": set(interface.properties),
        }


def _exposed(method: Any, qualname: str) -> Any:
    call = functools.partial(method)
    call._pyroExposed = True  # type: ignore[attr-defined]
    call.__qualname__ = qualname  # type: ignore[attr-defined]
    return call


@functools.lru_cache(maxsize=None)
def _adapter_class(readable: frozenset[str], writable: frozenset[str]) -> type:
    """An adapter class with a forwarding property per public property of the service."""
    namespace: dict[str, Any] = {}
    for name in readable:

        def fget(self: _Adapter, _name: str = name) -> Any:
            return getattr(self._sp_service, _name)

        fget._pyroExposed = True  # type: ignore[attr-defined]
        fset = None
        if name in writable:

            def fset(self: _Adapter, value: Any, _name: str = name) -> None:
                setattr(self._sp_service, _name, value)

            fset._pyroExposed = True  # type: ignore[attr-defined]
        namespace[name] = property(fget, fset)
    return type("_PropertyAdapter", (_Adapter,), namespace)


def _make_adapter(service: Any) -> _Adapter:
    interface = describe(service)
    props = interface.properties
    if not props:
        return _Adapter(service, interface)
    writable = frozenset(
        p for p in props if getattr(getattr(type(service), p, None), "fset", None) is not None
    )
    return _adapter_class(frozenset(props), writable)(service, interface)


class Pyro5ServiceExporter(ServiceExporter):
    """Puts ``service`` on a Pyro5 daemon as ``service_name`` at ``service_host:service_port``.

    Properties beyond the chapter's four:

    - ``serializer``: the serializers clients may use, a list or comma-separated
      names (default ``serpent``; Pyro5 also has ``json``, ``marshal``, ``msgpack``
      when installed).
    - ``register_with_nameserver``: also register the URI in a running Pyro5 name
      server (found at ``nameserver_host``/``nameserver_port``, or by Pyro's own
      discovery when unset), with ``metadata`` tags for ``PYROMETA:`` look-ups;
      the entry is removed again by ``destroy()``.
    - ``certfile``/``keyfile``: serve over TLS (1.2 or newer) with this certificate;
      ``ca_certs``: the CAs client certificates must come from; ``cert_reqs``:
      ``CERT_REQUIRED`` (the default when ``ca_certs`` is given: mutual
      authentication), ``CERT_OPTIONAL`` or ``CERT_NONE``.

    Exporters on the same host:port share one daemon; their TLS and serializer
    settings must then be equal."""

    DEFAULT_PORT = DEFAULT_PORT
    ENGINE = ENGINE

    serializer: Any = DEFAULT_SERIALIZER
    register_with_nameserver: Any = False
    nameserver_host: str | None = None
    nameserver_port: Any = None
    metadata: Any = None
    certfile: Any = None
    keyfile: Any = None
    ca_certs: Any = None
    cert_reqs: Any = None

    _server: _daemons.ServerThread | None = None
    _uri: str | None = None
    _ns_registered: bool = False

    # -- engine hooks (overridden by the Pyro4 exporter) --------------------------
    def _pyro(self) -> Engine:
        return PYRO5

    def _servers(self) -> SharedServers[_daemons.ServerThread]:
        return SERVERS

    def _settings(self) -> _settings.DaemonSettings:
        tls = _settings.server_tls(
            type(self).__name__, self.certfile, self.keyfile, self.ca_certs, self.cert_reqs
        )
        return _settings.DaemonSettings(
            _settings.parse_serializers("serializer", self.serializer, self._pyro().available(), self.ENGINE), tls
        )

    def _start_daemon(self, host: str, port: int, settings: _settings.DaemonSettings) -> _daemons.ServerThread:
        context = _settings.server_context(settings.tls) if settings.tls else None
        try:
            _daemons.check_port_free(host, port)
            daemon = _Daemon(host, port, settings, context)
        except (OSError, _errors.PyroError, ValueError) as exc:
            raise ExportError(f"{type(self).__name__}: cannot listen on {host}:{port}: {exc}") from exc
        try:
            return _daemons.ServerThread(daemon, "pyro5", settings)
        except BaseException:
            daemon.close()
            raise

    def _register(self, server: _daemons.ServerThread, name: str) -> str:
        try:
            return str(server.daemon.register(_make_adapter(self.service), name))
        except self._pyro().errors.DaemonError as exc:
            raise ExportError(
                f"{type(self).__name__}: service name {name!r} is already exported at {server.location}"
            ) from exc

    def _unregister(self, server: _daemons.ServerThread, name: str) -> None:
        server.daemon.unregister(name)

    # -- ServiceExporter ------------------------------------------------------------
    def _export(self) -> None:
        name = self.service_name
        if not isinstance(name, str) or not _NAME.match(name):
            raise ExportError(
                f"{type(self).__name__}: service_name must be a name without spaces or '@', got {name!r}"
            )
        settings = self._settings()
        try:
            register_ns = as_bool("register_with_nameserver", self.register_with_nameserver)
            if register_ns:
                self._ns_location()
        except ValueError as exc:
            raise ConfigurationError(f"{type(self).__name__}: {exc}") from None
        tags = _settings.parse_tags("metadata", self.metadata)
        host, port = self.service_host, int(self.service_port)
        servers = self._servers()
        server = _daemons.acquire_server(
            servers, host, port, settings, lambda h, p: self._start_daemon(h, p, settings)
        )
        try:
            uri = self._register(server, name)
            try:
                if register_ns:
                    self._ns_register(name, uri, tags)
            except BaseException:
                self._unregister(server, name)
                raise
        except BaseException:
            _daemons.release_server(servers, server)
            raise
        self._server, self._uri, self._ns_registered = server, uri, register_ns

    def _unexport(self) -> None:
        server, name = self._server, self.service_name
        self._server = None
        if server is None:
            return
        try:
            if self._ns_registered:
                self._ns_unregister(str(name), str(self._uri))
        finally:
            self._ns_registered = False
            try:
                self._unregister(server, str(name))
            finally:
                _daemons.release_server(self._servers(), server)

    @property
    def service_url(self) -> str:
        """``PYRO:Name@host:port``; the real port once exported."""
        if self._server is not None and self._uri:
            return self._uri
        return direct_uri(str(self.service_name), f"{self.service_host}:{self.service_port}")

    @property
    def connections(self) -> int:
        """How many client connections the (shared) daemon has open now."""
        return self._server.connections if self._server is not None else 0

    # -- name server ------------------------------------------------------------------
    def _ns_location(self) -> tuple[str | None, int | None]:
        port = None if self.nameserver_port in (None, "") else as_port("nameserver_port", self.nameserver_port)
        return (self.nameserver_host or None), port

    def _locate_ns(self) -> Any:
        host, port = self._ns_location()
        engine = self._pyro()
        try:
            return engine.locate_ns(host, port)
        except engine.errors.PyroError as exc:
            where = f"{host}:{port or 9090}" if host else "by discovery"
            raise ExportError(f"{type(self).__name__}: no {engine.name} name server found {where}: {exc}") from exc

    def _ns_register(self, name: str, uri: str, tags: frozenset[str]) -> None:
        with self._locate_ns() as ns:
            try:
                ns.register(name, uri, metadata=set(tags))
            except self._pyro().errors.PyroError as exc:
                raise ExportError(f"{type(self).__name__}: name server refused {name!r}: {exc}") from exc
        log.debug("registered %s as %s in the name server", uri, name)

    def _ns_unregister(self, name: str, uri: str) -> None:
        try:
            with self._locate_ns() as ns:
                if str(ns.lookup(name)) == uri:
                    ns.remove(name)
        except (ExportError, self._pyro().errors.PyroError):
            log.warning("could not remove %s from the name server", name, exc_info=True)


# -- client side ------------------------------------------------------------------

_client_serializers_lock = threading.Lock()


class _ExceptionTypes:
    """Serializer mix-in: rebuild an exception whose class the client has imported."""

    @classmethod
    def dict_to_class(cls, data: dict) -> Any:
        if data.get("__exception__"):
            exc_type = local_exception_type(data.get("__class__"))
            if exc_type is not None:
                return _serializers.SerializerBase.make_exception(exc_type, data)
        return super().dict_to_class(data)  # type: ignore[misc]


def local_exception_type(classname: Any) -> type | None:
    """The exception class ``module.Name`` if that module is already imported (never imports)."""
    if isinstance(classname, bytes):
        classname = classname.decode("utf-8", "replace")
    if not isinstance(classname, str) or "__" in classname:
        return None
    module_name, _, name = classname.rpartition(".")
    module = sys.modules.get(module_name)
    found = getattr(module, name, None) if module is not None else None
    if isinstance(found, type) and issubclass(found, BaseException):
        return found
    return None


def _client_serializer(name: str) -> str:
    """The per-proxy serializer name to set as ``_pyroSerializer`` for ``name``."""
    key = f"springpython.{name}"
    if key not in _serializers.serializers:
        with _client_serializers_lock:
            if key not in _serializers.serializers:
                base = type(_serializers.serializers[name])
                cls = type(f"SpringPython{base.__name__}", (_ExceptionTypes, base), {})
                _serializers.serializers[key] = cls()
    return key


_TCP_INFO = getattr(socket, "TCP_INFO", None)
_TCP_ESTABLISHED = 1


def _closed_by_peer(sock: socket.socket) -> Any:
    """A check, run before each call, for a connection the server closed or reset while
    it was idle. On Linux it reads the TCP state (a system call that keeps the GIL, so
    threads calling in parallel are not slowed down); elsewhere it polls the socket."""
    if _TCP_INFO is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        tcp_info = functools.partial(sock.getsockopt, socket.IPPROTO_TCP, _TCP_INFO, 1)
        return lambda: tcp_info()[0] != _TCP_ESTABLISHED
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLPRI)
    return lambda: bool(poller.poll(0))


class _Connection:
    """One thread's Pyro proxy, plus a check that spots a connection the server
    closed while it was idle (so a call is known not to have been sent on it)."""

    __slots__ = ("proxy", "invoke", "closed_by_peer")

    def __init__(self, proxy: Any) -> None:
        self.proxy = proxy
        self.invoke = proxy._pyroInvoke
        self.closed_by_peer = _closed_by_peer(proxy._pyroConnection.sock)

    def usable(self) -> bool:
        """Connected, and not closed or reset by the server."""
        return self.proxy._pyroConnection is not None and not self.closed_by_peer()

    def close(self) -> None:
        claim = getattr(self.proxy, "_pyroClaimOwnership", None)
        if claim is not None:  # Pyro5 proxies belong to one thread
            claim()
        self.proxy._pyroRelease()


class Pyro5ProxyFactory(RemoteProxy):
    """Looks like the Pyro5 service at ``service_url`` (any form :mod:`._urls` accepts).

    Properties: ``timeout`` (seconds per call, none by default), ``reconnect``
    (default true), ``serializer`` (one name, default ``serpent``; the exporter must
    accept it), ``nameserver_host``/``nameserver_port`` (where ``PYRONAME:`` and
    ``PYROMETA:`` URLs without a location are looked up), and for TLS
    ``ca_certs`` (the CA that signed the server's certificate), ``certfile``/``keyfile``
    (this client's certificate, for mutual authentication) and ``check_hostname``
    (default true). TLS is on when ``ca_certs`` or ``certfile`` is set."""

    ENGINE = ENGINE
    _communication_errors: type = _errors.CommunicationError
    _daemon_errors: type = _errors.DaemonError

    timeout: Any = None
    serializer: Any = DEFAULT_SERIALIZER
    nameserver_host: str | None = None
    nameserver_port: Any = None
    certfile: Any = None
    keyfile: Any = None
    ca_certs: Any = None
    check_hostname: Any = True

    # -- settings -------------------------------------------------------------------
    def _pyro(self) -> Engine:
        return PYRO5

    def _target(self) -> PyroURL:
        return parse_service_url(self.service_url)

    def _uri_text(self, target: PyroURL) -> str:
        port = None if self.nameserver_port in (None, "") else _config_port("nameserver_port", self.nameserver_port)
        return target.uri(self.nameserver_host or None, port)

    def _serializer_name(self) -> str:
        engine = self._pyro()
        names = _settings.parse_serializers("serializer", self.serializer, engine.available(), engine.name)
        if len(names) != 1:
            raise ConfigurationError(f"serializer of a proxy names exactly one serializer, got {self.serializer!r}")
        return names[0]

    def _timeout(self) -> float | None:
        try:
            return as_float("timeout", self.timeout)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

    def _tls_context(self) -> ssl.SSLContext | None:
        cert = _settings.require_text("certfile", self.certfile)
        key = _settings.require_text("keyfile", self.keyfile)
        ca = _settings.require_text("ca_certs", self.ca_certs)
        if cert is None and ca is None:
            if key:
                raise ConfigurationError("keyfile needs certfile (the client certificate)")
            return None
        key_ = (cert, key, ca, as_bool("check_hostname", self.check_hostname))
        cached = self.__dict__.get("_sp_tls")
        if cached is not None and cached[0] == key_:
            return cached[1]
        context = _tls.client_context(ca_certs=ca, certfile=cert, keyfile=key, check_hostname=key_[3])
        self.__dict__["_sp_tls"] = (key_, context)
        return context

    # -- RemoteProxy hooks ------------------------------------------------------------
    def _open(self) -> _Connection:
        target = self._target()
        uri = self._uri_text(target)
        serializer = _client_serializer(self._serializer_name())
        timeout = self._timeout()
        context = self._tls_context()
        try:
            if context is None:
                proxy = _client.Proxy(uri)
                proxy._pyroSerializer = serializer
                proxy._pyroTimeout = timeout
                proxy._pyroMaxRetries = 0
                proxy._pyroBind()
            else:
                proxy = _tls_proxy(_core.resolve(uri), serializer, timeout, context)
        except _errors.NamingError as exc:
            raise ConnectFailedError(f"cannot resolve {self.service_url}: {exc}") from exc
        except (_errors.PyroError, OSError) as exc:
            raise ConnectFailedError(f"cannot connect to {self.service_url} ({uri}): {exc}") from exc
        return _Connection(proxy)

    def _invoke(self, conn: _Connection, name: str, args: tuple, kwargs: dict) -> Any:
        if conn.proxy._pyroConnection is None or conn.closed_by_peer():  # conn.usable(), inlined
            raise ConnectFailedError(f"the connection to {self.service_url} was closed; {name}() was not sent")
        try:
            return conn.invoke(name, args, kwargs)
        except self._daemon_errors as exc:
            if "unknown object" not in str(exc):
                raise
            # the daemon runs, but nothing is exported under that name (any more):
            # nothing ran, so this is as safe to retry elsewhere as a refused connection
            raise ConnectFailedError(
                f"{self.service_url}: no service {conn.proxy._pyroUri.object!r} is exported there; "
                f"{name}() did not run"
            ) from exc
        except self._communication_errors as exc:
            errors = self._pyro().errors
            if hasattr(exc, "_pyroTraceback") or isinstance(exc, errors.SerializeError):
                raise  # raised by the service, or an argument Pyro cannot serialize
            if isinstance(exc, errors.TimeoutError):
                raise CallTimeoutError(
                    f"{name}() on {self.service_url} got no answer within {self.timeout} s; it may have run"
                ) from exc
            raise ConnectionLostError(
                f"the connection to {self.service_url} failed during {name}(); it may have run: {exc}"
            ) from exc

    def _close(self, conn: _Connection) -> None:
        conn.close()


def _config_port(prop: str, value: Any) -> int:
    try:
        return as_port(prop, value)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _tls_proxy(uri: Any, serializer_name: str, timeout: float | None, context: ssl.SSLContext) -> Any:
    """A Pyro5 proxy on a TLS connection made with ``context``: the socket is opened
    here and Pyro's connect handshake (MSG_CONNECT, answered by MSG_CONNECTOK with
    the object's metadata) is done on it before the proxy takes it over."""
    serializer = _serializers.serializers[serializer_name]
    sock = _socketutil.create_socket(
        connect=(uri.host, uri.port), timeout=timeout, nodelay=True, sslContext=context
    )
    conn = _socketutil.SocketConnection(sock, uri.object)
    try:
        data = serializer.dumps({"handshake": "hello", "object": uri.object})
        msg = _protocol.SendingMessage(_protocol.MSG_CONNECT, 0, 0, serializer.serializer_id, data)
        conn.send(msg.data)
        reply = _protocol.recv_stub(conn, [_protocol.MSG_CONNECTOK, _protocol.MSG_CONNECTFAIL])
        answer = _serializers.serializers_by_id[reply.serializer_id].loads(reply.data) if reply.data else None
        if reply.type == _protocol.MSG_CONNECTFAIL:
            raise _errors.CommunicationError(f"connection to {uri.host}:{uri.port} rejected: {answer}")
        proxy = _client.Proxy(uri)
        proxy._pyroSerializer = serializer_name
        proxy._pyroTimeout = timeout
        proxy._pyroMaxRetries = 0
        proxy._pyroGetMetadata(known_metadata=answer["meta"])
        proxy._pyroConnection = conn
        return proxy
    except BaseException:
        conn.close()
        raise
