"""The server side of XML-RPC: the request endpoint mounted on the shared HTTP
server, and :class:`SSLServer` with the reference chapter's API."""

from __future__ import annotations

import logging
import ssl
import threading
import xmlrpc.client
from typing import Any, Callable, ContextManager
from xmlrpc.server import SimpleXMLRPCDispatcher

from ...errors import ConfigurationError
from .. import faults, tls, tracing
from ..api_description import DESCRIBE_METHOD
from ..api_page import APIPage
from ..http import DEFAULT_MAX_BODY_SIZE, HTTPServer, Request, Response
from ..invocation import Call, ServiceLoop, Steps, is_async, run_steps
from ._client import RPC_SYSTEM
from ._parser import MalformedCallError, UnsafeXMLError, loads_call

__all__ = ["SSLServer", "XMLRPCEndpoint", "PARSE_ERROR", "INVALID_REQUEST"]

log = logging.getLogger(__name__)

# Fault codes of the "specification for fault code interoperability".
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = faults.XMLRPC_METHOD_NOT_FOUND
APPLICATION_ERROR = faults.XMLRPC_APPLICATION_ERROR  # what the standard library's servers send for a failed call


class XMLRPCEndpoint:
    """Turns HTTP POSTs into calls on a :class:`SimpleXMLRPCDispatcher`.

    A body that is not well-formed XML-RPC (or carries a DTD) gets a fault
    (``-32700``/``-32600``) in a 200 response, so the connection stays usable.
    With a ``page`` (:class:`~springpython.remoting.api_page.APIPage`), a GET gets
    the API page; without one, any method but POST gets 405. An ``async def``
    function runs on ``loop`` (:mod:`springpython.remoting.invocation`)."""

    def __init__(
        self,
        dispatcher: SimpleXMLRPCDispatcher,
        *,
        logger: logging.Logger | None = None,
        log_requests: Callable[[], bool] = lambda: False,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        page: APIPage | None = None,
        loop: ServiceLoop | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.page = page
        self.log = logger or log
        self._log_requests = log_requests
        self.max_body_size = max_body_size
        self.loop = loop or ServiceLoop("XML-RPC")
        #: Whether some function is ``async def`` (an ASGI server then awaits it on its loop).
        self.any_async = any(is_async(function) for function in dispatcher.funcs.values())

    def __call__(self, request: Request) -> Response:
        return run_steps(self.steps(request), self.loop)

    def steps(self, request: Request) -> Steps[Response]:
        """The handling of ``request``, yielding the one service call it makes."""
        response = yield from self._handle(request)
        if self._log_requests():
            self.log.info('%s - - "%s %s %s" %s %s', request.client_address[0], request.method,
                          request.path, request.version, response.status, len(response.body))
        return response

    def _handle(self, request: Request) -> Steps[Response]:
        if request.method != "POST":
            if self.page is not None:
                return self.page.answer(request)
            return Response(405, b"XML-RPC requests must be POSTed\n", headers=[("Allow", "POST")])
        body = request.body
        encoding = (request.header("content-encoding") or "identity").strip().lower()
        if encoding == "gzip":
            try:
                body = xmlrpc.client.gzip_decode(body, max_decode=self.max_body_size)
            except ValueError as exc:
                return Response(400, f"cannot decode the gzip request body: {exc}\n".encode())
        elif encoding != "identity":
            return Response(415, f"unsupported Content-Encoding {encoding!r}\n".encode())
        spans = tracing.request_spans(RPC_SYSTEM, request.path, request.headers, request.client_address)
        reply = yield from dispatch(self.dispatcher, body, request.path, self.log, spans)
        return Response(200, reply, "text/xml")


def dispatch(dispatcher: SimpleXMLRPCDispatcher, data: bytes, path: str | None, logger: logging.Logger,
             spans: Callable[[str], ContextManager[Any]] | None = None) -> Steps[bytes]:
    """Parse one ``<methodCall>``, run it (the one :class:`~..invocation.Call` these
    steps yield), and marshal the result or the fault; ``spans``
    (:func:`springpython.remoting.tracing.request_spans`) makes the span the method
    runs in.

    Faults follow :mod:`springpython.remoting.faults`: a method that is not registered
    is ``-32601``; anything the method raises (``SystemExit`` and ``KeyboardInterrupt``
    included) is fault ``1`` with ``module.Class:message``, as the standard library's
    servers write it, and the worker goes on serving."""
    allow_none, encoding = dispatcher.allow_none, dispatcher.encoding or "utf-8"
    try:
        try:
            params, method = loads_call(data, getattr(dispatcher, "use_builtin_types", False))
        except UnsafeXMLError as exc:
            raise xmlrpc.client.Fault(INVALID_REQUEST, f"invalid request: {exc}") from None
        except MalformedCallError as exc:
            raise xmlrpc.client.Fault(PARSE_ERROR, f"parse error: not a well-formed XML-RPC call: {exc}") from None
        if not method:
            raise xmlrpc.client.Fault(INVALID_REQUEST, "invalid request: no methodName")
        if method not in dispatcher.funcs and dispatcher.instance is None:
            raise xmlrpc.client.Fault(METHOD_NOT_FOUND, f"the service has no method named {method!r}")
        try:
            with spans(method) if spans is not None and method != DESCRIBE_METHOD else tracing.NO_SPAN:
                function = dispatcher.funcs.get(method) if _plain_dispatch(dispatcher) else None
                if function is not None:
                    result = yield Call(function, tuple(params))
                else:  # a registered instance: the stdlib's look-up (and its _dispatch hook)
                    result = yield Call(dispatcher._dispatch, (method, params))
        except xmlrpc.client.Fault:
            raise
        except BaseException as exc:  # the caller gets the failure as a fault, like the stdlib server
            faults.log_service_exception(logger, path or "XML-RPC", method, exc)
            raise xmlrpc.client.Fault(*faults.xmlrpc_fault(faults.describe(exc))) from None
        out = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=allow_none, encoding=encoding)
    except xmlrpc.client.Fault as fault:
        out = xmlrpc.client.dumps(fault, allow_none=allow_none, encoding=encoding)
    except Exception as exc:  # the result cannot be marshalled
        logger.warning("XML-RPC answer on %s cannot be marshalled: %s", path, exc)
        unmarshallable = xmlrpc.client.Fault(*faults.xmlrpc_fault(faults.describe(exc)))
        out = xmlrpc.client.dumps(unmarshallable, allow_none=allow_none, encoding=encoding)
    return out.encode(encoding, "xmlcharrefreplace")


