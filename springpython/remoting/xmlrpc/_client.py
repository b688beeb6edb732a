"""The client side of XML-RPC over TLS: :class:`SSLClient` (the chapter's
``ServerProxy``) and the transport it uses."""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import urllib.parse
import xmlrpc.client
from typing import Any, Iterable

from .. import tls
from ._parser import SafeParser, getparser

__all__ = ["SSLClient", "SSLTransport", "Transport"]


class _TransportMixin:
    """What both transports add to the standard library's: responses parsed with
    :class:`SafeParser` (no DTDs, no entities); a kept-alive connection that the
    server closed while idle replaced before it is used; and at most one delivery.

    The standard library sends a request again whenever a kept-alive connection
    fails, even after the request went out, so a call the server ran could run
    twice. Here only a request that failed while it was being written (the server
    cannot have read all of it) is sent again, once, on a new connection, and only
    when ``retry_unsent`` is on (:class:`SSLClient`; the proxy factory beans decide
    for themselves from :attr:`request_sent`)."""

    _use_datetime: bool
    _use_builtin_types: bool
    _connection: tuple[Any, http.client.HTTPConnection | None]
    retry_unsent = False
    #: Whether the last request was handed to the network in full (it may have run).
    request_sent = False

    def getparser(self) -> tuple[SafeParser, xmlrpc.client.Unmarshaller]:
        return getparser(self._use_datetime, self._use_builtin_types)

    def _reusable(self, host: Any) -> http.client.HTTPConnection | None:
        cached_host, conn = self._connection
        if conn is None or host != cached_host:
            return None
        if conn.sock is not None and _closed_by_peer(conn.sock):
            conn.close()
            self._connection = (None, None)
            return None
        return conn

    def request(self, host: Any, handler: str, request_body: bytes, verbose: bool = False) -> Any:
        kept = self._connection[1]
        reused = kept is not None and kept.sock is not None
        try:
            return self.single_request(host, handler, request_body, verbose)
        except (OSError, http.client.HTTPException) as exc:
            if self.request_sent or not reused or not self.retry_unsent or isinstance(exc, TimeoutError):
                raise
        # The kept-alive connection broke while the request was being written: the
        # server cannot have read all of it, so it is sent once more on a new connection.
        return self.single_request(host, handler, request_body, verbose)

    def single_request(self, host: Any, handler: str, request_body: bytes, verbose: bool = False) -> Any:
        self.request_sent = False
        try:
            http_conn = self.send_request(host, handler, request_body, verbose)  # type: ignore[attr-defined]
            self.request_sent = True
            response = http_conn.getresponse()
            if response.status == 200:
                self.verbose = verbose
                return self.parse_response(response)  # type: ignore[attr-defined]
        except xmlrpc.client.Fault:
            raise
        except Exception:
            self.close()  # type: ignore[attr-defined]  # the connection's state is unknown
            raise
        if response.getheader("content-length", ""):
            response.read()
        raise xmlrpc.client.ProtocolError(host + handler, response.status, response.reason, dict(response.getheaders()))


def _closed_by_peer(sock: socket.socket) -> bool:
    """True if an idle connection has something to read: only EOF or a close_notify can be there."""
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class Transport(_TransportMixin, xmlrpc.client.Transport):
    """Plain-HTTP keep-alive transport with a timeout and the hardened parser."""

    def __init__(self, timeout: float | None = None, retry_unsent: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout
        self.retry_unsent = retry_unsent

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        if (conn := self._reusable(host)) is not None:
            return conn
        chost, self._extra_headers, _ = self.get_host_info(host)
        self._connection = host, http.client.HTTPConnection(chost, timeout=self.timeout)
        return self._connection[1]


class SSLTransport(_TransportMixin, xmlrpc.client.SafeTransport):
    """HTTPS keep-alive transport: one connection reused across calls, a timeout,
    and the hardened parser. Certificate and host-name checks come from ``context``."""

    def __init__(
        self, context: ssl.SSLContext, timeout: float | None = None, retry_unsent: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(context=context, **kwargs)
        self.timeout = timeout
        self.retry_unsent = retry_unsent

    def make_connection(self, host: Any) -> http.client.HTTPSConnection:
        if (conn := self._reusable(host)) is not None:
            return conn
        chost, self._extra_headers, _ = self.get_host_info(host)
        self._connection = host, http.client.HTTPSConnection(chost, timeout=self.timeout, context=self.context)
        return self._connection[1]


class SSLClient(xmlrpc.client.ServerProxy):
    """An ``xmlrpc.client.ServerProxy`` for ``https://`` URLs that checks the server.

    The server's certificate must be signed by a CA in ``ca_certs`` (the system's
    CAs without it) and, whenever it is verified, name the host of ``uri``.
    ``keyfile``/``certfile`` are the client's own key and certificate for servers
    that ask for one. The connection is kept alive between calls; ``close()`` (or
    ``client("close")()``, or leaving a ``with`` block) closes it. ``verbose=1``
    prints the HTTP traffic as the standard library does.

    ``ssl_version`` is accepted for compatibility and always means TLS 1.2 or
    newer; ``strict`` (Python 2 only) is accepted and ignored."""

    def __init__(
        self,
        uri: str | None = None,
        ca_certs: str | None = None,
        keyfile: str | None = None,
        certfile: str | None = None,
        cert_reqs: Any = ssl.CERT_REQUIRED,
        ssl_version: Any = None,
        transport: xmlrpc.client.Transport | None = None,
        encoding: str | None = None,
        verbose: bool | int = 0,
        allow_none: bool | int = 0,
        use_datetime: bool | int = 0,
        timeout: float | None | object = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
        strict: Any = None,
        *,
        use_builtin_types: bool = False,
        headers: Iterable[tuple[str, str]] = (),
        context: ssl.SSLContext | None = None,
    ) -> None:
        tls.check_ssl_version(ssl_version)
        if not uri:
            raise ValueError("SSLClient needs the server's URI, e.g. 'https://localhost:8000/RPC2'")
        scheme = urllib.parse.urlsplit(uri).scheme.lower()
        if scheme != "https":
            raise ValueError(f"SSLClient talks TLS only: expected an https:// URI, got {uri!r}")
        self.ca_certs, self.keyfile, self.certfile = ca_certs, keyfile, certfile
        self.cert_reqs = tls.parse_cert_reqs(cert_reqs)
        self.ssl_version = ssl_version
        self.context = context or tls.client_context(ca_certs, certfile, keyfile, self.cert_reqs)
        if transport is None:
            transport = SSLTransport(
                self.context, timeout=timeout, retry_unsent=True, use_datetime=bool(use_datetime),
                use_builtin_types=use_builtin_types, headers=list(headers),
            )
        super().__init__(
            uri, transport=transport, encoding=encoding, verbose=bool(verbose),
            allow_none=bool(allow_none), use_datetime=bool(use_datetime), use_builtin_types=use_builtin_types,
        )

    def close(self) -> None:
        """Close the kept-alive connection (the next call opens a new one)."""
        self("close")()
