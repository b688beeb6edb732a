"""Pyro4 exporter and proxy factory (chapter 8.2.5), on the optional ``pyro4`` extra:
the Pyro4 kinds of the beans in :mod:`._base`, siblings of the Pyro5 ones.

This module imports without Pyro4; Pyro4 is imported when a Pyro4 bean is
created, and its absence is reported as
:class:`~springpython.errors.MissingDependencyError` naming the extra to install.

Pyro4 daemons check every message's serializer against a set they take from
``Pyro4.config.SERIALIZERS_ACCEPTED`` when created. Rather than change that
global, the daemon here replaces its own copy of the set with the exporter's
``serializer`` list, so ``pickle`` or ``dill`` reach a daemon only when that
exporter names them. Pyro4 has no TLS here: the TLS properties are refused."""

from __future__ import annotations

import functools
import logging
import ssl
from typing import Any

from ...errors import ConfigurationError
from ..registry import SharedServers
from . import _daemons, _settings
from ._base import BasePyroProxyFactory, BasePyroServiceExporter, ExposedService, quiet_error_handler
from ._pyro_internals import INSTALL_HINT, Internals, Pyro4Internals, pyro4

__all__ = ["Pyro4ServiceExporter", "Pyro4ProxyFactory", "SERVERS", "INSTALL_HINT"]

log = logging.getLogger(__name__)

ENGINE = "Pyro4"

#: The running Pyro4 daemons, shared per host:port.
SERVERS: SharedServers[_daemons.ServerThread] = SharedServers("pyro4", lambda s: s.port)


@functools.lru_cache(maxsize=1)
def _daemon_class() -> type:
    """The Pyro4 daemon class (made once Pyro4 is imported)."""
    internals = pyro4()
    core: Any = internals.core

    @core.expose
    class Interface(core.DaemonObject):  # type: ignore[misc]  # Pyro's class, untyped
        def get_metadata(self, objectId: str, as_lists: bool = False) -> dict[str, Any]:  # Pyro's names
            obj = self.daemon.objectsById.get(objectId)
            if isinstance(obj, ExposedService):
                meta = obj._sp_metadata
                return {k: sorted(v) for k, v in meta.items()} if as_lists else meta
            found: dict[str, Any] = super().get_metadata(objectId, as_lists)
            return found

    hooks: Any = internals.DaemonHooks

    class Daemon(_daemons.ConnectionTracking, hooks, core.Daemon):  # type: ignore[misc]
        def __init__(self, host: str, port: int, settings: _settings.DaemonSettings) -> None:
            super().__init__(host=host, port=port, interface=Interface)
            self.sp_init(internals, settings)
            # the daemon's own set of accepted serializers (see the module docstring)
            internals.accept_only(self, frozenset(internals.serializer_id(n) for n in settings.serializers))
            self.methodcall_error_handler = quiet_error_handler

    return Daemon


def _no_tls(owner: str, what: str, *values: Any) -> None:
    if any(v not in (None, "") for v in values):
        raise ConfigurationError(f"{owner}: TLS properties are supported by the Pyro5 {what} only")


class Pyro4ServiceExporter(BasePyroServiceExporter):
    """Puts ``service`` on a Pyro4 daemon; the properties of
    :class:`~springpython.remoting.pyro.Pyro5ServiceExporter` except TLS.

    ``serializer`` may name ``pickle`` (or ``dill`` when installed) here; only
    the serializers named are accepted, ``serpent`` alone by default."""

    ENGINE = ENGINE

    def __init__(self, *args: Any, **properties: Any) -> None:
        pyro4()
        super().__init__(*args, **properties)

    def _internals(self) -> Internals:
        return pyro4()

    def _servers(self) -> SharedServers[_daemons.ServerThread]:
        return SERVERS

    def _server_tls(self) -> None:
        _no_tls(type(self).__name__, "exporter", self.certfile, self.keyfile, self.ca_certs, self.cert_reqs,
                self.verify_fields)
        return None

    def _new_daemon(self, host: str, port: int, settings: _settings.DaemonSettings) -> Any:
        return _daemon_class()(host, port, settings)


class Pyro4ProxyFactory(BasePyroProxyFactory):
    """Looks like the Pyro4 service at ``service_url``; the properties of
    :class:`~springpython.remoting.pyro.Pyro5ProxyFactory` except TLS.
    ``serializer`` may be ``pickle`` (or ``dill``) when the exporter accepts it."""

    ENGINE = ENGINE

    def __init__(self, service_url: str | None = None, **properties: Any) -> None:
        pyro4()
        super().__init__(service_url, **properties)

    def _internals(self) -> Pyro4Internals:
        return pyro4()

    def _tls_context(self) -> ssl.SSLContext | None:
        _no_tls(type(self).__name__, "proxy", self.certfile, self.keyfile, self.ca_certs)
        return None
