"""The Hessian server: :class:`HessianServiceExporter` answers Hessian calls for the
public methods of a service object, on the shared HTTP server.

Replies come in the version the call asks for: a Hessian 1 call marked ``c 1 0``
gets a Hessian 1 reply; ``c 2 0`` (Caucho's Java client by default), ``H 2 0 C`` and
``C`` (Hessian 2 calls) get Hessian 2 replies. Faults use Hessian's codes:
``NoSuchMethodException`` (no public method of that name taking that many
arguments), ``ProtocolException`` (a malformed or truncated call) and
``ServiceException`` (the method raised: the fault message is the exception's, the
detail the dotted name of its class, as :mod:`springpython.remoting.faults` reads it
back). Any exception a method raises, ``SystemExit`` and ``KeyboardInterrupt``
included, is answered as a fault; the worker goes on serving."""

from __future__ import annotations

import inspect
import logging
import re
from typing import Any, Callable, ClassVar

from ...errors import ConfigurationError, ProtocolError
from .. import faults, tracing
from ..api_description import DESCRIBE_METHOD, describe_service
from ..api_page import APIPage
from ..exposure import describe
from ..http import Request, Response
from ..http_exporter import HTTPServiceExporter, HTTPSettings
from ..invocation import Call, ServiceLoop, Steps, is_async, run_steps
from ._codec import DEFAULT_LIMITS, DecodeLimits, decode_call, encode_fault, encode_reply

