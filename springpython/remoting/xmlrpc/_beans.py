"""XML-RPC by configuration: an exporter that publishes every public method of a
plain object, and the proxy factory that calls it."""

from __future__ import annotations

import logging
import xmlrpc.client
from typing import Any, ClassVar
from xmlrpc.server import SimpleXMLRPCDispatcher

from ...errors import ConfigurationError
from ...errors import ProtocolError as WireProtocolError
from .. import faults, tracing
from .._values import as_bool
from ..api_description import DESCRIBE_METHOD, describe_service
from ..api_page import APIPage
from ..exposure import describe
from ..http_client import HTTPConnection
from ..http_exporter import HTTPServiceExporter, HTTPSettings
from ..http_proxy import HTTPProxyFactory
from ._client import CONTENT_TYPE, RPC_SYSTEM, USER_AGENT, reply_values
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

    DEFAULT_PORT: ClassVar[int] = DEFAULT_PORT
    DEFAULT_PATH: ClassVar[str] = DEFAULT_PATH
    TRANSPORT: ClassVar[str | None] = "xmlrpc"

    service_port: int = DEFAULT_PORT
    path: str = DEFAULT_PATH
    allow_none: bool = True

    def _endpoint(self, settings: HTTPSettings) -> XMLRPCEndpoint:
        try:
            allow_none = as_bool("allow_none", self.allow_none)
        except ValueError as exc:
            raise ConfigurationError(f"{type(self).__name__}: {exc}") from None
        dispatcher = SimpleXMLRPCDispatcher(allow_none=allow_none, encoding="utf-8", use_builtin_types=True)
        for name, method in describe(self.service).methods.items():
            dispatcher.register_function(method, name)
        dispatcher.register_introspection_functions()
        page = APIPage(describe_service(self.service), "XML-RPC")
        dispatcher.register_function(page.description.to_dict, DESCRIBE_METHOD)
        return XMLRPCEndpoint(dispatcher, logger=log, max_body_size=settings.max_body_size, page=page)


class XMLRPCProxyFactory(HTTPProxyFactory[bool]):
    """Looks like the service at ``service_url`` (``http://`` or ``https://``).

    Properties: those of :class:`~springpython.remoting.http_proxy.HTTPProxyFactory`
    (``timeout``: none by default) and ``allow_none`` (default true: ``None`` travels
    as ``<nil/>``). Over HTTPS the server's certificate is checked against
    ``ca_certs`` (the system CAs without it) together with the host name;
    ``keyfile``/``certfile`` are the client's own for servers that require one. Each
    thread keeps one keep-alive connection. Every property is checked by
    ``after_properties_set``, so a bad URL fails the context start.

    Errors follow the remoting contract (:mod:`springpython.remoting.faults`): a fault
    is a :class:`~springpython.errors.RemoteFault` carrying ``faultCode`` as ``code``;
    when its ``faultString`` names a builtin exception (``builtins.KeyError:...``, or
    the standard library's ``<class 'KeyError'>:...``) it is also that builtin, so
    ``except KeyError`` works; an unknown method is
    :class:`~springpython.errors.NoSuchMethodError`. Transport failures are those of
    :mod:`springpython.remoting.failures`: ``ConnectFailedError`` (never sent),
    ``ConnectionLostError`` (sent, so it may have run: never sent again),
    ``CallTimeoutError``, ``ProtocolError`` (a malformed or DTD-carrying answer); an
    HTTP error status is a ``RemoteFault`` with the status as ``code``."""

    CONTENT_TYPE: ClassVar[str] = CONTENT_TYPE
    USER_AGENT: ClassVar[str] = USER_AGENT
    RPC_SYSTEM: ClassVar[str] = RPC_SYSTEM

    allow_none: bool = True

    def _settings(self) -> bool:
        return as_bool("allow_none", self.allow_none)

    def _invoke(self, conn: HTTPConnection, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs:
            raise TypeError(f"XML-RPC calls take positional arguments only; {name}() got {sorted(kwargs)}")
        endpoint, allow_none = self._target()
        request = xmlrpc.client.dumps(args, name, encoding="utf-8", allow_none=allow_none).encode("utf-8")
        response = conn.exchange(request, name, tracing.http_headers())
        try:
            result = reply_values(response, endpoint.url, name, max_size=endpoint.max_reply)
        except xmlrpc.client.Fault as fault:
            raise self._fault(faults.from_xmlrpc(fault.faultCode, fault.faultString), name) from None
        except WireProtocolError:
            conn.close()  # the rest of that answer cannot be trusted to frame the next one
            raise
        return result[0] if len(result) == 1 else result
