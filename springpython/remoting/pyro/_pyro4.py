"""Pyro4 exporter and proxy factory (chapter 8.2.5), on the optional ``pyro4`` extra.

This module imports without Pyro4; Pyro4 is imported when a Pyro4 bean is
created, and its absence is reported as
:class:`~springpython.errors.MissingDependencyError` naming the extra to install.

Settings stay per daemon and per proxy as with Pyro5 (see :mod:`._pyro5`), with
one difference: Pyro4 daemons check every message's serializer against a set they
take from ``Pyro4.config.SERIALIZERS_ACCEPTED`` when created. Rather than change
that global, the daemon subclass here replaces its own copy of the set with the
exporter's ``serializer`` list, so ``pickle`` or ``dill`` reach a daemon only
when that exporter names them. TLS is offered by the Pyro5 beans only."""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

from ...errors import ConfigurationError, ConnectFailedError, ExportError, MissingDependencyError
from ..registry import SharedServers
from . import _daemons, _settings
from ._pyro5 import (
    Engine,
    Pyro5ProxyFactory,
    Pyro5ServiceExporter,
    _Adapter,
    _Connection,
    _ExceptionTypes,
    _make_adapter,
    _quiet_error_handler,
    local_exception_type,
)

__all__ = ["Pyro4ServiceExporter", "Pyro4ProxyFactory", "SERVERS", "INSTALL_HINT"]

log = logging.getLogger(__name__)

ENGINE = "Pyro4"
INSTALL_HINT = 'pip install "springpython[pyro4]"'

#: The running Pyro4 daemons, shared per host:port.
SERVERS: SharedServers[_daemons.ServerThread] = SharedServers("pyro4", lambda s: s.port)

_lock = threading.Lock()


class _Pyro4Engine(Engine):
    """Pyro4's modules and the classes built on them."""

    def __init__(self) -> None:
        try:
            import Pyro4
            import Pyro4.core
            import Pyro4.errors
            import Pyro4.naming
            import Pyro4.util
        except ImportError as exc:
            raise MissingDependencyError(
                f"the Pyro4 beans need Pyro4, which is not installed: {INSTALL_HINT}"
            ) from exc
        self.Pyro4 = Pyro4
        self.util = Pyro4.util
        super().__init__(ENGINE, Pyro4.errors, Pyro4.naming.locateNS, Pyro4.core._resolve, self._available)
        self.Proxy = Pyro4.core.Proxy
        self.Daemon = self._daemon_class()

    def _available(self) -> list[str]:
        return [name for name in self.util._serializers if "." not in name]

    def _daemon_class(self) -> type:
        core, util = self.Pyro4.core, self.util

        @core.expose
        class Interface(core.DaemonObject):
            def get_metadata(self, objectId: str, as_lists: bool = False) -> dict:  # Pyro's names
                obj = self.daemon.objectsById.get(objectId)
                if isinstance(obj, _Adapter):
                    meta = obj._sp_metadata
                    return {k: sorted(v) for k, v in meta.items()} if as_lists else meta
                return super().get_metadata(objectId, as_lists)

        class Daemon(_daemons.ConnectionTracking, core.Daemon):
            def __init__(self, host: str, port: int, settings: _settings.DaemonSettings) -> None:
                super().__init__(host=host, port=port, interface=Interface)
                self.sp_init(None)
                # the daemon's own copy of the accepted serializer ids (see the module docstring)
                self._Daemon__serializer_ids = {util.get_serializer(n).serializer_id for n in settings.serializers}
                self.methodcall_error_handler = _quiet_error_handler

        return Daemon

    def client_serializer(self, name: str) -> str:
        key = f"springpython.{name}"
        table = self.util._serializers
        if key not in table:
            with _lock:
                if key not in table:
                    base = type(table[name])
                    table[key] = type(f"SpringPython{base.__name__}", (_Pyro4ExceptionTypes, base), {})()
        return key


