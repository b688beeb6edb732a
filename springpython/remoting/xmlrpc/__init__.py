"""XML-RPC, secure by default: :class:`SSLServer` and :class:`SSLClient` as the
reference chapter documents them (TLS 1.2 or newer, certificate and host-name checks,
client certificates with field checks), and the beans :class:`XMLRPCServiceExporter`
and :class:`XMLRPCProxyFactory` that need no subclassing.

Wire format: XML-RPC (``<methodCall>``/``<methodResponse>``) POSTed over HTTP/1.1
with keep-alive. A body with a DTD or entity declaration is refused with fault
``-32600``, one that is not well-formed with ``-32700``; a call that raises comes
back as fault ``1`` with ``module.Type:message``, as from the standard library."""

from ...errors import VerificationException
from ._beans import AsyncXMLRPCProxyFactory, XMLRPCProxyFactory, XMLRPCServiceExporter
from ._client import SSLClient
from ._server import SSLServer

__all__ = ["SSLServer", "SSLClient", "VerificationException", "XMLRPCServiceExporter", "XMLRPCProxyFactory",
           "AsyncXMLRPCProxyFactory"]
