"""Pyro5 exporter and proxy factory: the Pyro5 kinds of the beans in :mod:`._base`.

What Pyro5 adds to the shared beans:

- **serializer (server)**: Pyro5 daemons accept every serializer the engine has.
  The exporter's ``serializer`` list is checked at each connection's handshake
  (a client using another one is refused with a message that lists the accepted
  names) and on every call after it (see :mod:`._daemons`).
  Pyro5 has no pickle at all, so no configuration can turn it on here.
- **TLS**: Pyro5 only knows the global ``config.SSL``. The daemon here turns each
  accepted connection into TLS inside its worker thread (see :mod:`._daemons`),
  with a context from :mod:`springpython.remoting.tls`; the proxy opens its TLS
  socket itself and performs Pyro's connect handshake on it, then hands the
  connection to a normal Pyro proxy (:meth:`._pyro_internals.Pyro5Internals.tls_proxy`)."""

from __future__ import annotations

import logging
import ssl
import threading
from typing import Any, ClassVar

import Pyro5.server as _server

from ...errors import VerificationException
from .. import failures
from .. import tls as _tls
from ..tls_properties import CLIENT_TLS_PROPERTIES, ClientTLSProperties, ServerTLSProperties
from ..registry import SharedServers
from . import _daemons, _settings
from ._base import BasePyroProxyFactory, BasePyroServiceExporter, ExposedService, quiet_error_handler
from ._pyro_internals import PYRO5, Internals, Pyro5DaemonHooks

__all__ = ["Pyro5ServiceExporter", "Pyro5ProxyFactory", "SERVERS"]

log = logging.getLogger(__name__)

ENGINE = "Pyro5"

#: The running Pyro5 daemons, shared per host:port.
SERVERS: SharedServers[_daemons.ServerThread] = SharedServers("pyro5", lambda s: s.port)


@_server.expose
class DaemonInterface(_server.DaemonObject):  # type: ignore[misc]  # Pyro's class, untyped
    """The daemon's own remote object; answers metadata of exported services from
    their facade, after checking the client's serializer."""

    def get_metadata(self, objectId: str) -> dict[str, Any]:  # Pyro's name
        obj = self.daemon.objectsById.get(objectId)
        if isinstance(obj, ExposedService):
            sniffed = getattr(self.daemon.sp_handshake, "serializer_id", None)
            if sniffed is not None and sniffed not in self.daemon.sp_accepted_ids:
                raise PYRO5.errors.SecurityError(
                    f"serializer {PYRO5.serializer_name(sniffed)!r} is not accepted by this service; "
                    f"use one of {', '.join(self.daemon.sp_accepted)}"
                )
            return obj._sp_metadata
        meta: dict[str, Any] = super().get_metadata(objectId)
        return meta


class _Daemon(_daemons.ConnectionTracking, Pyro5DaemonHooks, _server.Daemon):  # type: ignore[misc]
    """A Pyro5 daemon with per-daemon TLS and accepted serializers."""

    def __init__(self, host: str, port: int, settings: _settings.DaemonSettings) -> None:
        super().__init__(host=host, port=port, interface=DaemonInterface)
        self.sp_init(PYRO5, settings)
        # the serializer of the handshake being done in this thread, for get_metadata
        self.sp_handshake = threading.local()
        self.methodcall_error_handler = quiet_error_handler

    def sp_protocol_handshake(self, conn: _daemons.ClientConnection, denied_reason: Any) -> bool:
        self.sp_handshake.serializer_id = conn.header.serializer_id if conn.header else None
        try:
            return self.pyro_handshake(conn, denied_reason)
        finally:
            self.sp_handshake.serializer_id = None


class Pyro5ServiceExporter(ServerTLSProperties, BasePyroServiceExporter):
    """Puts ``service`` on a Pyro5 daemon as ``service_name`` at ``service_host:service_port``.

    Properties beyond the chapter's four (see :class:`~._base.BasePyroServiceExporter`):
    ``serializer`` (default ``serpent``; Pyro5 also has ``json``, ``marshal``,
    ``msgpack`` when installed), ``register_with_nameserver``,
    ``nameserver_host``/``nameserver_port``, ``metadata``, and TLS:
    ``certfile``/``keyfile`` serve over TLS (1.2 or newer) with this certificate;
    ``ca_certs``: the CAs client certificates must come from; ``cert_reqs``:
    ``CERT_REQUIRED`` (the default when ``ca_certs`` is given: mutual
    authentication), ``CERT_OPTIONAL`` or ``CERT_NONE``; ``verify_fields``: subject
    fields every client certificate must carry (a client whose certificate does not
    is refused before any call runs): the properties of
    :class:`~springpython.remoting.tls_properties.ServerTLSProperties`, read by the
    one TLS policy."""

    ENGINE: ClassVar[str] = ENGINE
    TRANSPORT: ClassVar[str | None] = "pyro5"

    def _internals(self) -> Internals:
        return PYRO5

    def _servers(self) -> SharedServers[_daemons.ServerThread]:
        return SERVERS

    def _new_daemon(self, host: str, port: int, settings: _settings.DaemonSettings) -> Any:
        return _Daemon(host, port, settings)


class Pyro5ProxyFactory(ClientTLSProperties, BasePyroProxyFactory):
    """Looks like the Pyro5 service at ``service_url`` (any form :mod:`._urls` accepts).

    Properties: see :class:`~._base.BasePyroProxyFactory`; for TLS those of
    :class:`~springpython.remoting.tls_properties.ClientTLSProperties`, as on the HTTP
    proxy factories: ``ca_certs`` (the CAs the server's certificate must chain to; the
    system's without it), ``certfile``/``keyfile`` (this client's certificate, for
    mutual authentication), ``cert_reqs`` (default ``CERT_REQUIRED``),
    ``check_hostname`` (default true) and ``verify_fields`` (subject fields the
    server's certificate must carry; checked before anything is sent). TLS is on
    when any of them is set."""

    ENGINE: ClassVar[str] = ENGINE

    def _internals(self) -> Internals:
        return PYRO5

    def _tls(self) -> _tls.ClientTLS | None:
        """The TLS settings by the one policy, kept while the TLS properties stay the same."""
        key = tuple(getattr(self, name) for name in CLIENT_TLS_PROPERTIES)
        cached = self.__dict__.get("_sp_tls")
        if cached is not None and cached[0] == key:
            return cached[1]  # type: ignore[no-any-return]
        settings = self._client_tls(required=False)
        self.__dict__["_sp_tls"] = (key, settings)
        return settings

    def _tls_context(self) -> ssl.SSLContext | None:
        settings = self._tls()
        return settings.context() if settings is not None else None

    def _connect_tls(self, uri: str, serializer: str, timeout: float | None, context: ssl.SSLContext) -> Any:
        settings = self._tls()
        verify = settings.verify if settings is not None and settings.verify_fields else None
        try:
            return PYRO5.tls_proxy(uri, serializer, timeout, context, verify_peer=verify)
        except VerificationException as exc:  # the server's certificate lacks a verify_fields value
            raise failures.for_exception(exc, url=str(self.service_url), method=None,
                                         stage=failures.Stage.CONNECT) from exc

