"""XML-RPC by configuration: an exporter that publishes every public method of a
plain object, and the proxy factory that calls it."""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import urllib.parse
import xmlrpc.client
from typing import Any
from xml.parsers.expat import ExpatError
from xmlrpc.server import SimpleXMLRPCDispatcher

from ...errors import (
    CallTimeoutError,
    ConfigurationError,
    ConnectFailedError,
    ConnectionLostError,
    ExportError,
    RemoteFault,
)
from ...errors import ProtocolError as WireProtocolError
from .. import tls
from .._values import as_bool, as_float
from ..exposure import describe
from ..http_exporter import HTTPServiceExporter, HTTPSettings
from ..proxy import RemoteProxy
from ._client import SSLTransport, Transport
from ._parser import UnsafeXMLError
from ._server import XMLRPCEndpoint

__all__ = ["XMLRPCServiceExporter", "XMLRPCProxyFactory"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 8000
DEFAULT_PATH = "/RPC2"


class XMLRPCServiceExporter(HTTPServiceExporter):
    """Exports every public method of ``service`` over XML-RPC at ``path``.

    With ``certfile`` (and ``keyfile``) it serves HTTPS; ``ca_certs`` with
    ``cert_reqs`` ``CERT_REQUIRED`` asks clients for a certificate signed by those
    CAs, and ``verify_fields`` (a dict of RFC 3280 long names, ``<dict>`` in XML)
    checks its subject. Without ``certfile`` it serves plain HTTP. Exporters on the
    same host and port share one server (each on its own ``path``) provided their TLS
    settings agree. Properties and ``_`` names are never reachable."""

    DEFAULT_PORT = DEFAULT_PORT
    DEFAULT_PATH = DEFAULT_PATH

    path: str = DEFAULT_PATH
    allow_none: Any = True

    def _endpoint(self, settings: HTTPSettings) -> XMLRPCEndpoint:
        try:
            allow_none = as_bool("allow_none", self.allow_none)
        except ValueError as exc:
            raise ExportError(f"{type(self).__name__}: {exc}") from None
        dispatcher = SimpleXMLRPCDispatcher(allow_none=allow_none, encoding="utf-8", use_builtin_types=True)
        for name, method in describe(self.service).methods.items():
            dispatcher.register_function(method, name)
        dispatcher.register_introspection_functions()
        return XMLRPCEndpoint(dispatcher, logger=log, max_body_size=settings.max_body_size)


class XMLRPCProxyFactory(RemoteProxy):
    """Looks like the service at ``service_url`` (``http://`` or ``https://``).

    Over HTTPS the server's certificate is checked against ``ca_certs`` (the system
    CAs without it) together with the host name; ``keyfile``/``certfile`` are the
    client's own for servers that require one. Each thread keeps one keep-alive
    connection. ``timeout`` (seconds, none by default) bounds connect and each
    answer. A fault raised by the service arrives as :class:`xmlrpc.client.Fault`
    — the exception every XML-RPC caller already handles, with ``faultCode`` and
    ``faultString`` intact, so code written against ``ServerProxy`` keeps working
    (XML-RPC faults carry no exception type to map to a local one). Transport
    failures arrive as :class:`~springpython.errors.CommunicationError` subclasses:
    ``ConnectFailedError`` (never sent), ``ConnectionLostError`` (sent, so it may
    have run: never sent again), ``CallTimeoutError``, ``ProtocolError`` (a
    malformed or DTD-carrying answer);
    an HTTP error status as :class:`~springpython.errors.RemoteFault` with the
    status as ``code``."""

    ca_certs: str | None = None
    keyfile: str | None = None
    certfile: str | None = None
    cert_reqs: Any = ssl.CERT_REQUIRED
    timeout: Any = None
    allow_none: Any = True

    def _target(self) -> tuple[str, str, str]:
        url = self.service_url
        if not url or not isinstance(url, str):
            raise ConfigurationError(f"{type(self).__name__}: service_url is not set")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"{type(self).__name__}: service_url must be http://host:port/path or https://..., got {url!r}"
            )
        try:
            parts.port
        except ValueError as exc:
            raise ConfigurationError(f"{type(self).__name__}: bad port in service_url {url!r}") from exc
        return parts.scheme, parts.netloc, parts.path or "/"

    def _open(self) -> Any:
        scheme, _, _ = self._target()
        try:
            timeout = as_float("timeout", self.timeout)
            as_bool("allow_none", self.allow_none)
        except ValueError as exc:
            raise ConfigurationError(f"{type(self).__name__}: {exc}") from None
        if scheme == "https":
            context = tls.client_context(self.ca_certs, self.certfile, self.keyfile, self.cert_reqs)
            return SSLTransport(context, timeout=timeout, use_builtin_types=True)
        if self.certfile or self.keyfile or self.ca_certs:
            raise ConfigurationError(
                f"{type(self).__name__}: ca_certs/keyfile/certfile given but service_url {self.service_url!r} "
                "is not https://"
            )
        return Transport(timeout=timeout, use_builtin_types=True)

    def _invoke(self, conn: Any, name: str, args: tuple, kwargs: dict) -> Any:
        if kwargs:
            raise TypeError(f"XML-RPC calls take positional arguments only; {name}() got {sorted(kwargs)}")
        _, netloc, path = self._target()
        request = xmlrpc.client.dumps(args, name, encoding="utf-8", allow_none=as_bool("allow_none", self.allow_none))
        kept = conn._connection[1]
        if kept is None or kept.sock is None:
            # Connect first, so that a failure here (refused, unreachable, timed out,
            # certificate refused) is known to have sent nothing.
            try:
                conn.make_connection(netloc).connect()
            except OSError as exc:
                conn.close()
                raise ConnectFailedError(f"{self.service_url}: cannot connect: {exc}") from exc
        try:
            result = conn.request(netloc, path, request.encode("utf-8"))
        except xmlrpc.client.Fault:
            raise
        except (ExpatError, xmlrpc.client.ResponseError, UnsafeXMLError) as exc:
            conn.close()  # the rest of that answer cannot be trusted to frame the next one
            raise WireProtocolError(f"{self.service_url}: malformed answer to {name}(): {exc}") from exc
        except xmlrpc.client.ProtocolError as exc:
            raise RemoteFault(
                f"{self.service_url}: HTTP {exc.errcode} {exc.errmsg} calling {name}()", code=exc.errcode
            ) from exc
        except socket.timeout as exc:
            raise CallTimeoutError(f"{self.service_url}: no answer to {name}() within {self.timeout}s") from exc
        except (ConnectionRefusedError, socket.gaierror, ssl.SSLCertVerificationError) as exc:
            raise ConnectFailedError(f"{self.service_url}: cannot connect: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            if not conn.request_sent:  # it broke before the whole request was out: the server did not run it
                raise ConnectFailedError(f"{self.service_url}: cannot send {name}(): {exc}") from exc
            raise ConnectionLostError(
                f"{self.service_url}: connection lost calling {name}() (it may have run): {exc}"
            ) from exc
        return result[0] if len(result) == 1 else result

    def _close(self, conn: Any) -> None:
        conn.close()
