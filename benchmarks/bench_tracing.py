"""Tracing and call metrics: short calls per transport with OpenTelemetry on,
against the same calls with it off, measured in one process, interleaved.

Three modes, switched in place between short bursts of calls over the same proxy,
connection and exporter (client and server both in this process, so each switch
applies to both sides):

- ``untraced``: the tracing hooks replaced by what a build without tracing would
  do (:meth:`_Modes.use`): the baseline of every row;
- ``api``: what ships, with only ``opentelemetry-api`` in use (no tracer or meter
  provider): target >= 0.97 of the baseline;
- ``sdk``: the OpenTelemetry SDK with a ``BatchSpanProcessor`` and an exporter that
  drops the spans, and a meter provider, so both sides make, record and queue a
  span and record a duration per call: target >= 0.85.

Why one process: separate processes per mode differ by more than tracing does (where
the scheduler puts them, which core, cache state), and the "API only" row came out
at 0.74-0.84 that way while the same comparison in one process gave about 1.0. Here
the bursts alternate A/B/C/A/B/C (the order rotated every round), each round gives
each mode's rate relative to the untraced burst next to it, and a row's ratio is the
median of those paired ratios (its figure: that ratio times the median untraced
rate), so a noisy moment on a shared machine hits every mode alike and one lucky
burst cannot make a row.

How the SDK is switched on and off: its providers are installed once with the API's
``set_tracer_provider``/``set_meter_provider`` (which wires the API's proxy tracer
and instruments to them), and then the API's globals
(``opentelemetry.trace._TRACER_PROVIDER``, ``opentelemetry.metrics._internal._METER_PROVIDER``,
the names :mod:`springpython.remoting.tracing` and ``call_metrics`` check) are set
to them or cleared between bursts. That is private API, used here only."""

from __future__ import annotations

import functools
import statistics
import weakref
from typing import Any, Callable, Sequence

from benchmarks._harness import Result, rate

MODES = ("untraced", "api", "sdk")
TARGETS = {"api": 0.97, "sdk": 0.85}
TRANSPORTS = ("pyro5", "pyro4", "hessian", "xmlrpc")


class BenchService:
    """The benchmark service: one short call."""

    def add(self, a: int, b: int) -> int:
        return a + b


class _DropSpans:
    """A span exporter that drops what it gets (the cost measured is recording, not export)."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class _Modes:
    """Switches this process between the three modes (see the module docstring)."""

    def __init__(self) -> None:
        from opentelemetry import metrics, trace
        from opentelemetry.metrics import _internal as metrics_internal
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from springpython.remoting import proxy, tracing

        self._trace, self._metrics = trace, metrics_internal
        self._tracer_provider = TracerProvider()
        self._tracer_provider.add_span_processor(BatchSpanProcessor(_DropSpans()))  # type: ignore[arg-type]
        self._meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        trace.set_tracer_provider(self._tracer_provider)
        metrics.set_meter_provider(self._meter_provider)
        # the hooks as shipped, and what a build without tracing would have instead
        self._hooks: list[tuple[Any, str, Any, Any]] = [
            (proxy.RemoteProxy, "_call", proxy.RemoteProxy._call, proxy.RemoteProxy._send),
            (tracing, "request_spans", tracing.request_spans, lambda *args, **kwargs: None),
            (tracing, "http_headers", tracing.http_headers, lambda: b""),
            (tracing, "annotation", tracing.annotation, lambda: None),
        ]
        self._facades: list[tuple[dict[str, Any], str, Any, Any]] = []

    def add_pyro_facade(self, exporter: Any, service: Any) -> None:
        """Let the modes switch the served methods of a Pyro exporter's facade too (the
        facade is made at export, with each method wrapped for tracing)."""
        facade = exporter._server.daemon.objectsById[exporter.service_name]
        if isinstance(facade, weakref.ref):
            facade = facade()
        internals = exporter._internals()
        for name in ("add",):
            plain = internals.mark_exposed(functools.partial(getattr(service, name)))
            self._facades.append((facade.__dict__, name, facade.__dict__[name], plain))

    def use(self, mode: str) -> None:
        untraced = mode == "untraced"
        for owner, name, shipped, stripped in self._hooks:
            setattr(owner, name, stripped if untraced else shipped)
        for namespace, name, shipped, stripped in self._facades:
            namespace[name] = stripped if untraced else shipped
        sdk = mode == "sdk"
        self._trace._TRACER_PROVIDER = self._tracer_provider if sdk else None
        self._metrics._METER_PROVIDER = self._meter_provider if sdk else None

    def close(self) -> None:
        self.use("api")
        self._tracer_provider.shutdown()
        self._meter_provider.shutdown()


def _classes(transport: str) -> tuple[type, type, dict[str, Any]]:
    if transport == "pyro5":
        from springpython.remoting.pyro import Pyro5ProxyFactory, Pyro5ServiceExporter

        return Pyro5ServiceExporter, Pyro5ProxyFactory, {"service_name": "bench"}
    if transport == "pyro4":
        from springpython.remoting.pyro import Pyro4ProxyFactory, Pyro4ServiceExporter

        return Pyro4ServiceExporter, Pyro4ProxyFactory, {"service_name": "bench"}
    if transport == "hessian":
        from springpython.remoting.hessian import HessianProxyFactory, HessianServiceExporter

        return HessianServiceExporter, HessianProxyFactory, {"path": "/bench"}
    from springpython.remoting.xmlrpc import XMLRPCProxyFactory, XMLRPCServiceExporter

    return XMLRPCServiceExporter, XMLRPCProxyFactory, {"path": "/bench"}


def _interleaved(modes: _Modes, call: Callable[[], object], seconds: float, rounds: int) -> dict[str, float]:
    """Each mode's rate over ``rounds`` rounds of A/B/C bursts: the median untraced
    rate, and for the other modes that times the median of their per-round ratios."""
    rates: dict[str, list[float]] = {mode: [] for mode in MODES}
    for round_number in range(rounds):
        shift = round_number % len(MODES)
        for mode in MODES[shift:] + MODES[:shift]:
            modes.use(mode)
            rates[mode].append(rate(call, seconds, rounds=1))
    baseline = statistics.median(rates["untraced"])
    result = {"untraced": baseline}
    for mode in MODES[1:]:
        result[mode] = baseline * statistics.median(r / u for r, u in zip(rates[mode], rates["untraced"]))
    return result


def _measure(modes: _Modes, transport: str, seconds: float, rounds: int) -> dict[str, float]:
    exporter_cls, proxy_cls, where = _classes(transport)
    service = BenchService()
    modes.use("api")  # export as shipped; the modes switch the hooks in place
    with exporter_cls(service=service, service_host="127.0.0.1", service_port=0, **where) as exporter:
        if transport.startswith("pyro"):
            modes.add_pyro_facade(exporter, service)
        try:
            with proxy_cls(service_url=exporter.service_url) as proxy:
                call = functools.partial(proxy.add, 1, 2)
                return _interleaved(modes, call, seconds, rounds)
        finally:
            modes.use("api")
            modes._facades.clear()


def run(quick: bool = False) -> list[Result]:
    seconds = 0.1
    rounds = 9 if quick else 30
    results = []
    modes = _Modes()
    try:
        for transport in TRANSPORTS:
            best = _measure(modes, transport, seconds, rounds)
            for mode, label in (("api", "short call, API only"), ("sdk", "short call, SDK + batch")):
                results.append(Result(f"tracing {transport}", label, best[mode], best["untraced"], "calls/s",
                                      TARGETS[mode], baseline_name="untraced"))
    finally:
        modes.close()
    return results
