"""The base of every proxy factory: an object that looks like the remote service.

Rules of this file: this is the only forwarding code in springpython. Attribute
access never touches the network; a connection is opened on the first real call, one
per thread (several transports' connections belong to one thread), and all of them
are closed by ``destroy()``. Names with a leading underscore are never forwarded, so
``copy``, ``pickle``, ``repr`` and the container's lifecycle checks see a plain object."""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any, ClassVar, Sequence

from ..context.lifecycle import DisposableObject, InitializingObject
from ..context.properties import DeclaredProperties
from ..errors import ConnectFailedError, RemoteFault
from . import faults, tracing
from ._values import as_bool

__all__ = ["RemoteProxy", "RemoteMethod"]

log = logging.getLogger(__name__)

# Per proxy: the calling thread's connection (``.conn``), every connection opened with
# the thread that opened it, and the lock guarding that list.
_ConnState = tuple[threading.local, list[tuple["weakref.ref[threading.Thread]", Any]], threading.Lock]


class RemoteMethod:
    """A method of the remote service, bound to the proxy that calls it."""

    __slots__ = ("_proxy", "_name")

    def __init__(self, proxy: "RemoteProxy", name: str) -> None:
        self._proxy = proxy
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._proxy._call(self._name, args, kwargs)

    def __repr__(self) -> str:
        return f"<remote method {self._name} of {self._proxy!r}>"


class RemoteProxy(DeclaredProperties, InitializingObject, DisposableObject):
    """Looks like the service at ``service_url``; connects lazily, per thread.

    Subclasses implement :meth:`_open` (a new connection), :meth:`_invoke` (one call
    on a connection, raising :class:`~springpython.errors.ConnectFailedError` when the
    request was certainly not delivered) and :meth:`_close`. With ``reconnect`` on
    (the default) a call that could not be delivered over a connection kept from an
    earlier call is retried once on a new connection, so a restarted server is picked
    up without the client noticing.

    Properties are annotated class attributes
    (:class:`~springpython.context.properties.DeclaredProperties`), each a typed
    constructor keyword; ``service_url`` may also be given by position.
    ``exception_classes`` lists, by dotted name (a list, or comma-separated text),
    the application exception classes re-created on this side when the service
    raises them (see
    :mod:`springpython.remoting.faults`); every other remote exception arrives as a
    :class:`~springpython.errors.RemoteFault`. Subclasses check their settings in
    :meth:`_check`, which :meth:`after_properties_set` runs, so a bad URL fails the
    context start with file, line and object id."""

    service_url: str | None = None
    reconnect: bool = True
    exception_classes: Sequence[str] | str | None = None

    # -- settings ---------------------------------------------------------------
    def after_properties_set(self) -> None:
        """Check every setting now (the URL included), so a mistake fails at start-up."""
        self.__dict__["_sp_exception_classes"] = faults.ExceptionClasses(self.exception_classes)
        self._check()

    def _check(self) -> None:
        """Check the transport's settings; raise :class:`ConfigurationError` naming the property."""

    #: What is computed once from the properties and forgotten when one changes.
    _DERIVED: ClassVar[tuple[str, ...]] = ("_sp_exception_classes", "_sp_trace_target")

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if not name.startswith("_"):
            for key in self._DERIVED:
                self.__dict__.pop(key, None)

    def _exception_classes(self) -> faults.ExceptionClasses:
        table = self.__dict__.get("_sp_exception_classes")
        if table is None:
            table = self.__dict__["_sp_exception_classes"] = faults.ExceptionClasses(self.exception_classes)
        return table

    def _fault(self, info: faults.FaultInfo, method: str) -> RemoteFault:
        """The exception to raise for a fault the service answered to ``method``."""
        return faults.to_exception(
            info, method=method, where=self.service_url, exception_classes=self._exception_classes()
        )

    # -- attribute forwarding -------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(
                f"{name!r}: names starting with '_' are never sent to the remote service"
            )
        method = RemoteMethod(self, name)
        self.__dict__[name] = method
        return method

    # -- connections ------------------------------------------------------------
    def _connections(self) -> _ConnState:
        state: _ConnState | None = self.__dict__.get("_conn_state")
        if state is None:
            state = self.__dict__.setdefault(
                "_conn_state", (threading.local(), [], threading.Lock())
            )
        return state

    def _connection(self) -> Any:
        local, opened, lock = self._connections()
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = self._open()
            local.conn = conn
            thread = weakref.ref(threading.current_thread())
            with lock:
                dead = [item for item in opened if item[0]() is None]
                for item in dead:
                    opened.remove(item)
                opened.append((thread, conn))
            for _, stale in dead:
                self._close_quietly(stale)
        return conn

    def _discard_connection(self) -> None:
        """Forget (and close) the calling thread's connection after a failure."""
        local, opened, lock = self._connections()
        conn = getattr(local, "conn", None)
        if conn is None:
            return
        local.conn = None
        with lock:
            opened[:] = [item for item in opened if item[1] is not conn]
        self._close_quietly(conn)

    def _close_quietly(self, conn: Any) -> None:
        try:
            self._close(conn)
        except Exception:  # closing a broken connection must not mask the real error
            log.debug("closing a connection to %s failed", self.service_url, exc_info=True)

    def _call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call ``name`` remotely: a ``CLIENT`` span (:mod:`.tracing`) around the
        whole call, reconnection included, when tracing is on."""
        if not tracing.active():
            return self._send(name, args, kwargs)
        with tracing.client_span(self._trace_target(), name):
            return self._send(name, args, kwargs)

    def _trace_target(self) -> tracing.Target:
        target: tracing.Target | None = self.__dict__.get("_sp_trace_target")
        if target is None:
            target = self.__dict__["_sp_trace_target"] = self._span_target()
        return target

    def _send(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        conn = getattr(self._connections()[0], "conn", None)
        reused = conn is not None
        if conn is None:
            conn = self._connection()
        try:
            return self._invoke(conn, name, args, kwargs)
        except ConnectFailedError:
            self._discard_connection()
            # Only a connection kept from an earlier call can have gone stale (the
            # server restarted); a fresh one that failed would just fail again.
            if not reused or not as_bool("reconnect", self.reconnect):
                raise
            log.debug("reconnecting to %s", self.service_url)
        except ConnectionError:
            self._discard_connection()
            raise
        try:
            return self._invoke(self._connection(), name, args, kwargs)
        except ConnectionError:
            self._discard_connection()
            raise

    def destroy(self) -> None:
        """Close every connection this proxy opened, in every thread."""
        local, opened, lock = self._connections()
        with lock:
            conns = [conn for _, conn in opened]
            opened.clear()
        self.__dict__["_conn_state"] = (threading.local(), [], threading.Lock())
        for conn in conns:
            self._close_quietly(conn)

    def __enter__(self) -> "RemoteProxy":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    @property
    def connections(self) -> int:
        """How many connections are open now, across threads."""
        return len(self._connections()[1])

    # -- transport hooks --------------------------------------------------------
    def _open(self) -> Any:
        raise NotImplementedError

    def _invoke(self, conn: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _close(self, conn: Any) -> None:
        raise NotImplementedError

    def _span_target(self) -> tracing.Target:
        """The facts every span of this proxy carries (``rpc.system``, ``rpc.service``,
        the server's address); computed once, again after a property changes."""
        return tracing.Target(type(self).__name__, "")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.service_url} connections={self.connections}>"
