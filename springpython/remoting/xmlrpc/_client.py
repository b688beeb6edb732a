"""The client side of XML-RPC: reading a ``<methodResponse>`` (shared by
:class:`~springpython.remoting.xmlrpc.XMLRPCProxyFactory` and :class:`SSLClient`), and
:class:`SSLClient`, the chapter's ``ServerProxy``, whose transport is the shared HTTP
client (:mod:`springpython.remoting.http_client`)."""

from __future__ import annotations

import functools
import re
import socket
import ssl
import threading
import urllib.parse
import xmlrpc.client
from typing import Any, Iterable, Mapping

from ...errors import ConfigurationError, ConnectFailedError, ProtocolError, RemoteFault
from .. import failures, faults, tls, tracing
from ..http_client import HTTPConnection, HTTPEndpoint, parse_url
from ..http_wire import Response
from ._parser import MALFORMED_ERRORS, UnsafeXMLError, getparser

__all__ = ["SSLClient", "SSLClientTransport", "reply_values", "CONTENT_TYPE"]

CONTENT_TYPE = "text/xml"
RPC_SYSTEM = "xmlrpc"  # rpc.system of the spans (springpython.remoting.tracing)
USER_AGENT = "springpython-xmlrpc"

# What a malformed answer raises inside the standard library's unmarshaller.
_MALFORMED = (UnsafeXMLError, *MALFORMED_ERRORS)
_METHOD_NAME = re.compile(rb"<methodName>([^<]{1,200})</methodName>")


def reply_values(
    response: Response,
    url: str,
    method: str | None,
    *,
    use_builtin_types: bool = True,
    use_datetime: bool = False,
    max_size: int,
) -> tuple[Any, ...]:
    """The values of a successful reply. Raises :class:`xmlrpc.client.Fault` for a
    ``<fault>`` (the caller maps it), :func:`~springpython.remoting.failures.http_status`'s
    error for a status other than 200, and :class:`~springpython.errors.ProtocolError`
    for a malformed or DTD-carrying answer."""
    if response.status != 200:
        raise failures.http_status(url, method, response)
    body = response.body
    call = f"{method}()" if method else "the call"
    try:
        if (response.header("content-encoding") or "").lower() == "gzip":
            body = xmlrpc.client.gzip_decode(body, max_decode=max_size)
        parser, unmarshaller = getparser(use_datetime, use_builtin_types)
        parser.feed(body)
        parser.close()
        return unmarshaller.close()
    except xmlrpc.client.Fault:
        raise
    except _MALFORMED as exc:
        raise ProtocolError(f"{url}: malformed answer to {call}: {exc!r}") from exc


def _method_name(request: bytes) -> str | None:
    match = _METHOD_NAME.search(request, 0, 512)
    return match.group(1).decode("utf-8", "replace") if match else None


@functools.lru_cache(maxsize=None)
def _fault_class(cls: type[RemoteFault]) -> type[RemoteFault]:
    """A class that is both ``cls`` (the contract's exception) and ``xmlrpc.client.Fault``
    (made once per class); it prints as a ``Fault`` does (``<RemoteKeyError 1: '...'>``)."""
    namespace = {"__module__": __name__, "__qualname__": cls.__name__, "__str__": xmlrpc.client.Fault.__str__,
                 "__repr__": xmlrpc.client.Fault.__repr__}
    return type(cls.__name__, (cls, xmlrpc.client.Fault), namespace)


def as_fault(fault: xmlrpc.client.Fault, method: str | None, url: str) -> RemoteFault:
    """The contract's exception for ``fault`` that is also an ``xmlrpc.client.Fault``
    with the same ``faultCode`` and ``faultString``: code written for ``ServerProxy``
    (``except Fault``) and code written for the contract (``except ZeroDivisionError``)
    both catch it."""
    exc = faults.to_exception(faults.from_xmlrpc(fault.faultCode, fault.faultString), method=method, where=url)
    cls = _fault_class(type(exc))  # type: ignore[arg-type]  # classes are hashable (python/mypy#11470)
    dual = cls.__new__(cls, *exc.args)
    dual.__dict__.update(exc.__dict__, faultCode=fault.faultCode, faultString=fault.faultString)
    dual.args = exc.args
    return dual


class HTTPStatusFault(RemoteFault, xmlrpc.client.ProtocolError):
    """An HTTP error status from an XML-RPC server, raised by :class:`SSLClient`: a
    :class:`~springpython.errors.RemoteFault` whose ``code`` is the status, and the
    :class:`xmlrpc.client.ProtocolError` (``errcode``, ``errmsg``, ``headers``) that
    ``ServerProxy`` users expect."""

    def __init__(self, message: str, *, url: str, status: int, reason: str, headers: Mapping[str, str]) -> None:
        Exception.__init__(self, message)  # RemoteFault's fields set here: ProtocolError's __init__ wants others
        self.message = message
        self.remote_type = None
        self.remote_traceback = None
        self.code = status
        self.detail = None
        self.url = url
        self.errcode = status
        self.errmsg = reason
        self.headers = dict(headers)

    def __repr__(self) -> str:
        return f"<HTTPStatusFault for {self.url}: {self.errcode} {self.errmsg}>"


