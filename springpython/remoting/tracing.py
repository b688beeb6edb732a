"""OpenTelemetry tracing of remote calls, written once for every transport, and the
record of each call that also feeds the call metrics (:mod:`.call_metrics`).

Every proxy call is a ``CLIENT`` span (:meth:`RemoteProxy._call
<springpython.remoting.proxy.RemoteProxy._call>`), every served call a ``SERVER``
span (the Hessian and XML-RPC endpoints, the Pyro facade), named and attributed
after OpenTelemetry's RPC semantic conventions: the name is
``{rpc.service}/{rpc.method}``; attributes ``rpc.system`` (``pyro5``, ``pyro4``,
``hessian``, ``xmlrpc``: the conventions list none of them), ``rpc.service`` (the
Pyro object name, or the HTTP path without its slashes), ``rpc.method``,
``server.address`` and ``server.port``; a call that raised has status ``ERROR``,
``error.type`` (the remote exception's dotted type name when the service raised it)
and the exception recorded as an event.

The W3C trace context (``traceparent``/``tracestate``, through
:mod:`opentelemetry.propagate`, so the application's propagators apply) travels in
HTTP headers for Hessian and XML-RPC and in one Pyro message annotation
(:data:`ANNOTATION`) for Pyro5 and Pyro4. A served call's span is current while the
service runs, so a call it makes is its child. A peer sending no context (Caucho's
Java client, ``xmlrpc.client``) starts a new trace.

Rules of this file: only ``opentelemetry-api`` is needed. Until the application
installs a tracer provider or a meter provider (the SDK's, normally) :func:`active`
is false and the transports skip all of this: no span objects, no headers, no annotation; the cost
is a check or two per call (under 0.1 µs each, against 45-80 µs for a short call).

Private name used, and why: ``opentelemetry.trace._TRACER_PROVIDER``, the global
that ``trace.set_tracer_provider`` sets once. Reading it costs about 0.05 µs;
``trace.get_tracer_provider()`` costs 0.65 µs, as it looks up an environment
variable on every call until a provider is set (an ``OTEL_PYTHON_TRACER_PROVIDER``
provider is loaded by this module's ``get_tracer`` at import). Without that name (a
later API), ``get_tracer_provider()`` is used; ``tests/remoting/test_tracing.py``
checks the name is there.

With the SDK, what a traced call costs is nearly all the SDK's own (µs per call, measured
in a loop on the benchmark machine; in a real call, with the caches cold between the
pieces, each costs two to three times as much): making, ending and queueing a span with its
attributes (given at start: ``set_attribute`` calls and ``start_as_current_span`` cost
more) 12.6 on the client and 13.1 on the server, a histogram point 5.2 on each side, the
W3C context 1.8 to inject and 3.0 to extract, making a span current 0.4. Ours is about
1 µs a side: the span name and the attribute dicts are made once per method
(:class:`_Method`). The API's propagators are kept: writing and reading
``traceparent`` here (when they are the default ones and there is no baggage or
``tracestate``) measured 2.2 µs a call less (0.7 to inject, 1.5 to extract), about 1%
of a traced short call, not worth a second implementation of the format."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Callable, ContextManager, Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, SpanKind, Status, StatusCode

from .. import __version__
from . import call_metrics

__all__ = [
    "ANNOTATION",
    "Target",
    "active",
    "client_span",
    "server_span",
    "request_spans",
    "NO_SPAN",
    "http_headers",
    "annotation",
    "carrier_from_annotation",
    "host_and_port",
]

log = logging.getLogger(__name__)

#: The Pyro message annotation (Pyro wants 4 characters) carrying the trace context
#: as ``name: value`` lines, one per propagated field.
ANNOTATION = "OTEL"

#: What a dispatcher enters instead of a span when tracing is off.
NO_SPAN: ContextManager[Any] = contextlib.nullcontext()

_TRACER = trace.get_tracer("springpython", __version__)
_NO_PROVIDER = (ProxyTracerProvider, NoOpTracerProvider)

#: How many methods' :class:`_Method` a :class:`Target` keeps.
_METHODS_KEPT = 256


def _active_by_global() -> bool:
    provider = trace._TRACER_PROVIDER  # see "Private name used" above
    return provider is not None and not isinstance(provider, NoOpTracerProvider)


def _active_by_api() -> bool:
    return not isinstance(trace.get_tracer_provider(), _NO_PROVIDER)


#: Whether a tracer provider is installed (otherwise every span would be a no-op).
tracing_on = _active_by_global if hasattr(trace, "_TRACER_PROVIDER") else _active_by_api


def _active_by_calls() -> bool:
    """Whether calls are observed at all: a tracer provider or a meter provider
    (:mod:`.call_metrics`) is installed."""
    return tracing_on() or call_metrics.active()


def _active_by_globals() -> bool:
    """:func:`_active_by_calls` in one frame (it runs on every call of every
    transport): both globals read here."""
    provider = trace._TRACER_PROVIDER  # see "Private name used" above
    if provider is not None and not isinstance(provider, NoOpTracerProvider):
        return True
    meters = call_metrics._GLOBALS._METER_PROVIDER  # call_metrics' own fast check, inlined
    return meters is not None and not isinstance(meters, NoOpMeterProvider)


#: Whether calls are observed at all: a tracer provider or a meter provider
#: (:mod:`.call_metrics`) is installed.
active: Callable[[], bool] = (
    _active_by_globals if tracing_on is _active_by_global and call_metrics.active is call_metrics._active_by_global
    else _active_by_calls
)


@dataclass(frozen=True)
class Target:
    """The semantic-convention facts of one service as one side sees it, computed
    once: ``system`` (``rpc.system``), ``service`` (``rpc.service``), the server's
    ``address`` and ``port`` when known."""

    system: str
    service: str
    address: str | None = None
    port: int | None = None
    attributes: dict[str, Any] = field(init=False, repr=False, compare=False)

    labels: dict[str, Any] = field(init=False, repr=False, compare=False)

    #: The :class:`_Method` of each method called or served, made on its first call.
    methods: dict[str, "_Method"] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        attributes: dict[str, Any] = {"rpc.system": self.system}
        if self.service:
            attributes["rpc.service"] = self.service
        object.__setattr__(self, "labels", dict(attributes))  # the metrics' attributes
        if self.address:
            attributes["server.address"] = self.address
        if self.port is not None:
            attributes["server.port"] = self.port
        object.__setattr__(self, "attributes", attributes)
        object.__setattr__(self, "methods", {})

    @classmethod
    def for_http(cls, system: str, host: str | None, port: int | None, path: str) -> "Target":
        """The target of an HTTP service at ``path`` (its query left out, its slashes stripped)."""
        return cls(system, path.partition("?")[0].strip("/"), host, port)

    def span_name(self, method: str) -> str:
        return f"{self.service}/{method}" if self.service else method

    def method(self, name: str) -> "_Method":
        """What every call of ``name`` shares (made once: the dicts are never changed).
        At most :data:`_METHODS_KEPT` are kept per target: a peer names the method
        (an XML-RPC instance is asked for any name), so the others are made per call."""
        found = self.methods.get(name)
        if found is None:
            found = _Method(self, name)
            if len(self.methods) < _METHODS_KEPT:  # two threads may both add it: equal values
                self.methods[name] = found
        return found


class _Method:
    """The span name, span attributes and metric attributes of one method of one
    :class:`Target`, built on its first call and shared by all later ones (neither
    the SDK's spans nor its histograms keep a reference they would change)."""

    __slots__ = ("span_name", "attributes", "labels")

    def __init__(self, target: Target, method: str) -> None:
        self.span_name = target.span_name(method)
        self.attributes = {**target.attributes, "rpc.method": method}
        self.labels = {**target.labels, "rpc.method": method}


class _Call:
    """The record of one call while it runs: its span (``None`` when tracing is off),
    current until ``__exit__``, and its start time for the duration histogram
    (``histogram`` is ``None`` when metrics are off). ``__exit__`` records an escaping
    exception (status ``ERROR``, ``error.type``), ends the span and records the duration."""

    __slots__ = ("span", "token", "histogram", "labels", "started")

    def __init__(self, span: trace.Span | None, histogram: Any, labels: dict[str, Any]) -> None:
        self.span = span
        self.token = otel_context.attach(trace.set_span_in_context(span)) if span is not None else None
        self.histogram = histogram
        self.labels = labels
        self.started = time.perf_counter()

    def __enter__(self) -> trace.Span | None:
        return self.span

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:  # the common case, in as few steps as can be
            ended = time.perf_counter()
            span, token = self.span, self.token
            if span is not None and token is not None:  # both or neither
                otel_context.detach(token)
                span.end()
            if self.histogram is not None:
                self.histogram.record((ended - self.started) * 1000.0, self.labels)
            return
        error_type = error_type_of(exc)
        span = self.span
        try:
            if span is not None:
                record_error(span, exc, error_type)
        finally:
            if self.token is not None:
                otel_context.detach(self.token)
            if span is not None:
                span.end()
            if self.histogram is not None:
                call_metrics.record(self.histogram, self.started, self.labels, error_type)


def error_type_of(exc: BaseException) -> str:
    """``error.type`` for ``exc``: the remote exception's dotted type name when the
    service raised it (:attr:`RemoteFault.remote_type`), else the exception's own."""
    remote = getattr(exc, "remote_type", None)
    if isinstance(remote, str) and remote:
        return remote
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def record_error(span: trace.Span, exc: BaseException, error_type: str | None = None) -> None:
    """Mark ``span`` failed by ``exc``: status ``ERROR``, ``error.type``, the exception event."""
    if not span.is_recording():
        return
    span.set_attribute("error.type", error_type or error_type_of(exc))
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def client_span(target: Target, method: str) -> _Call:
    """The record of a call of ``method``: a ``CLIENT`` span current until the
    ``with`` block ends, and its duration in ``rpc.client.duration``."""
    facts = target.method(method)
    span = None
    if tracing_on():
        span = _TRACER.start_span(facts.span_name, kind=SpanKind.CLIENT, attributes=facts.attributes)
    return _Call(span, call_metrics.CLIENT_DURATION if call_metrics.active() else None, facts.labels)


def server_span(target: Target, method: str, carrier: Mapping[str, str] | None,
                client: tuple[Any, ...] | None = None) -> _Call:
    """The record of a served call of ``method``: a ``SERVER`` span, child of the
    context extracted from ``carrier`` (request headers, or
    :func:`carrier_from_annotation`), current while the service runs; and its
    duration in ``rpc.server.duration``."""
    facts = target.method(method)
    span = None
    if tracing_on():
        parent = propagate.extract(carrier) if carrier else None
        attributes = facts.attributes
        if client and len(client) >= 2:
            attributes = {**attributes, "client.address": str(client[0]), "client.port": client[1]}
        span = _TRACER.start_span(facts.span_name, context=parent, kind=SpanKind.SERVER, attributes=attributes)
    return _Call(span, call_metrics.SERVER_DURATION if call_metrics.active() else None, facts.labels)


def request_spans(system: str, path: str, headers: Mapping[str, str],
                  client: tuple[Any, ...] | None) -> Callable[[str], _Call] | None:
    """For an HTTP request: a function making the record (:func:`server_span`) of the
    call of a method (the service is the ``path``, the server's address is from the
    ``Host`` header, the parent from the trace headers), or ``None`` when calls are
    not observed."""
    if not active():
        return None
    return functools.partial(server_span, _http_target(system, path, headers.get("host")), carrier=headers,
                             client=client)


@functools.lru_cache(maxsize=256)
def _http_target(system: str, path: str, host_header: str | None) -> Target:
    return Target.for_http(system, *host_and_port(host_header), path)


def _carrier() -> dict[str, str]:
    if not tracing_on() or not trace.get_current_span().get_span_context().is_valid:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def http_headers() -> bytes:
    """The current trace context as HTTP header lines (each ending in CRLF), or
    ``b""`` outside a span."""
    carrier = _carrier()
    if not carrier:
        return b""
    return "".join([f"{name}: {value}\r\n" for name, value in carrier.items()
                    if "\r" not in value and "\n" not in value]).encode("latin-1", "replace")


def annotation() -> bytes | None:
    """The current trace context as the value of the Pyro annotation :data:`ANNOTATION`,
    or ``None`` outside a span."""
    if not tracing_on():  # the common case, answered without another call
        return None
    carrier = _carrier()
    if not carrier:
        return None
    return "".join([f"{name}: {value}\n" for name, value in carrier.items() if "\n" not in value]).encode("utf-8")


def carrier_from_annotation(value: Any) -> dict[str, str] | None:
    """The propagation fields of a Pyro annotation made by :func:`annotation`
    (``None`` when absent or unreadable: the call is then traced as a new trace)."""
    if not value:
        return None
    try:
        text = bytes(value).decode("utf-8")
    except (TypeError, ValueError):
        log.debug("ignoring an unreadable %s annotation", ANNOTATION)
        return None
    carrier: dict[str, str] = {}
    for line in text.split("\n"):
        name, sep, field_value = line.partition(": ")
        if sep:
            carrier[name] = field_value
    return carrier


def host_and_port(host_header: str | None) -> tuple[str | None, int | None]:
    """The host and port of an HTTP ``Host`` header (``[v6]:port`` included)."""
    if not host_header:
        return None, None
    host, sep, port = host_header.rpartition(":")
    if not sep or "]" in port:
        return host_header.strip("[]"), None
    return host.strip("[]"), int(port) if port.isdigit() else None
