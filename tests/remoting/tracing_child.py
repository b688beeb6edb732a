"""The child processes of the tracing tests, the service they export, and the span
exporter that writes each finished span as one JSON line.

``python tracing_child.py SPANS serve CONTEXT.xml`` starts the XML context, prints
``READY`` and serves until stdin closes; ``python tracing_child.py SPANS call CLASS URL
METHOD [ARG]`` makes one call through proxy factory ``CLASS`` and prints the outcome
as JSON (``sslclient URL CA_CERTS METHOD [ARG]``: through ``SSLClient``). With SPANS
``-`` no provider is installed (only the API is used); otherwise the SDK records
every span into the file SPANS and, at exit, the call metrics into SPANS.metrics."""

from __future__ import annotations

import importlib
import json
import asyncio
import sys
import threading
from typing import Any, Sequence


class Hop:
    """Answers ``relay`` by calling the next hop (a proxy set from XML) when it has one."""

    def __init__(self, name: str = "hop", next_hop: Any = None) -> None:
        self.name = name
        self.next_hop = next_hop

    def relay(self, text: str) -> str:
        text = f"{text}>{self.name}"
        return self.next_hop.relay(text) if self.next_hop is not None else text

    def fail(self, key: str) -> str:
        return {}[key]


class JSONLinesSpanExporter:
    """An OpenTelemetry span exporter appending one JSON object per span to a file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()

    def export(self, spans: Sequence[Any]) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            for span in spans:
                out.write(json.dumps(span_record(span)) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def span_record(span: Any) -> dict[str, Any]:
    """The facts the tests check of one finished SDK span."""
    parent = span.parent
    return {
        "name": span.name,
        "kind": span.kind.name,
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_span_id": f"{parent.span_id:016x}" if parent is not None else None,
        "attributes": dict(span.attributes),
        "status": span.status.status_code.name,
        "events": [{"name": e.name, "attributes": dict(e.attributes)} for e in span.events],
    }


def install_sdk(path: str) -> Any:
    """Install the SDK's tracer provider (spans into ``path``) and meter provider; the
    metric reader, for :func:`write_metrics`."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JSONLinesSpanExporter(path)))  # type: ignore[arg-type]
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return reader


def write_metrics(reader: Any, path: str) -> None:
    """Append each histogram point as a JSON line: metric name, attributes, count."""
    data = reader.get_metrics_data()
    with open(path, "a", encoding="utf-8") as out:
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        out.write(json.dumps({"name": metric.name, "unit": metric.unit,
                                              "attributes": dict(point.attributes), "count": point.count}) + "\n")


def serve(context_xml: str) -> None:
    from springpython.config import XMLConfig
    from springpython.context import ApplicationContext

    context = ApplicationContext(XMLConfig(context_xml))
    try:
        print("READY", flush=True)
        sys.stdin.read()
    finally:
        context.shutdown()


def call(class_path: str, url: str, method: str, args: list[str]) -> None:
    """One call through proxy factory ``class_path``; an ``Async…`` one is awaited."""
    module, _, name = class_path.rpartition(".")
    factory = getattr(importlib.import_module(module), name)
    if name.startswith("Async"):
        print(json.dumps(asyncio.run(call_async(factory, url, method, args))), flush=True)
        return
    with factory(service_url=url) as proxy:
        try:
            outcome = {"result": getattr(proxy, method)(*args)}
        except Exception as exc:
            outcome = failed(exc)
    print(json.dumps(outcome), flush=True)


async def call_async(factory: Any, url: str, method: str, args: list[str]) -> dict[str, Any]:
    async with factory(service_url=url) as proxy:
        try:
            return {"result": await getattr(proxy, method)(*args)}
        except Exception as exc:
            return failed(exc)


def failed(exc: Exception) -> dict[str, Any]:
    return {"error": type(exc).__name__, "remote_type": getattr(exc, "remote_type", None)}


def call_ssl(url: str, ca_certs: str, method: str, args: list[str]) -> None:
    """One call through the chapter's SSLClient (an ``xmlrpc.client.ServerProxy``)."""
    from springpython.remoting.xmlrpc import SSLClient

    with SSLClient(url, ca_certs) as client:
        print(json.dumps({"result": getattr(client, method)(*args)}), flush=True)


def main(argv: list[str]) -> None:
    spans, command, *rest = argv
    reader = install_sdk(spans) if spans != "-" else None
    if command == "serve":
        serve(rest[0])
    elif command == "sslclient":
        call_ssl(rest[0], rest[1], rest[2], rest[3:])
    else:
        call(rest[0], rest[1], rest[2], rest[3:])
    if reader is not None:
        write_metrics(reader, spans + ".metrics")


if __name__ == "__main__":
    main(sys.argv[1:])