class _Pyro4ExceptionTypes(_ExceptionTypes):
    """Pyro4's flavour of the exception-rebuilding serializer mix-in."""

    @classmethod
    def dict_to_class(cls, data: dict) -> Any:
        if data.get("__exception__"):
            exc_type = local_exception_type(data.get("__class__"))
            if exc_type is not None:
                return _engine().util.SerializerBase.make_exception(exc_type, data)
        return super(_ExceptionTypes, cls).dict_to_class(data)  # type: ignore[misc]


@functools.lru_cache(maxsize=1)
def _engine() -> _Pyro4Engine:
    return _Pyro4Engine()


class Pyro4ServiceExporter(Pyro5ServiceExporter):
    """Puts ``service`` on a Pyro4 daemon; the properties of
    :class:`~springpython.remoting.pyro.Pyro5ServiceExporter` except TLS.

    ``serializer`` may name ``pickle`` (or ``dill`` when installed) here; only
    the serializers named are accepted, ``serpent`` alone by default."""

    ENGINE = ENGINE

    def __init__(self, *args: Any, **properties: Any) -> None:
        _engine()
        super().__init__(*args, **properties)

    def _pyro(self) -> Engine:
        return _engine()

    def _servers(self) -> SharedServers[_daemons.ServerThread]:
        return SERVERS

    def _settings(self) -> _settings.DaemonSettings:
        if any(v not in (None, "") for v in (self.certfile, self.keyfile, self.ca_certs, self.cert_reqs)):
            raise ConfigurationError(
                f"{type(self).__name__}: TLS properties are supported by the Pyro5 exporter only"
            )
        engine = _engine()
        return _settings.DaemonSettings(
            _settings.parse_serializers("serializer", self.serializer, engine.available(), ENGINE), None
        )

    def _start_daemon(self, host: str, port: int, settings: _settings.DaemonSettings) -> _daemons.ServerThread:
        engine = _engine()
        try:
            _daemons.check_port_free(host, port)
            daemon = engine.Daemon(host, port, settings)
        except (OSError, engine.errors.PyroError, ValueError) as exc:
            raise ExportError(f"{type(self).__name__}: cannot listen on {host}:{port}: {exc}") from exc
        try:
            return _daemons.ServerThread(daemon, "pyro4", settings)
        except BaseException:
            daemon.close()
            raise

    def _register(self, server: _daemons.ServerThread, name: str) -> str:
        try:
            return str(server.daemon.register(_make_adapter(self.service), name))
        except _engine().errors.DaemonError as exc:
            raise ExportError(
                f"{type(self).__name__}: service name {name!r} is already exported at {server.location}"
            ) from exc


class Pyro4ProxyFactory(Pyro5ProxyFactory):
    """Looks like the Pyro4 service at ``service_url``; the properties of
    :class:`~springpython.remoting.pyro.Pyro5ProxyFactory` except TLS.
    ``serializer`` may be ``pickle`` (or ``dill``) when the exporter accepts it."""

    ENGINE = ENGINE

    def __init__(self, service_url: str | None = None, **properties: Any) -> None:
        _engine()
        super().__init__(service_url, **properties)

    def _pyro(self) -> Engine:
        return _engine()

    @property
    def _communication_errors(self) -> type:  # type: ignore[override]
        return _engine().errors.CommunicationError

    @property
    def _daemon_errors(self) -> type:  # type: ignore[override]
        return _engine().errors.DaemonError

    def _open(self) -> _Connection:
        engine = _engine()
        if any(v not in (None, "") for v in (self.certfile, self.keyfile, self.ca_certs)):
            raise ConfigurationError(f"{type(self).__name__}: TLS properties are supported by the Pyro5 proxy only")
        uri = self._uri_text(self._target())
        serializer = engine.client_serializer(self._serializer_name())
        timeout = self._timeout()
        try:
            proxy = engine.Proxy(uri)
            proxy._pyroSerializer = serializer
            proxy._pyroTimeout = timeout
            proxy._pyroMaxRetries = 0
            proxy._pyroBind()
        except engine.errors.NamingError as exc:
            raise ConnectFailedError(f"cannot resolve {self.service_url}: {exc}") from exc
        except (engine.errors.PyroError, OSError) as exc:
            raise ConnectFailedError(f"cannot connect to {self.service_url} ({uri}): {exc}") from exc
        return _Connection(proxy)
