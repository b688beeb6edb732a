"""What the Pyro5 and Pyro4 beans share: the engine-neutral exporter and proxy
factory, the facade a daemon serves instead of the service, and the client
connection. The engine-specific parts are hooks the sibling classes in
:mod:`._pyro5` and :mod:`._pyro4` implement; Pyro's private API is reached only
through :mod:`._pyro_internals`.

How settings stay per daemon and per proxy: Pyro keeps process-wide configuration
(``Pyro5.config``, ``Pyro4.config``); these beans never write to it.

- **serializer (client)**: each Pyro proxy gets its own serializer name, the
  client flavour of the engine's serializer (``springpython.serpent`` and so on),
  which hands exceptions over as facts (:class:`._pyro_internals.PyroFault`)
  instead of rebuilding their classes.
- **serializer (server)**: only the exporter's ``serializer`` list is accepted; a
  client using another one is refused with a message that lists the accepted names.
- **exposure**: the service is never registered with Pyro, so it is never
  modified and needs no ``@expose``. A per-export :class:`ExposedService` is
  registered instead: it holds the service's public methods (found once by
  :func:`springpython.remoting.exposure.describe`) marked as exposed, and a
  property per public property; Pyro's own checks refuse every other name.

The exception contract (:mod:`springpython.remoting.faults`): an exception the
service raises reaches the client as the contract's exception, an unknown method
as :class:`~springpython.errors.NoSuchMethodError`. A ``SystemExit`` or
``KeyboardInterrupt`` raised by a service method is sent back like any exception
(see :class:`._pyro_internals.DaemonHooks`), so the daemon's worker keeps serving."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import re
import ssl
from time import monotonic
from typing import Any, Callable, ClassVar

from ...errors import (
    ConfigurationError,
    ConnectFailedError,
    ExportError,
)
from ...context.properties import state
from .. import failures, faults, tracing
from .. import tls as _tls
from .._values import Names, as_bool, as_float, as_int, as_optional_port
from ..api_description import DESCRIBE_METHOD, describe_interface
from ..exporter import ServiceExporter
from ..exposure import ServiceInterface, describe
from ..invocation import ServiceLoop, blocking
from ..proxy import RemoteProxy
from ..registry import SharedServers
from . import _daemons, _settings
from ._budget import DEFAULT_MAX_DEPTH, DEFAULT_MAX_ITEMS, DecodeBudget
from ._pyro_internals import Internals, PyroFault
from ._urls import DEFAULT_PORT, PyroURL, direct_uri, parse_service_url

__all__ = ["BasePyroServiceExporter", "BasePyroProxyFactory", "ExposedService", "DEFAULT_SERIALIZER"]

log = logging.getLogger(__name__)

DEFAULT_SERIALIZER = "serpent"
_NAME = re.compile(r"^[^\s@]+$")


def quiet_error_handler(*_args: Any) -> None:
    """Application exceptions go back to the caller; the daemon logs nothing per call."""


# -- server side ------------------------------------------------------------------


class ExposedService:
    """What the daemon sees of one exported service (the service itself is untouched).

    A name it does not have is an ``AttributeError`` saying the service has no such
    public method (never this class's name), which the proxy factories report as
    :class:`~springpython.errors.NoSuchMethodError`."""

    def __init__(self, service: Any, interface: ServiceInterface, internals: Internals,
                 target: tracing.Target, loop: ServiceLoop) -> None:
        self._sp_service = service
        cls_name = type(service).__qualname__
        plain: dict[str, Any] = {}
        traced: dict[str, Any] = {}
        for method_name, method in interface.methods.items():
            qualname = f"{cls_name}.{method_name}"
            served = blocking(method, loop)
            traced[method_name] = internals.mark_exposed(_traced(served, qualname, target, internals))
            plain[method_name] = internals.mark_exposed(functools.partial(served))
        self._sp_traced = traced
        self.__dict__.update(traced if tracing.active() else plain)
        # the describe call: a dotted name, which no attribute of the service can have
        self.__dict__[DESCRIBE_METHOD] = internals.mark_exposed(functools.partial(describe_interface(interface).answer))
        self._sp_metadata = {
            "methods": set(interface.methods),
            "oneway": set(),
            "attrs": set(interface.properties),
        }

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(faults.no_such_method_message(name))

    def sp_trace(self) -> None:
        """Serve the traced methods from now on: tracing was turned on after this
        facade was made (until then its methods are the service's own, called through
        a C-level ``functools.partial`` that costs no frame; see
        :meth:`._daemons.ConnectionTracking.sp_trace_on`)."""
        self.__dict__.update(self._sp_traced)


def _traced(method: Callable[..., Any], qualname: str, target: tracing.Target,
            internals: Internals) -> Callable[..., Any]:
    """``method`` as the facade holds it when served calls are traced: a ``SERVER``
    span (:mod:`..tracing`) around it, child of the trace context in the call's
    annotation, while tracing is on (one frame of ours in a failing call's traceback)."""
    call_context = internals.call_context
    name = qualname.rpartition(".")[2]

    def served(*args: Any, **kwargs: Any) -> Any:
        if not tracing.active():
            return method(*args, **kwargs)
        carrier = tracing.carrier_from_annotation(call_context.annotations.get(tracing.ANNOTATION))
        with tracing.server_span(target, name, carrier, getattr(call_context, "client_sock_addr", None)):
            return method(*args, **kwargs)

    served.__qualname__ = qualname
    return served


@functools.lru_cache(maxsize=None)
def _facade_class(readable: frozenset[str], writable: frozenset[str], internals: Internals) -> type[ExposedService]:
    """A facade class with a forwarding property per public property of the service."""
    namespace: dict[str, Any] = {}
    for name in readable:

        def fget(self: ExposedService, _name: str = name) -> Any:
            return getattr(self._sp_service, _name)

        fset = None
        if name in writable:

            def fset(self: ExposedService, value: Any, _name: str = name) -> None:
                setattr(self._sp_service, _name, value)

            internals.mark_exposed(fset)
        namespace[name] = property(internals.mark_exposed(fget), fset)
    return type("ExposedServiceWithProperties", (ExposedService,), namespace)


def expose(service: Any, internals: Internals, target: tracing.Target, loop: ServiceLoop) -> ExposedService:
    """The facade a daemon serves for ``service``; its methods' calls are traced as
    calls of ``target`` whenever tracing is on, and its ``async def`` methods run on
    ``loop`` while the daemon's worker thread waits."""
    interface = describe(service)
    props = interface.properties
    if not props:
        return ExposedService(service, interface, internals, target, loop)
    writable = frozenset(
        p for p in props if getattr(getattr(type(service), p, None), "fset", None) is not None
    )
    return _facade_class(frozenset(props), writable, internals)(service, interface, internals, target, loop)


class BasePyroServiceExporter(ServiceExporter):
    """The engine-neutral Pyro exporter; :class:`~springpython.remoting.pyro.Pyro5ServiceExporter`
    and :class:`~springpython.remoting.pyro.Pyro4ServiceExporter` are its two kinds.

    Properties beyond the chapter's four:

    - ``serializer``: the serializers clients may use, a list or comma-separated
      names (default ``serpent``).
    - ``register_with_nameserver``: also register the URI in a running name server
      (found at ``nameserver_host``/``nameserver_port``, or by Pyro's own
      discovery when unset), with ``metadata`` tags for ``PYROMETA:`` look-ups;
      the entry is removed again by ``destroy()``.
    - ``max_message_size``: bytes a message may have (default 8 MiB, the HTTP body
      limit); a bigger one is answered with an error before its body is read.
    - ``idle_timeout``: seconds a client connection may stay silent between
      requests before the daemon closes it (default 30).
    - ``max_connections``: connections the daemon holds at once, each served by a
      worker thread of its own pool (default 1000, as on the HTTP server); at the
      cap the longest-idle one is closed, or the new one refused.
    - ``max_connections_per_peer``: connections one peer address may hold (default
      20); at the cap its longest-idle one is closed, or the new one refused.
    - ``max_items`` and ``max_depth``: the decode budget of a call (default 65536
      items, 200 levels of nesting; see :mod:`._budget`); a call over it is answered
      with an error before Pyro decodes it.

    TLS properties are the Pyro5 exporter's (:class:`~..tls_properties.ServerTLSProperties`).
    Exporters on the same host:port share one daemon; their TLS, serializer and
    limit settings must then be equal."""

    DEFAULT_PORT: ClassVar[int] = DEFAULT_PORT
    ENGINE: ClassVar[str] = ""

    service_port: int = DEFAULT_PORT
    serializer: Names = DEFAULT_SERIALIZER
    register_with_nameserver: bool = False
    nameserver_host: str | None = None
    nameserver_port: int | None = None
    metadata: Names | None = None
    max_message_size: int = _settings.DEFAULT_MAX_MESSAGE_SIZE
    idle_timeout: float = _settings.DEFAULT_IDLE_TIMEOUT
    max_connections: int = _settings.DEFAULT_MAX_CONNECTIONS
    max_connections_per_peer: int = _settings.DEFAULT_MAX_CONNECTIONS_PER_PEER
    max_items: int = DEFAULT_MAX_ITEMS
    max_depth: int = DEFAULT_MAX_DEPTH

    _server: _daemons.ServerThread | None = state(None)
    _uri: str | None = state(None)
    _ns_registered: bool = state(False)

    # -- engine hooks -----------------------------------------------------------------
    def _internals(self) -> Internals:
        raise NotImplementedError

    def _servers(self) -> SharedServers[_daemons.ServerThread]:
        raise NotImplementedError

    def _server_tls(self) -> _tls.ServerTLS | None:
        """The daemon's TLS settings, or ``None``; raise ConfigurationError when refused."""
        raise NotImplementedError

    def _new_daemon(self, host: str, port: int, settings: _settings.DaemonSettings) -> Any:
        """A bound, listening Pyro daemon with these settings."""
        raise NotImplementedError

    # -- daemon -----------------------------------------------------------------------
    def _daemon_settings(self) -> _settings.DaemonSettings:
        internals = self._internals()
        tls = self._server_tls()
        serializers = _settings.parse_serializers(
            "serializer", self.serializer, internals.available_serializers(), internals.name
        )
        return _settings.DaemonSettings(serializers, tls, self._limits())

    def _limits(self) -> _settings.Limits:
        name = type(self).__name__
        try:
            size = as_int("max_message_size", self.max_message_size)
            idle = as_float("idle_timeout", self.idle_timeout)
            total = as_int("max_connections", self.max_connections)
            per_peer = as_int("max_connections_per_peer", self.max_connections_per_peer)
            budget = DecodeBudget(as_int("max_items", self.max_items), as_int("max_depth", self.max_depth))
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {exc}") from None
        if size < 0:
            raise ConfigurationError(f"{name}: max_message_size must not be negative, got {self.max_message_size!r}")
        if idle is None:
            raise ConfigurationError(f"{name}: idle_timeout must be a number of seconds, got {self.idle_timeout!r}")
        for prop, value in (("max_connections", total), ("max_connections_per_peer", per_peer)):
            if value < 1:
                raise ConfigurationError(f"{name}: {prop} must be at least 1, got {getattr(self, prop)!r}")
        for prop, value in (("max_items", budget.max_items), ("max_depth", budget.max_depth)):
            if value < 1:
                raise ConfigurationError(f"{name}: {prop} must be at least 1, got {getattr(self, prop)!r}")
        return _settings.Limits(size, idle, _settings.DEFAULT_REQUEST_TIMEOUT, per_peer, budget, total)

    def _start_daemon(self, host: str, port: int, settings: _settings.DaemonSettings) -> _daemons.ServerThread:
        internals = self._internals()
        try:
            _daemons.check_port_free(host, port)
            daemon = self._new_daemon(host, port, settings)
        except (OSError, internals.errors.PyroError, ValueError) as exc:
            raise ExportError(f"{type(self).__name__}: cannot listen on {host}:{port}: {exc}") from exc
        try:
            return _daemons.ServerThread(daemon, internals.name.lower(), settings)
        except BaseException:
            daemon.close()
            raise

    def _register(self, server: _daemons.ServerThread, name: str) -> str:
        internals = self._internals()
        try:
            target = tracing.Target(internals.name.lower(), name, str(self.service_host), server.port)
            facade = expose(self.service, internals, target, self._service_loop())
            return str(server.daemon.register(facade, name))
        except internals.errors.DaemonError as exc:
            raise ExportError(
                f"{type(self).__name__}: service name {name!r} is already exported at {server.location}"
            ) from exc

    def _unregister(self, server: _daemons.ServerThread, name: str) -> None:
        server.daemon.unregister(name)

    # -- ServiceExporter ------------------------------------------------------------
    def _export(self) -> None:
        name = self.service_name
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigurationError(
                f"{type(self).__name__}: service_name must be a name without spaces or '@', got {name!r}"
            )
        settings = self._daemon_settings()
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
        port = as_optional_port("nameserver_port", self.nameserver_port)
        return (self.nameserver_host or None), port

    def _locate_ns(self) -> Any:
        host, port = self._ns_location()
        internals = self._internals()
        try:
            return internals.locate_ns(host, port)
        except internals.errors.PyroError as exc:
            where = f"{host}:{port or 9090}" if host else "by discovery"
            raise ExportError(f"{type(self).__name__}: no {internals.name} name server found {where}: {exc}") from exc

    def _ns_register(self, name: str, uri: str, tags: frozenset[str]) -> None:
        with self._locate_ns() as ns:
            try:
                ns.register(name, uri, metadata=set(tags))
            except self._internals().errors.PyroError as exc:
                raise ExportError(f"{type(self).__name__}: name server refused {name!r}: {exc}") from exc
        log.debug("registered %s as %s in the name server", uri, name)

    def _ns_unregister(self, name: str, uri: str) -> None:
        try:
            with self._locate_ns() as ns:
                if str(ns.lookup(name)) == uri:
                    ns.remove(name)
        except (ExportError, self._internals().errors.PyroError):
            log.warning("could not remove %s from the name server", name, exc_info=True)


# -- client side ------------------------------------------------------------------

#: Seconds after a reply during which the next call skips the stale-connection check:
#: a connection that just answered was not found idle and closed by the server
#: since (the check, a system call, is a tenth of a short call's cost in Python).
_JUST_ANSWERED = 0.001


class Connection:
    """One thread's Pyro proxy, plus a check that spots a connection the server
    closed while it was idle (so a call is known not to have been sent on it), and
    when it last answered (see :data:`_JUST_ANSWERED`)."""

    __slots__ = ("proxy", "invoke", "closed_by_peer", "internals", "answered")

    def __init__(self, proxy: Any, internals: Internals) -> None:
        self.proxy = proxy
        self.internals = internals
        self.invoke = internals.invoker(proxy)
        self.closed_by_peer = failures.closed_by_peer(internals.socket_of(proxy))
        self.answered = 0.0

    def invoke_annotated(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], context: bytes) -> Any:
        """:attr:`invoke` with the trace ``context`` in the call's annotations (Pyro's
        per-thread ``current_context.annotations``, restored afterwards)."""
        call_context = self.internals.call_context
        saved = call_context.annotations
        call_context.annotations = {**saved, tracing.ANNOTATION: context}
        try:
            return self.invoke(name, args, kwargs)
        finally:
            call_context.annotations = saved

    def usable(self) -> bool:
        """Connected, and not closed or reset by the server."""
        return self.internals.connected(self.proxy) and not self.closed_by_peer()

    def close(self) -> None:
        self.internals.release(self.proxy)


_NO_EXPOSED = (
    "attempt to access unexposed attribute '{}'",
    "attempt to access unexposed or unknown remote attribute '{}'",
)


def pyro_fault(info: faults.FaultInfo, method: str, internals: Internals) -> faults.FaultInfo:
    """``info`` as the contract reads it: Pyro's ways of saying "no such method"
    become the no-such-method type (ours, Pyro's "unexposed attribute", and a plain
    daemon's failed attribute look-up)."""
    if info.remote_type != "builtins.AttributeError":
        return info
    if info.message == faults.no_such_method_message(method):
        return dataclasses.replace(info, remote_type=faults.NO_SUCH_METHOD_TYPE, message=method)
    if info.message in (form.format(method) for form in _NO_EXPOSED) or (
        info.message.endswith(f" has no attribute '{method}'") and internals.lookup_failed(info.remote_traceback)
    ):
        return dataclasses.replace(info, remote_type=faults.NO_SUCH_METHOD_TYPE)
    return info


class BasePyroProxyFactory(RemoteProxy):
    """The engine-neutral Pyro proxy factory; :class:`~springpython.remoting.pyro.Pyro5ProxyFactory`
    and :class:`~springpython.remoting.pyro.Pyro4ProxyFactory` are its two kinds.

    Properties: ``timeout`` (seconds per call, none by default), ``reconnect``
    (default true), ``serializer`` (one name, default ``serpent``; the exporter must
    accept it), ``nameserver_host``/``nameserver_port`` (where ``PYRONAME:`` and
    ``PYROMETA:`` URLs without a location are looked up) and ``exception_classes``;
    TLS properties are the Pyro5 proxy factory's
    (:class:`~..tls_properties.ClientTLSProperties`). Every setting is checked by
    ``after_properties_set()``."""

    ENGINE: ClassVar[str] = ""

    timeout: float | None = None
    serializer: str = DEFAULT_SERIALIZER
    nameserver_host: str | None = None
    nameserver_port: int | None = None

    # -- engine hooks -----------------------------------------------------------------
    def _internals(self) -> Internals:
        raise NotImplementedError

    def _tls_context(self) -> ssl.SSLContext | None:
        """The client TLS context, or ``None``; raise ConfigurationError when refused."""
        raise NotImplementedError

    def _connect_tls(self, uri: str, serializer: str, timeout: float | None, context: ssl.SSLContext) -> Any:
        raise NotImplementedError

    # -- settings -------------------------------------------------------------------
    def _check(self) -> None:
        """Every setting, checked as the first call would use it."""
        self._uri_text(self._target())
        self._serializer_name()
        self._timeout()
        try:
            as_bool("reconnect", self.reconnect)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        self._tls_context()

    def _target(self) -> PyroURL:
        return parse_service_url(self.service_url)

    def _uri_text(self, target: PyroURL) -> str:
        try:
            port = as_optional_port("nameserver_port", self.nameserver_port)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        return target.uri(self.nameserver_host or None, port)

    def _serializer_name(self) -> str:
        internals = self._internals()
        names = _settings.parse_serializers("serializer", self.serializer, internals.available_serializers(),
                                            internals.name)
        if len(names) != 1:
            raise ConfigurationError(f"serializer of a proxy names exactly one serializer, got {self.serializer!r}")
        return names[0]

    def _timeout(self) -> float | None:
        try:
            return as_float("timeout", self.timeout)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

    # -- RemoteProxy hooks ------------------------------------------------------------
    def _span_target(self) -> tracing.Target:
        target = self._target()
        return tracing.Target(self._internals().name.lower(), target.name, target.host, target.port)

    def _open(self) -> Connection:
        internals = self._internals()
        uri = self._uri_text(self._target())
        serializer = internals.client_serializer(self._serializer_name())
        timeout = self._timeout()
        context = self._tls_context()
        try:
            if context is None:
                proxy = internals.proxy(uri, serializer, timeout)
                internals.bind(proxy)
            else:
                proxy = self._connect_tls(uri, serializer, timeout, context)
        except internals.errors.NamingError as exc:
            raise ConnectFailedError(f"cannot resolve {self.service_url}: {exc}") from exc
        except (internals.errors.PyroError, OSError) as exc:
            raise failures.for_exception(
                exc, url=f"{self.service_url} ({uri})", method=None, stage=failures.Stage.CONNECT, timeout=timeout,
                timed_out=isinstance(exc, (internals.errors.TimeoutError, TimeoutError)),
            ) from exc
        return Connection(proxy, internals)

    def _invoke(self, conn: Connection, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if monotonic() - conn.answered > _JUST_ANSWERED and conn.closed_by_peer():  # conn.usable(), inlined
            raise failures.closed_before_send(str(self.service_url), name)
        try:
            context = tracing.annotation()
            if context is None:
                result = conn.invoke(name, args, kwargs)
            else:
                result = conn.invoke_annotated(name, args, kwargs, context)
            conn.answered = monotonic()
            return result
        except PyroFault as fault:
            raise self._fault(pyro_fault(fault.info, name, conn.internals), name) from None
        except Exception as exc:
            failure = self._failure(conn, name, exc)
            if failure is None:
                raise
            raise failure from exc

    def _failure(self, conn: Connection, name: str, exc: Exception) -> Exception | None:
        """What to raise instead of an exception out of a Pyro call (other than a
        fault our serializer decoded); ``None`` to let it through."""
        internals = conn.internals
        errors = internals.errors
        if not internals.is_pyro_error(exc):
            # raised by the service and rebuilt by a serializer that makes classes
            # itself (Pyro4's pickle, which the configuration asked for by name)
            if internals.remote_traceback(exc) is None:
                return None
            info = faults.FaultInfo(faults.type_name(type(exc)), str(exc), internals.remote_traceback(exc))
            return self._fault(pyro_fault(info, name, internals), name)
        if isinstance(exc, errors.DaemonError) and "unknown object" in str(exc):
            # the daemon runs, but nothing is exported under that name (any more):
            # nothing ran, so this is as safe to retry elsewhere as a refused connection
            return ConnectFailedError(
                f"{self.service_url}: no service {internals.object_id(conn.proxy)!r} is exported there; "
                f"{name}() did not run"
            )
        if isinstance(exc, (errors.ProtocolError, errors.SecurityError)) and internals.remote_traceback(exc):
            # the daemon refused the message (too large, a serializer it does not accept)
            info = faults.FaultInfo(faults.type_name(type(exc)), str(exc), internals.remote_traceback(exc))
            return self._fault(info, name)
        if not isinstance(exc, errors.CommunicationError):
            return None
        if internals.remote_traceback(exc) is not None or isinstance(exc, errors.SerializeError):
            return None  # raised by the service, or an argument Pyro cannot serialize
        return failures.for_exception(
            exc, url=str(self.service_url), method=name, stage=failures.Stage.REPLY,
            timeout=self._timeout(), timed_out=isinstance(exc, errors.TimeoutError),
        )

    def _close(self, conn: Connection) -> None:
        conn.close()