__all__ = ["HessianServiceExporter", "HessianEndpoint"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080
DEFAULT_PATH = "/"
CONTENT_TYPE = "x-application/hessian"
RPC_SYSTEM = "hessian"
_MANGLED = re.compile(r"^(.+)__(\d{1,3})$")  # Caucho's overload mangling: name__argcount


def _reply_version(body: bytes) -> int | None:
    """The reply version a (possibly malformed) call asks for, if it can be told."""
    if len(body) >= 2 and body[0] == 0x63:  # 'c' major minor
        return 1 if body[1] == 1 else 2
    if body[:1] in (b"H", b"C"):
        return 2
    return None


def _arity(method: Callable[..., Any]) -> tuple[int, int | None] | None:
    """The least and most positional arguments ``method`` accepts (``None``: no limit),
    or ``None`` when its signature cannot be read."""
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return None
    least = 0
    most: int | None = 0
    for p in parameters:
        if p.kind is p.VAR_POSITIONAL:
            most = None
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if most is not None:
                most += 1
            if p.default is p.empty:
                least += 1
        elif p.kind is p.KEYWORD_ONLY and p.default is p.empty:
            return _KEYWORDS_NEEDED
    return least, most


# The arity of a method with required keyword-only arguments: no positional call fits.
_KEYWORDS_NEEDED = (1, 0)


class HessianEndpoint:
    """The request handler mounted on the HTTP server: decodes a call, invokes the
    public method and encodes the reply or fault. Never raises. An ``async def``
    method runs on ``loop`` (:mod:`springpython.remoting.invocation`)."""

    def __init__(self, service: Any, name: str, loop: ServiceLoop | None = None,
                 limits: DecodeLimits = DEFAULT_LIMITS) -> None:
        self.name = name
        self.loop = loop or ServiceLoop(name)
        self.limits = limits
        self.methods: dict[str, Callable[..., Any]] = dict(describe(service).methods)
        #: Whether some method is ``async def`` (an ASGI server then awaits it on its loop).
        self.any_async = any(is_async(method) for method in self.methods.values())
        # how many positional arguments each method takes: (least, most or None)
        self.arities: dict[str, tuple[int, int | None] | None] = {
            method_name: _arity(method) for method_name, method in self.methods.items()
        }
        self.page = APIPage(describe_service(service), "Hessian")

    def __call__(self, request: Request) -> Response:
        return run_steps(self.steps(request), self.loop)

    def steps(self, request: Request) -> Steps[Response]:
        """The handling of ``request``, yielding the one service call it makes."""
        if request.method != "POST":
            return self.page.answer(request)
        body = request.body
        try:
            call = decode_call(body, self.limits)
        except ProtocolError as exc:
            log.warning("%s: malformed Hessian call from %s: %s", self.name, _peer(request), exc)
            version = _reply_version(body)
            if version is None:
                return Response(400, f"not a Hessian call: {exc}\n".encode())
            return self._fault("ProtocolException", str(exc), None, version)
        if call.method == DESCRIBE_METHOD:
            return Response(200, encode_reply(self.page.description.to_dict(), call.reply_version), CONTENT_TYPE)
        method = self.methods.get(call.method)
        method_name = call.method
        if method is None:
            mangled = _MANGLED.match(call.method)
            if mangled and int(mangled.group(2)) == len(call.args):
                method_name = mangled.group(1)
                method = self.methods.get(method_name)
        if method is None:
            return self._fault(
                "NoSuchMethodException", f"the service has no method named {call.method!r}", None,
                call.reply_version,
            )
        arity = self.arities.get(method_name)
        if arity is not None and not (arity[0] <= len(call.args) and (arity[1] is None or len(call.args) <= arity[1])):
            if arity is _KEYWORDS_NEEDED:
                wanted = "it needs keyword arguments, which a Hessian call cannot carry"
            else:
                most = "any number of" if arity[1] is None else f"at most {arity[1]}"
                wanted = f"it takes at least {arity[0]} and {most} positional argument(s)"
            return self._fault(
                "NoSuchMethodException",
                f"{method_name}() does not take {len(call.args)} argument(s): {wanted}",
                None,
                call.reply_version,
            )
        spans = tracing.request_spans(RPC_SYSTEM, request.path, request.headers, request.client_address)
        try:
            with spans(method_name) if spans is not None else tracing.NO_SPAN:
                result = yield Call(method, tuple(call.args))
        except BaseException as exc:  # whatever the service raised goes back as a fault
            faults.log_service_exception(log, self.name, method_name, exc)
            return self._fault(*faults.hessian_fault(faults.describe(exc)), call.reply_version)
        try:
            payload = encode_reply(result, call.reply_version)
        except (TypeError, ValueError) as exc:
            log.warning("%s.%s returned a value Hessian cannot carry: %s", self.name, method_name, exc)
            return self._fault(
                "ServiceException", f"{method_name}() returned a value Hessian cannot carry: {exc}",
                "TypeError", call.reply_version,
            )
        return Response(200, payload, content_type=CONTENT_TYPE)

    @staticmethod
    def _fault(code: str, message: str, detail: Any, version: int) -> Response:
        return Response(200, encode_fault(code, message, detail, version), content_type=CONTENT_TYPE)


def _peer(request: Request) -> str:
    address = request.client_address
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


class HessianServiceExporter(HTTPServiceExporter):
    """Serves the public methods of ``service`` to Hessian clients (Caucho's Java
    ``HessianProxyFactory`` included) at ``http://service_host:service_port/path``
    (defaults: ``localhost``, 8080, ``/``; port 0 picks a free port, read back from
    :attr:`port` or :attr:`service_url`).

    With ``certfile`` (and ``keyfile``) it serves HTTPS; ``ca_certs`` with ``cert_reqs``
    ``CERT_REQUIRED`` also demands a client certificate signed by those CAs, whose
    subject ``verify_fields`` can check as for XML-RPC. A request
    body over ``max_body_size`` bytes (default 8 MiB) gets HTTP 413. Exporters on the
    same host and port share one server, each on its own ``path``, when their TLS
    settings agree. Names starting with ``_`` are never callable; a Java object
    arrives as a :class:`~springpython.remoting.hessian.HessianObject` (a dict).

    The decode budget of a call (see :class:`~._codec.DecodeLimits`): ``max_depth``
    (nesting, default 200), ``base_containers`` (lists, maps and objects any call may
    create, default 65536) plus one per ``bytes_per_container`` bytes of the call
    (default 16); a call over it is answered with a ``ProtocolException`` fault.
    Each must be a positive integer (a ConfigurationError at start otherwise)."""

    DEFAULT_PORT: ClassVar[int] = DEFAULT_PORT
    DEFAULT_PATH: ClassVar[str] = DEFAULT_PATH
    TRANSPORT: ClassVar[str | None] = "hessian"

    service_port: int = DEFAULT_PORT
    path: str = DEFAULT_PATH
    max_depth: int = DEFAULT_LIMITS.max_depth
    base_containers: int = DEFAULT_LIMITS.base_containers
    bytes_per_container: int = DEFAULT_LIMITS.bytes_per_container

    def _endpoint(self, settings: HTTPSettings) -> "HessianEndpoint":
        try:
            limits = DecodeLimits.of(self.max_depth, self.base_containers, self.bytes_per_container)
        except ValueError as exc:
            raise ConfigurationError(f"{type(self).__name__}: {exc}") from None
        return HessianEndpoint(self.service, self.service_name or type(self.service).__name__,
                               self._service_loop(), limits)
