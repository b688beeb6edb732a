"""Pyro4 exporter and proxy factory (chapter 8.2.5), on the optional ``pyro4`` extra:
the Pyro4 kinds of the beans in :mod:`._base`, siblings of the Pyro5 ones.

This module imports without Pyro4; Pyro4 is imported when a Pyro4 bean is
created, and its absence is reported as
:class:`~springpython.errors.MissingDependencyError` naming the extra to install.

Pyro4 daemons check every message's serializer against a set they take from
``Pyro4.config.SERIALIZERS_ACCEPTED`` when created. Rather than change that
global, the daemon here replaces its own copy of the set with the exporter's
``serializer`` list, so ``pickle`` or ``dill`` reach a daemon only when that
exporter names them.

Pyro4 has no TLS here. Its beans declare the TLS property names with the type
``None`` only, so a type checker flags ``Pyro4ProxyFactory(ca_certs="ca.pem")``, and
a value given anyway (from XML, say) is a :class:`ConfigurationError` at start
saying to use the Pyro5 beans."""

from __future__ import annotations

import functools
import logging
import ssl
from typing import Any, ClassVar

from ...context.properties import DeclaredProperties
from ...errors import ConfigurationError
from ..tls_properties import CLIENT_TLS_PROPERTIES, SERVER_TLS_PROPERTIES
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


def _no_tls(bean: DeclaredProperties, names: tuple[str, ...]) -> None:
    given = [name for name in names if getattr(bean, name) not in (None, "")]
    if given:
        raise ConfigurationError(
            f"{type(bean).__name__}: {', '.join(given)} set, but Pyro4 has no TLS; use the Pyro5 beans "
            f"(Pyro5ServiceExporter/Pyro5ProxyFactory) for TLS"
        )


class _NeedsPyro4:
    """Reports a missing Pyro4 when a Pyro4 bean is created (not when it first runs).
    Done in ``__new__`` so that the typed constructor of the properties stays the one
    type checkers see."""

    def __new__(cls, *args: Any, **properties: Any) -> Any:
        pyro4()
        return super().__new__(cls)


class Pyro4ServiceExporter(_NeedsPyro4, BasePyroServiceExporter):
    """Puts ``service`` on a Pyro4 daemon; the properties of
    :class:`~springpython.remoting.pyro.Pyro5ServiceExporter` except TLS: the TLS
    names are declared only to be refused (see the module docstring).

    ``serializer`` may name ``pickle`` (or ``dill`` when installed) here; only
    the serializers named are accepted, ``serpent`` alone by default."""

    ENGINE: ClassVar[str] = ENGINE
    TRANSPORT: ClassVar[str | None] = "pyro4"

    certfile: None = None
    keyfile: None = None
    ca_certs: None = None
    cert_reqs: None = None
    verify_fields: None = None

    def _internals(self) -> Internals:
        return pyro4()

    def _servers(self) -> SharedServers[_daemons.ServerThread]:
        return SERVERS

    def _server_tls(self) -> None:
        _no_tls(self, SERVER_TLS_PROPERTIES)
        return None

    def _new_daemon(self, host: str, port: int, settings: _settings.DaemonSettings) -> Any:
        return _daemon_class()(host, port, settings)


class Pyro4ProxyFactory(_NeedsPyro4, BasePyroProxyFactory):
    """Looks like the Pyro4 service at ``service_url``; the properties of
    :class:`~springpython.remoting.pyro.Pyro5ProxyFactory` except TLS (the TLS names
    are declared only to be refused, see the module docstring).
    ``serializer`` may be ``pickle`` (or ``dill``) when the exporter accepts it."""

    ENGINE: ClassVar[str] = ENGINE

    certfile: None = None
    keyfile: None = None
    ca_certs: None = None
    cert_reqs: None = None
    check_hostname: None = None
    verify_fields: None = None

    def _internals(self) -> Pyro4Internals:
        return pyro4()

    def _tls_context(self) -> ssl.SSLContext | None:
        _no_tls(self, CLIENT_TLS_PROPERTIES)
        return None