def _plain_dispatch(dispatcher: SimpleXMLRPCDispatcher) -> bool:
    """Whether ``dispatcher`` looks functions up as the standard library does (a
    subclass may override ``_dispatch``; its override is then called instead)."""
    return type(dispatcher)._dispatch is SimpleXMLRPCDispatcher._dispatch


class SSLServer(SimpleXMLRPCDispatcher):
    """An XML-RPC server over TLS with the API of ``SimpleXMLRPCServer``.

    Subclass it, override :meth:`register_functions` (called by the constructor) and
    call :meth:`serve_forever`. It has the dispatcher half of
    ``xmlrpc.server.SimpleXMLRPCServer`` (``register_function``,
    ``register_instance``, ``register_introspection_functions``,
    ``register_multicall_functions``) and its lifecycle (``serve_forever``,
    ``shutdown``, ``server_close``, ``server_address``, context manager), but serves
    through springpython's HTTP/1.1 server — keep-alive, a worker pool, the TLS
    handshake off the accept loop — rather than ``socketserver``, so it is not an
    instance of ``SimpleXMLRPCServer``.

    The constructor binds the port; ``serve_forever()`` (or :meth:`start`, which
    returns at once) begins serving. Messages go to ``self.logger``, the logger named
    after the class (``logging.getLogger("MySSLServer")`` for a subclass
    ``MySSLServer``): refused clients at WARNING as ``refused client HOST:PORT:
    reason``, each client's certificate and address at DEBUG, and with
    ``log_requests`` one access-log line per request at INFO.

    The TLS arguments are checked and their files loaded by
    :meth:`ServerTLS.from_properties <springpython.remoting.tls.ServerTLS.from_properties>`:
    any mistake, a missing file or a key that does not match its certificate is a
    :class:`~springpython.errors.ConfigurationError`, before the port is bound.
    ``cert_reqs`` keeps the chapter's default ``CERT_NONE`` (``None`` means the
    exporters' default: ``CERT_REQUIRED`` when ``ca_certs`` is given).

    ``ssl_version`` is accepted for compatibility and always means TLS 1.2 or newer;
    ``do_handshake_on_connect`` and ``suppress_ragged_eofs`` are accepted and
    ignored (the handshake always runs without blocking, under a timeout). Besides
    ``verify_fields``, ``**kwargs`` takes the stdlib server's ``allow_none``,
    ``encoding`` and ``use_builtin_types``, and the HTTP server's ``max_body_size``,
    ``max_workers``, ``max_connections``, ``max_connections_per_peer``,
    ``handshake_timeout``, ``idle_timeout`` and ``request_timeout``. Calls are answered at ``rpc_paths`` (``/`` and ``/RPC2``,
    as the stdlib's request handler does)."""

    rpc_paths: tuple[str, ...] = ("/", "/RPC2")

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        keyfile: str | None = None,
        certfile: str | None = None,
        ca_certs: str | None = None,
        cert_reqs: Any = ssl.CERT_NONE,
        ssl_version: Any = None,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        ciphers: str | None = None,
        log_requests: bool = True,
        **kwargs: Any,
    ) -> None:
        tls.check_ssl_version(ssl_version)
        log_requests = kwargs.pop("logRequests", log_requests)  # the stdlib's spelling
        verify_fields = kwargs.pop("verify_fields", None)
        allow_none = kwargs.pop("allow_none", False)
        encoding = kwargs.pop("encoding", None)
        use_builtin_types = kwargs.pop("use_builtin_types", False)
        kwargs.pop("bind_and_activate", None)  # the constructor always binds
        options = {name: kwargs.pop(name) for name in
                   ("max_body_size", "max_workers", "max_connections", "max_connections_per_peer",
                    "handshake_timeout", "idle_timeout", "request_timeout")
                   if name in kwargs}
        if kwargs:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(kwargs)}")
        settings = tls.ServerTLS.from_properties(
            certfile=certfile, keyfile=keyfile, ca_certs=ca_certs, cert_reqs=cert_reqs,
            verify_fields=verify_fields, ciphers=ciphers, owner=type(self).__name__, required=True,
        )
        assert settings is not None
        super().__init__(allow_none=allow_none, encoding=encoding, use_builtin_types=use_builtin_types)
        self.logger = logging.getLogger(type(self).__name__)
        self.logRequests = bool(log_requests)
        self.keyfile, self.certfile, self.ca_certs = keyfile, certfile, ca_certs
        self.cert_reqs = settings.cert_reqs
        self.ssl_version = ssl_version
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        self.ciphers = ciphers
        self.verify_fields: dict[str, str] | None = dict(settings.verify_fields) or None
        self._serving = threading.Event()
        self._stopped = threading.Event()
        self.register_functions()
        try:
            self._http = HTTPServer(
                "localhost" if host is None else host,
                0 if port is None else port,
                ssl_context=settings.context(),
                verify_peer=self.verify_peer,
                logger=self.logger,
                **options,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"{type(self).__name__}: {exc}") from exc
        self._loop = ServiceLoop(type(self).__name__)
        endpoint = XMLRPCEndpoint(
            self, logger=self.logger, log_requests=lambda: self.logRequests,
            max_body_size=self._http.max_body_size, loop=self._loop,
        )
        for path in self.rpc_paths:
            self._http.mount(path, endpoint)
        self._http.listen()

    @property
    def log_requests(self) -> bool:
        """Whether each request is logged at INFO (same as ``logRequests``)."""
        return self.logRequests

    @log_requests.setter
    def log_requests(self, value: bool) -> None:
        self.logRequests = bool(value)

    def register_functions(self) -> None:
        """Override to expose functions with ``self.register_function``; the constructor
        calls it, before the port is bound. Not overriding it is a mistake, reported
        at construction with ``NotImplementedError`` (as Spring Python 1.2 documented)."""
        raise NotImplementedError(
            f"{type(self).__name__} must override register_functions() to expose its functions "
            "with self.register_function (SSLServer serves nothing by itself)"
        )

    def verify_peer(self, cert: dict[str, Any] | None, from_addr: tuple[Any, ...]) -> None:
        """Check a client's certificate after the TLS handshake; raise
        :class:`VerificationException` to refuse the client (the reason is logged at
        WARNING; the client gets a 403 saying its certificate was refused, and its call
        does not run).

        The default checks ``verify_fields``; override to add checks of your own."""
        self.logger.debug("client %s sent certificate %s", from_addr, cert)
        if self.verify_fields:
            tls.verify_fields(cert, self.verify_fields)

    @property
    def server_address(self) -> tuple[str, int]:
        """``(host, port)`` with the real port (useful with port 0)."""
        return self._http.address

    @property
    def port(self) -> int:
        return self._http.port

    def start(self) -> "SSLServer":
        """Serve in background threads and return at once."""
        self._http.start()
        self._serving.set()
        return self

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until :meth:`shutdown` is called from another thread (or a signal handler).

        An interrupt (Ctrl-C) closes the server before it propagates."""
        self.start()
        self.logger.debug("serving XML-RPC at https://%s:%s", *self.server_address)
        try:
            self._stopped.wait()
        except BaseException:
            self.shutdown()
            raise

    def shutdown(self) -> None:
        """Stop serving and free the port; :meth:`serve_forever` returns."""
        self._http.close()
        self._loop.close()
        self._stopped.set()

    def server_close(self) -> None:
        """Close the server (same as :meth:`shutdown`; safe to call more than once)."""
        self.shutdown()

    def __enter__(self) -> "SSLServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server_close()

    def __repr__(self) -> str:
        state = "closed" if self._stopped.is_set() else ("serving" if self._serving.is_set() else "bound")
        return f"<{type(self).__name__} https://{self._http.host}:{self._http.port} {state}>"