class SSLClientTransport(xmlrpc.client.Transport):
    """The transport of :class:`SSLClient`: one kept-alive
    :class:`~springpython.remoting.http_client.HTTPConnection` per calling thread to
    the endpoint the client was made for. A call that could not be written on a kept
    connection is sent once more on a new one; a call that went out is never resent."""

    def __init__(self, endpoint: HTTPEndpoint, use_datetime: bool = False, use_builtin_types: bool = False) -> None:
        super().__init__(use_datetime=use_datetime, use_builtin_types=use_builtin_types)
        self.endpoint = endpoint
        self._local = threading.local()
        # Every thread's connection, by thread, so that close() reaches them all and
        # those of threads that ended are closed when a new one is made.
        self._opened: dict[threading.Thread, HTTPConnection] = {}
        self._lock = threading.Lock()
        self._span_target: tracing.Target | None = None

    def connection(self) -> HTTPConnection:
        """The calling thread's connection (made on first use; it connects lazily)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = HTTPConnection(self.endpoint)
            with self._lock:
                ended = [thread for thread in self._opened if not thread.is_alive()]
                stale = [self._opened.pop(thread) for thread in ended]
                self._opened[threading.current_thread()] = conn
            for old in stale:
                old.close()
        return conn

    def request(self, host: Any, handler: Any, request_body: Any, verbose: bool = False) -> tuple[Any, ...]:
        method = _method_name(request_body)
        if not tracing.active():
            return self._request(method, request_body, verbose)
        target = self._span_target
        if target is None:
            url = parse_url(self.endpoint.url)
            target = self._span_target = tracing.Target.for_http(RPC_SYSTEM, url.host, url.effective_port, url.path)
        with tracing.client_span(target, method or "unknown"):
            return self._request(method, request_body, verbose)

    def _request(self, method: str | None, request_body: Any, verbose: bool) -> tuple[Any, ...]:
        conn = self.connection()
        url = self.endpoint.url
        headers = tracing.http_headers()
        if verbose:
            _trace_request(conn.request_bytes(request_body))
        reused = conn.connected
        try:
            response = conn.exchange(request_body, method, headers)
        except ConnectFailedError:
            if not reused:
                raise
            response = conn.exchange(request_body, method, headers)  # not delivered: once more, on a new connection
        if verbose:
            _trace_response(response)
        if response.status != 200:
            error = failures.http_status(url, method, response)
            if isinstance(error, RemoteFault):
                raise HTTPStatusFault(str(error), url=url, status=response.status, reason=response.reason,
                                      headers=response.headers)
            raise error
        try:
            return reply_values(response, url, method, use_builtin_types=self._use_builtin_types,
                                use_datetime=self._use_datetime, max_size=self.endpoint.max_reply)
        except xmlrpc.client.Fault as fault:
            raise as_fault(fault, method, url) from None
        except ProtocolError:
            conn.close()
            raise

    def close(self) -> None:
        """Close every thread's connection (the next call opens a new one)."""
        with self._lock:
            conns, self._opened = list(self._opened.values()), {}
        self._local = threading.local()
        for conn in conns:
            conn.close()


def _trace_request(data: bytes) -> None:
    # ``verbose`` is the chapter's (and ServerProxy's) switch to print the traffic, in
    # the standard library's format: the head, then the body.
    head, _, body = data.partition(b"\r\n\r\n")
    print("send:", repr(head + b"\r\n\r\n"))
    print("send:", repr(body))


def _trace_response(response: Response) -> None:
    print("reply:", repr(f"HTTP/{response.version} {response.status} {response.reason}\r\n"))
    for name, value in response.headers.items():
        print("header:", f"{name}: {value}")


class SSLClient(xmlrpc.client.ServerProxy):
    """An ``xmlrpc.client.ServerProxy`` for ``https://`` URLs that checks the server.

    The server's certificate must be signed by a CA in ``ca_certs`` (the system's
    CAs without it) and, whenever it is verified, name the host of ``uri``.
    ``keyfile``/``certfile`` are the client's own key and certificate for servers
    that ask for one. Each calling thread keeps one connection alive between calls;
    ``close()`` (or ``client("close")()``, or leaving a ``with`` block) closes them.
    ``verbose=1`` prints the HTTP traffic as the standard library does.

    Errors: a fault raised by the service is an exception that is both an
    :class:`xmlrpc.client.Fault` (``faultCode``, ``faultString``) and the remoting
    contract's (:mod:`springpython.remoting.faults`: a
    :class:`~springpython.errors.RemoteFault`, also ``ZeroDivisionError`` when the
    service raised that, :class:`~springpython.errors.NoSuchMethodError` for an
    unknown method); an HTTP error status is :class:`HTTPStatusFault`, both
    ``RemoteFault`` and :class:`xmlrpc.client.ProtocolError`; transport failures are
    :mod:`springpython.remoting.failures`' ``ConnectFailedError`` (not sent, also a
    refused client certificate or an untrusted server), ``ConnectionLostError``,
    ``CallTimeoutError`` (a ``TimeoutError``), all of them ``OSError``.

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
        try:
            url = parse_url(uri, "uri")
        except ConfigurationError as exc:
            raise ValueError(exc.reason) from None
        self.ca_certs, self.keyfile, self.certfile = ca_certs, keyfile, certfile
        self.cert_reqs = tls.parse_cert_reqs(cert_reqs)
        self.ssl_version = ssl_version
        self.context = context or tls.client_context(ca_certs, certfile, keyfile, self.cert_reqs)
        if transport is None:
            if timeout is socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                timeout = socket.getdefaulttimeout()
            credentials = (url.username, url.password or "") if url.username is not None else None
            endpoint = HTTPEndpoint(url, content_type=CONTENT_TYPE, user_agent=USER_AGENT, tls=self.context,
                                    timeout=timeout, credentials=credentials,  # type: ignore[arg-type]
                                    headers=list(headers))
            transport = SSLClientTransport(endpoint, bool(use_datetime), use_builtin_types)
        super().__init__(
            uri, transport=transport, encoding=encoding, verbose=bool(verbose),
            allow_none=bool(allow_none), use_datetime=bool(use_datetime), use_builtin_types=use_builtin_types,
        )

    def close(self) -> None:
        """Close the kept-alive connections (the next call opens a new one)."""
        self("close")()
