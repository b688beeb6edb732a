"""The base of exporters served over the shared HTTP server (:mod:`.http`): the
``path`` they answer on and their TLS and size settings.

Exporters of any HTTP transport on the same host and port share one server, each
mounted on its own path, as long as their TLS and size settings agree; the server
starts with the first and stops, freeing the port, with the last. A hosted
exporter (:meth:`HTTPServiceExporter.host_on`, used by :mod:`springpython.hosting`)
mounts its handler on a WSGI or ASGI application instead and binds no port."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import ClassVar, Protocol

from ..context.properties import state
from ..errors import ConfigurationError
from ._values import as_int
from .exporter import ServiceExporter
from .http import (DEFAULT_CLOSE_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_CONNECTIONS,
                   DEFAULT_MAX_CONNECTIONS_PER_PEER, Handler, HTTPServer)
from .registry import SharedServers
from .tls import ServerTLS
from .tls_properties import ServerTLSProperties

__all__ = ["HTTPServiceExporter", "HTTPSettings", "Host", "server_for"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HTTPSettings:
    """What must agree for two exporters to share one server."""

    tls: ServerTLS | None
    max_body_size: int
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_connections_per_peer: int = DEFAULT_MAX_CONNECTIONS_PER_PEER

    def __str__(self) -> str:
        return (f"{self.tls or 'plain HTTP'}, max_body_size={self.max_body_size}, "
                f"max_connections={self.max_connections}, max_connections_per_peer={self.max_connections_per_peer}")


class Host(Protocol):
    """Where a hosted exporter mounts its handler instead of on its own server."""

    def mount(self, exporter: "HTTPServiceExporter", handler: Handler, settings: HTTPSettings) -> None:
        """Serve ``handler`` at ``exporter.path``; a :class:`ConfigurationError` refuses it."""

    def unmount(self, exporter: "HTTPServiceExporter") -> None:
        """Stop serving ``exporter.path``."""


@dataclass
class _Shared:
    http: HTTPServer
    settings: HTTPSettings


_SERVERS: SharedServers[_Shared] = SharedServers("http", lambda shared: shared.http.port)


def server_for(settings: HTTPSettings, host: str, port: int, *, listener: socket.socket | None = None,
               close_timeout: float = DEFAULT_CLOSE_TIMEOUT) -> HTTPServer:
    """The (not yet started) server that serves exporters with ``settings``: their TLS,
    ``verify_fields`` checked on each client certificate, their size and connection
    caps; on ``listener`` when given, waiting up to ``close_timeout`` for the requests
    in flight when it closes (see :class:`HTTPServer`)."""
    tls = settings.tls
    return HTTPServer(
        host, port, ssl_context=tls.context() if tls else None,
        verify_peer=(lambda cert, address: tls.verify(cert)) if tls and tls.verify_fields else None,
        max_body_size=settings.max_body_size, max_connections=settings.max_connections,
        max_connections_per_peer=settings.max_connections_per_peer, logger=log, listener=listener,
        close_timeout=close_timeout,
    )


def _start(settings: HTTPSettings, host: str, port: int) -> _Shared:
    return _Shared(server_for(settings, host, port).start(), settings)


def _stop(shared: _Shared) -> None:
    shared.http.close()


class HTTPServiceExporter(ServerTLSProperties, ServiceExporter):
    """Serves ``service`` at ``http(s)://service_host:service_port/path``.

    With ``certfile`` (and ``keyfile``) it serves HTTPS; ``ca_certs`` requires
    clients to present a certificate signed by those CAs (unless ``cert_reqs``
    says otherwise), and ``verify_fields`` (a dict of RFC 3280 long names,
    ``<dict>`` in XML) checks its subject: the policy of :mod:`.tls`, checked and
    loaded by ``after_properties_set``, every mistake a :class:`ConfigurationError`
    (:class:`~springpython.remoting.tls_properties.ServerTLSProperties`).
    A request body over ``max_body_size`` bytes gets HTTP 413. The server keeps at
    most ``max_connections`` connections open, at most ``max_connections_per_peer``
    of them from one peer address; at a cap the longest-idle one is closed to make
    room, or the new one refused when none is idle.
    Subclasses build the request handler in :meth:`_endpoint`."""

    DEFAULT_PATH: ClassVar[str] = "/"

    path: str = DEFAULT_PATH
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_connections_per_peer: int = DEFAULT_MAX_CONNECTIONS_PER_PEER

    _shared: _Shared | None = state(None)
    _host: Host | None = state(None)

    def host_on(self, host: Host) -> None:
        """Serve through ``host`` (a WSGI or ASGI application) rather than an own server:
        :meth:`after_properties_set` then mounts the handler on it and binds no port."""
        self._host = host

    @property
    def _keeps_process_serving(self) -> bool:
        return self._host is None

    def _registered_url(self) -> str | None:
        """Hosted by a WSGI/ASGI server, each worker process would register the same
        address under its own lease: the server's owner registers it instead."""
        if self._host is not None:
            log.warning("%s: not registered in %r while hosted by a WSGI/ASGI server; "
                        "register the server's public address from the process that owns it",
                        self.service_name, self.registry)
            return None
        return self.service_url

    def _endpoint(self, settings: HTTPSettings) -> Handler:
        """The handler that answers requests on :attr:`path`."""
        raise NotImplementedError

    def _settings(self) -> HTTPSettings:
        """The checked settings; every misconfiguration is a :class:`ConfigurationError`."""
        name = type(self).__name__
        try:
            max_body = as_int("max_body_size", self.max_body_size)
            caps = {prop: as_int(prop, getattr(self, prop)) for prop in ("max_connections", "max_connections_per_peer")}
        except ValueError as exc:
            raise ConfigurationError(f"{name}: {exc}") from exc
        if max_body < 0:
            raise ConfigurationError(f"{name}: max_body_size must not be negative, got {self.max_body_size!r}")
        for prop, cap in caps.items():
            if cap < 1:
                raise ConfigurationError(f"{name}: {prop} must be at least 1, got {getattr(self, prop)!r}")
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise ConfigurationError(f"{name}: path must start with '/', got {self.path!r}")
        return HTTPSettings(self._server_tls(), max_body, caps["max_connections"], caps["max_connections_per_peer"])

    def _export(self) -> None:
        settings = self._settings()
        endpoint = self._endpoint(settings)
        if self._host is not None:
            self._host.mount(self, endpoint, settings)
            return
        shared = _SERVERS.acquire(
            self.service_host, int(self.service_port), lambda host, port: _start(settings, host, port)
        )
        try:
            if shared.settings != settings:
                raise ConfigurationError(
                    f"{type(self).__name__}: {self.service_host}:{shared.http.port} is already served with "
                    f"other TLS or size settings ({shared.settings}, not {settings}); "
                    "use another port or the same settings"
                )
            try:
                shared.http.mount(self.path, endpoint)
            except ValueError as exc:
                raise ConfigurationError(f"{type(self).__name__}: {exc}") from exc
        except BaseException:
            _SERVERS.release(shared, _stop)
            raise
        self._shared = shared

    def _unexport(self) -> None:
        if self._host is not None:
            self._host.unmount(self)
            return
        shared, self._shared = self._shared, None
        if shared is None:
            return
        try:
            shared.http.unmount(self.path)
        finally:
            _SERVERS.release(shared, _stop)

    @property
    def port(self) -> int:
        """The real port once exported (the configured one before)."""
        return self._shared.http.port if self._shared is not None else as_int("service_port", self.service_port)

    @property
    def service_url(self) -> str:
        scheme = "https" if self.certfile else "http"
        host = f"[{self.service_host}]" if ":" in str(self.service_host) else self.service_host
        port = self._shared.http.port if self._shared is not None else self.service_port
        return f"{scheme}://{host}:{port}{self.path}"
