"""Tracing and call metrics: short calls per transport with OpenTelemetry on,
against the same calls with it off, client and server in separate processes.

Three modes, each a server process and a client process running the same mode:

- ``untraced``: the tracing hooks patched out (:func:`_strip_tracing`), standing in
  for a build without tracing: the baseline of every row;
- ``api``: what ships, with only ``opentelemetry-api`` in use (no tracer provider):
  target >= 0.97 of the baseline;
- ``sdk``: the OpenTelemetry SDK with a ``BatchSpanProcessor`` and an exporter that
  drops the spans, and a meter provider, so both sides make, record and queue a
  span and record a duration per call: target >= 0.85.

The three clients measure in short alternating bursts (best of each), so a noisy
moment on a shared machine hits every mode alike.

``python3 -m benchmarks.bench_tracing serve MODE TRANSPORT`` and ``... client MODE
TRANSPORT URL`` are the child processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

from benchmarks._harness import Result, rate

ROOT = Path(__file__).resolve().parent.parent
MODES = ("untraced", "api", "sdk")
TARGETS = {"api": 0.97, "sdk": 0.85}
TRANSPORTS = ("pyro5", "pyro4", "hessian", "xmlrpc")


class BenchService:
    """The benchmark service: one short call."""

    def add(self, a: int, b: int) -> int:
        return a + b


def _strip_tracing() -> None:
    """Replace every tracing hook by what a build without tracing would do."""
    from springpython.remoting import proxy, tracing
    from springpython.remoting.pyro import _base

    proxy.RemoteProxy._call = proxy.RemoteProxy._send  # type: ignore[method-assign]
    tracing.request_spans = lambda *args, **kwargs: None  # type: ignore[assignment]
    tracing.http_headers = lambda: b""  # type: ignore[assignment]
    tracing.annotation = lambda: None  # type: ignore[assignment]
    _base._traced = lambda method, qualname, target, internals: _base._exposed(method, qualname)  # type: ignore[assignment]


class _DropSpans:
    """A span exporter that drops what it gets (the cost measured is recording, not export)."""

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _set_mode(mode: str) -> None:
    if mode == "untraced":
        _strip_tracing()
    elif mode == "sdk":
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(_DropSpans()))  # type: ignore[arg-type]
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


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


def serve(mode: str, transport: str) -> None:
    """Child: export BenchService in ``mode``, print its URL, serve until stdin closes."""
    _set_mode(mode)
    exporter_cls, _, where = _classes(transport)
    with exporter_cls(service=BenchService(), service_host="127.0.0.1", service_port=0, **where) as exporter:
        print(f"URL {exporter.service_url}", flush=True)
        sys.stdin.read()


def client(mode: str, transport: str, url: str) -> None:
    """Child: for each line ``SECONDS`` read, measure short calls for that long and print the rate."""
    _set_mode(mode)
    _, proxy_cls, _ = _classes(transport)
    with proxy_cls(service_url=url) as proxy:
        call = proxy.add
        for line in sys.stdin:
            print(rate(lambda: call(1, 2), float(line), rounds=1), flush=True)


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "benchmarks.bench_tracing", *args], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _stop(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _read(proc: subprocess.Popen[str], prefix: str = "") -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(prefix) or not line.strip():
        raise RuntimeError(f"benchmark child {proc.args!r} failed: {line!r}")
    return line[len(prefix):].strip()


def _measure(transport: str, seconds: float, rounds: int) -> dict[str, float]:
    procs: list[subprocess.Popen[str]] = []
    try:
        clients = {}
        for mode in MODES:
            server = _child("serve", mode, transport)
            procs.append(server)
            clients[mode] = client_proc = _child("client", mode, transport, _read(server, "URL "))
            procs.append(client_proc)
        best = dict.fromkeys(MODES, 0.0)
        for _ in range(rounds):
            for mode, proc in clients.items():
                assert proc.stdin is not None
                proc.stdin.write(f"{seconds}\n")
                proc.stdin.flush()
                best[mode] = max(best[mode], float(_read(proc)))
        return best
    finally:
        _stop(procs[1::2])  # clients first, then their servers
        _stop(procs[0::2])


def run(quick: bool = False) -> list[Result]:
    seconds = 0.2
    rounds = 5 if quick else 20
    results = []
    for transport in TRANSPORTS:
        best = _measure(transport, seconds, rounds)
        for mode, label in (("api", "short call, API only"), ("sdk", "short call, SDK + batch")):
            results.append(Result(f"tracing {transport}", label, best[mode], best["untraced"], "calls/s",
                                  TARGETS[mode], baseline_name="untraced"))
    return results


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "serve":
        serve(*rest)
    else:
        client(*rest)
