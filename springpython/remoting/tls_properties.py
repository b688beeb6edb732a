"""The TLS properties of the beans, declared once: :class:`ServerTLSProperties` for
every exporter that speaks TLS, :class:`ClientTLSProperties` for every proxy factory.

A bean lists a mixin before its transport base (``class X(ServerTLSProperties,
ServiceExporter)``), so the chapter's properties keep their positions and the TLS
properties follow them. The values are read by the one TLS policy
(:mod:`springpython.remoting.tls`); text from XML is accepted there, the annotations
say what a Python caller passes."""

from __future__ import annotations

import os
import ssl
from typing import Literal, Mapping, TypeAlias

from ..context.properties import DeclaredProperties
from .tls import ClientTLS, ServerTLS

__all__ = [
    "ServerTLSProperties",
    "ClientTLSProperties",
    "SERVER_TLS_PROPERTIES",
    "CLIENT_TLS_PROPERTIES",
    "CertReqs",
    "PathText",
]

#: A file path property: text or a path object.
PathText: TypeAlias = "str | os.PathLike[str]"
#: ``cert_reqs``: an ``ssl.CERT_*`` constant or its name.
CertReqs: TypeAlias = 'ssl.VerifyMode | Literal["CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED"]'


class ServerTLSProperties(DeclaredProperties):
    """An exporter's TLS properties; TLS is on when ``certfile`` is set."""

    certfile: PathText | None = None
    keyfile: PathText | None = None
    ca_certs: PathText | None = None
    cert_reqs: CertReqs | None = None
    verify_fields: Mapping[str, str] | None = None

    def _server_tls(self) -> ServerTLS | None:
        """The checked settings (``None``: plain TCP); every mistake a ConfigurationError."""
        return ServerTLS.from_properties(
            certfile=self.certfile, keyfile=self.keyfile, ca_certs=self.ca_certs, cert_reqs=self.cert_reqs,
            verify_fields=self.verify_fields, owner=type(self).__name__,
        )


class ClientTLSProperties(DeclaredProperties):
    """A proxy factory's TLS properties; ``check_hostname`` unset means true."""

    certfile: PathText | None = None
    keyfile: PathText | None = None
    ca_certs: PathText | None = None
    cert_reqs: CertReqs | None = None
    check_hostname: bool | None = None
    verify_fields: Mapping[str, str] | None = None

    def _client_tls(self, required: bool) -> ClientTLS | None:
        """The checked settings; ``None`` when no TLS property is set and TLS is not
        ``required`` (an ``https`` URL requires it). Every mistake a ConfigurationError."""
        return ClientTLS.from_properties(
            certfile=self.certfile, keyfile=self.keyfile, ca_certs=self.ca_certs, cert_reqs=self.cert_reqs,
            check_hostname=self.check_hostname, verify_fields=self.verify_fields, owner=type(self).__name__,
            required=required,
        )


#: The property names of each set, in declaration order.
SERVER_TLS_PROPERTIES: tuple[str, ...] = ServerTLSProperties.__sp_properties__
CLIENT_TLS_PROPERTIES: tuple[str, ...] = ClientTLSProperties.__sp_properties__
