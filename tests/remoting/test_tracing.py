"""OpenTelemetry tracing across processes: each transport's client span is the parent
of the server span it causes, a chain of three servers shares one trace, and peers
without trace context or without an SDK still work."""

from __future__ import annotations

import json
import textwrap
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from support import free_port

from springpython.remoting import call_metrics, tracing

HERE = Path(__file__).resolve().parent
CHILD = HERE / "tracing_child.py"


@dataclass(frozen=True)
class Transport:
    system: str
    exporter: str
    proxy: str
    url: Callable[[int], str]
    service: str  # rpc.service as both sides name it


TRANSPORTS = {
    "pyro5": Transport("pyro5", "springpython.remoting.pyro.Pyro5ServiceExporter",
                       "springpython.remoting.pyro.Pyro5ProxyFactory", lambda port: f"PYRO:hop@127.0.0.1:{port}", "hop"),
    "pyro4": Transport("pyro4", "springpython.remoting.pyro.Pyro4ServiceExporter",
                       "springpython.remoting.pyro.Pyro4ProxyFactory", lambda port: f"PYRO:hop@127.0.0.1:{port}", "hop"),
    "hessian": Transport("hessian", "springpython.remoting.hessian.HessianServiceExporter",
                         "springpython.remoting.hessian.HessianProxyFactory",
                         lambda port: f"http://127.0.0.1:{port}/rpc/hop", "rpc/hop"),
    "xmlrpc": Transport("xmlrpc", "springpython.remoting.xmlrpc.XMLRPCServiceExporter",
                        "springpython.remoting.xmlrpc.XMLRPCProxyFactory",
                        lambda port: f"http://127.0.0.1:{port}/rpc/hop", "rpc/hop"),
}


def server_xml(path: Path, transport: Transport, port: int, name: str, next_hop: tuple[Transport, int] | None,
               extra: str = "") -> Path:
    """A context exporting a :class:`tracing_child.Hop` named ``name``, whose next hop
    is a proxy factory when ``next_hop`` is given."""
    where = (f'<property name="service_name" value="hop"/>' if transport.system.startswith("pyro")
             else '<property name="path" value="/rpc/hop"/>')
    hop_ref = '<property name="next_hop" ref="next"/>' if next_hop else ""
    proxy = ""
    if next_hop:
        proxy = (f'<object id="next" class="{next_hop[0].proxy}">'
                 f'<property name="service_url" value="{next_hop[0].url(next_hop[1])}"/></object>')
    path.write_text(textwrap.dedent(f"""\
        <?xml version="1.0"?>
        <objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
            {proxy}
            <object id="service" class="tracing_child.Hop">
                <property name="name" value="{name}"/>
                {hop_ref}
            </object>
            <object id="exporter" class="{transport.exporter}">
                <property name="service" ref="service"/>
                <property name="service_host" value="127.0.0.1"/>
                <property name="service_port" value="{port}"/>
                {where}
                {extra}
            </object>
        </objects>
        """))
    return path


class Servers:
    """Server children started by a test; each stops (flushing its spans) when its stdin closes."""

    def __init__(self, spawn: Callable[..., Any], tmp_path: Path) -> None:
        self.spawn = spawn
        self.tmp_path = tmp_path
        self.procs: list[Any] = []

    def start(self, name: str, transport: Transport, *, sdk: bool = True,
              next_hop: tuple[Transport, int] | None = None, extra: str = "") -> tuple[int, Path]:
        """Start a server for ``transport`` (``extra``: more exporter properties, as
        XML); its port and its spans file."""
        port = free_port()
        xml = server_xml(self.tmp_path / f"{name}.xml", transport, port, name, next_hop, extra)
        spans = self.tmp_path / f"{name}.spans"
        proc = self.spawn([CHILD, spans if sdk else "-", "serve", xml], cwd=HERE, stdin=-1)
        self.procs.append(proc)
        line = proc.stdout.readline()
        if line.strip() != "READY":
            proc.kill()
            raise AssertionError(f"server {name} did not start: {line!r} {proc.communicate()[1]}")
        return port, spans

    def stop(self) -> None:
        for proc in self.procs:
            _, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err


@pytest.fixture
def servers(spawn, tmp_path) -> Iterator[Servers]:
    """Starts server children; those a test did not stop are killed by ``spawn`` after it."""
    started = Servers(spawn, tmp_path)
    yield started


def call(spawn: Callable[..., Any], spans: Path | None, transport: Transport, port: int, method: str,
         arg: str) -> dict[str, Any]:
    """One call from a client child (with the SDK recording into ``spans``, or with
    only the API when ``spans`` is ``None``); its outcome."""
    proc = spawn([CHILD, spans or "-", "call", transport.proxy, transport.url(port), method, arg], cwd=HERE)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def read_spans(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def only(spans: list[dict[str, Any]], **facts: Any) -> dict[str, Any]:
    found = [s for s in spans if all(s[k] == v for k, v in facts.items())]
    assert len(found) == 1, (facts, spans)
    return found[0]


def in_mode(transport: Transport, mode: str) -> Transport:
    """``transport`` with its async proxy factory (``Async`` before the class name) in mode ``async``."""
    if mode == "sync":
        return transport
    module, _, name = transport.proxy.rpartition(".")
    return Transport(transport.system, transport.exporter, f"{module}.Async{name}", transport.url, transport.service)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_client_span_is_the_parent_of_the_server_span(name, mode, servers, spawn, tmp_path):
    """A call's CLIENT span and the SERVER span it causes share the trace; names, kinds and attributes
    follow semconv; the same through the blocking and the async proxies."""
    transport = in_mode(TRANSPORTS[name], mode)
    port, server_spans = servers.start("server", transport)
    client_spans = tmp_path / "client.spans"
    assert call(spawn, client_spans, transport, port, "relay", "client") == {"result": "client>server"}
    servers.stop()
    clients, served = read_spans(client_spans), read_spans(server_spans)
    expected_name = f"{transport.service}/relay"
    client = only(clients, name=expected_name)
    server = only(served, name=expected_name)
    assert (client["kind"], server["kind"]) == ("CLIENT", "SERVER")
    assert server["trace_id"] == client["trace_id"]
    assert server["parent_span_id"] == client["span_id"]
    assert client["parent_span_id"] is None
    common = {"rpc.system": transport.system, "rpc.service": transport.service, "rpc.method": "relay",
              "server.address": "127.0.0.1", "server.port": port}
    assert client["attributes"] == common
    assert {k: server["attributes"][k] for k in common} == common
    assert server["attributes"]["client.address"] == "127.0.0.1"
    assert client["status"] == server["status"] == "UNSET"


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_a_failed_call_records_the_exception_type_on_both_sides(name, mode, servers, spawn, tmp_path):
    """A call whose service raises is an ERROR span with error.type and an exception event, client and
    server; the same through the blocking and the async proxies."""
    transport = in_mode(TRANSPORTS[name], mode)
    port, server_spans = servers.start("server", transport)
    client_spans = tmp_path / "client.spans"
    assert call(spawn, client_spans, transport, port, "fail", "missing")["remote_type"] == "builtins.KeyError"
    servers.stop()
    client = only(read_spans(client_spans), name=f"{transport.service}/fail")
    server = only(read_spans(server_spans), name=f"{transport.service}/fail")
    assert server["parent_span_id"] == client["span_id"]
    for span in (client, server):
        assert span["status"] == "ERROR"
        assert span["attributes"]["error.type"] == "builtins.KeyError"
        assert [e["name"] for e in span["events"]] == ["exception"]
    assert server["events"][0]["attributes"]["exception.type"] == "KeyError"


def test_one_trace_follows_a_call_through_pyro_hessian_and_xmlrpc(servers, spawn, tmp_path):
    """client -> Pyro5 -> Hessian -> XML-RPC in separate processes: one trace, each span the child of the one before."""
    last_port, last_spans = servers.start("xmlrpc", TRANSPORTS["xmlrpc"])
    middle_port, middle_spans = servers.start("hessian", TRANSPORTS["hessian"],
                                              next_hop=(TRANSPORTS["xmlrpc"], last_port))
    first_port, first_spans = servers.start("pyro", TRANSPORTS["pyro5"], next_hop=(TRANSPORTS["hessian"], middle_port))
    client_spans = tmp_path / "client.spans"
    outcome = call(spawn, client_spans, TRANSPORTS["pyro5"], first_port, "relay", "client")
    assert outcome == {"result": "client>pyro>hessian>xmlrpc"}
    servers.stop()
    chain = [
        only(read_spans(client_spans), kind="CLIENT", name="hop/relay"),
        only(read_spans(first_spans), kind="SERVER", name="hop/relay"),
        only(read_spans(first_spans), kind="CLIENT", name="rpc/hop/relay"),
        only(read_spans(middle_spans), kind="SERVER", name="rpc/hop/relay"),
        only(read_spans(middle_spans), kind="CLIENT", name="rpc/hop/relay"),
        only(read_spans(last_spans), kind="SERVER", name="rpc/hop/relay"),
    ]
    assert [s["attributes"]["rpc.system"] for s in chain] == ["pyro5", "pyro5", "hessian", "hessian", "xmlrpc",
                                                                "xmlrpc"]
    assert len({s["trace_id"] for s in chain}) == 1
    assert chain[0]["parent_span_id"] is None
    for parent, child in zip(chain, chain[1:]):
        assert child["parent_span_id"] == parent["span_id"], (parent, child)


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_calls_work_with_only_the_api_on_either_side(name, servers, spawn, tmp_path):
    """A client without an SDK starts no trace (the server's span is a root); a server without one still answers."""
    transport = TRANSPORTS[name]
    port, server_spans = servers.start("server", transport)
    untraced_port, _ = servers.start("untraced", transport, sdk=False)
    assert call(spawn, None, transport, port, "relay", "plain") == {"result": "plain>server"}
    client_spans = tmp_path / "client.spans"
    assert call(spawn, client_spans, transport, untraced_port, "relay", "traced") == {"result": "traced>untraced"}
    servers.stop()
    assert only(read_spans(server_spans), name=f"{transport.service}/relay")["parent_span_id"] is None
    assert only(read_spans(client_spans), kind="CLIENT")["attributes"]["server.port"] == untraced_port


def test_a_stdlib_xmlrpc_client_without_trace_context_is_served_in_a_new_trace(servers):
    """xmlrpc.client sends no traceparent: the call works and the server's span starts a trace."""
    port, server_spans = servers.start("server", TRANSPORTS["xmlrpc"])
    with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/rpc/hop") as proxy:
        assert proxy.relay("stdlib") == "stdlib>server"
    servers.stop()
    span = only(read_spans(server_spans), name="rpc/hop/relay")
    assert (span["kind"], span["parent_span_id"]) == ("SERVER", None)


def test_the_chapters_sslclient_is_traced_like_a_proxy_factory(servers, spawn, tmp_path, pki):
    """SSLClient calls are CLIENT spans whose context reaches the TLS XML-RPC exporter's SERVER span."""
    tls = (f'<property name="certfile" value="{pki.server_cert}"/>'
           f'<property name="keyfile" value="{pki.server_key}"/>')
    port, server_spans = servers.start("server", TRANSPORTS["xmlrpc"], extra=tls)
    client_spans = tmp_path / "client.spans"
    proc = spawn([CHILD, client_spans, "sslclient", f"https://127.0.0.1:{port}/rpc/hop", pki.ca_chain, "relay", "ssl"],
                 cwd=HERE)
    out, err = proc.communicate(timeout=60)
    assert json.loads(out) == {"result": "ssl>server"}, err
    servers.stop()
    client = only(read_spans(client_spans), name="rpc/hop/relay")
    server = only(read_spans(server_spans), name="rpc/hop/relay")
    assert (client["kind"], client["attributes"]["rpc.system"], client["attributes"]["server.port"]) == (
        "CLIENT", "xmlrpc", port)
    assert (server["trace_id"], server["parent_span_id"]) == (client["trace_id"], client["span_id"])


def test_without_a_tracer_provider_nothing_is_propagated():
    """This process installs no SDK: tracing is off and no trace header or annotation is made."""
    assert not tracing.active()
    assert tracing.http_headers() == b""
    assert tracing.annotation() is None


def test_trace_context_annotation_round_trips():
    """The Pyro annotation carries the propagation fields as name: value lines; junk reads as no context."""
    carrier = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "a=1"}
    value = "".join(f"{k}: {v}\n" for k, v in carrier.items()).encode()
    assert tracing.carrier_from_annotation(value) == carrier
    assert tracing.carrier_from_annotation(b"\xff\xfe") is None
    assert tracing.carrier_from_annotation(None) is None


@pytest.mark.parametrize("header, expected", [
    ("127.0.0.1:8080", ("127.0.0.1", 8080)),
    ("[::1]:443", ("::1", 443)),
    ("[::1]", ("::1", None)),
    ("example.org", ("example.org", None)),
    (None, (None, None)),
])
def test_host_header_gives_the_server_address(header, expected):
    """server.address and server.port of a served HTTP call come from its Host header."""
    assert tracing.host_and_port(header) == expected


def test_the_provider_checks_read_the_api_globals():
    """The tracer and meter provider checks read the API's globals (the fast checks); a changed API shows here."""
    from opentelemetry import trace
    from opentelemetry.metrics import _internal

    assert hasattr(trace, "_TRACER_PROVIDER") and hasattr(_internal, "_METER_PROVIDER")
    assert tracing.tracing_on is tracing._active_by_global
    assert call_metrics.active is call_metrics._active_by_global
    assert tracing._active_by_global() == tracing._active_by_api() is False
    assert call_metrics._active_by_global() == call_metrics._active_by_api() is False
    assert tracing.active is tracing._active_by_globals
    assert not tracing.active()


def test_a_target_makes_each_methods_names_once_and_keeps_a_bounded_number():
    """A method's span name and attribute dicts are made on its first call and shared
    after; past the bound (a peer names the method) they are made per call, equal."""
    target = tracing.Target("xmlrpc", "rpc/hop", "127.0.0.1", 8080)
    first = target.method("relay")
    assert target.method("relay") is first
    assert first.span_name == "rpc/hop/relay"
    assert first.attributes == {"rpc.system": "xmlrpc", "rpc.service": "rpc/hop", "server.address": "127.0.0.1",
                                "server.port": 8080, "rpc.method": "relay"}
    assert first.labels == {"rpc.system": "xmlrpc", "rpc.service": "rpc/hop", "rpc.method": "relay"}
    for number in range(tracing._METHODS_KEPT + 10):
        target.method(f"m{number}")
    assert len(target.methods) == tracing._METHODS_KEPT
    late = target.method("late")
    assert late is not target.method("late")
    assert (late.span_name, late.attributes["rpc.method"], late.labels["rpc.method"]) == ("rpc/hop/late", "late", "late")
    assert tracing.Target("pyro5", "").method("add").span_name == "add"


def read_points(path: Path) -> dict[tuple[str, str, str | None], int]:
    """Histogram counts by (metric name, rpc.method, error.type)."""
    points: dict[tuple[str, str, str | None], int] = {}
    for line in path.read_text().splitlines():
        point = json.loads(line)
        attributes = point["attributes"]
        assert point["unit"] == "ms"
        key = (point["name"], attributes["rpc.method"], attributes.get("error.type"))
        points[key] = points.get(key, 0) + point["count"]
    return points


@pytest.mark.parametrize("name", sorted(TRANSPORTS))
def test_call_durations_count_calls_and_errors_per_method_on_both_sides(name, servers, spawn, tmp_path):
    """rpc.client.duration and rpc.server.duration count each method's calls, failed ones by error.type."""
    transport = TRANSPORTS[name]
    port, server_spans = servers.start("server", transport)
    for n, (method, arg) in enumerate([("relay", "a"), ("fail", "missing"), ("fail", "gone")]):
        call(spawn, tmp_path / f"client{n}.spans", transport, port, method, arg)
    servers.stop()
    assert read_points(Path(f"{server_spans}.metrics")) == {
        ("rpc.server.duration", "relay", None): 1,
        ("rpc.server.duration", "fail", "builtins.KeyError"): 2,
    }
    clients: dict[tuple[str, str, str | None], int] = {}
    for n in range(3):
        for key, count in read_points(tmp_path / f"client{n}.spans.metrics").items():
            clients[key] = clients.get(key, 0) + count
    assert clients == {("rpc.client.duration", "relay", None): 1,
                       ("rpc.client.duration", "fail", "builtins.KeyError"): 2}
    point = json.loads((tmp_path / "client0.spans.metrics").read_text().splitlines()[0])
    assert point["attributes"] == {"rpc.system": transport.system, "rpc.service": transport.service,
                                   "rpc.method": "relay"}


LATE_TRACING = """
import sys
sys.path.insert(0, {here!r})
import tracing_child
from springpython.remoting.pyro import {engine}ServiceExporter as Exporter, {engine}ProxyFactory as Factory

exporter = Exporter(service=tracing_child.Hop(), service_name="hop", service_host="127.0.0.1", service_port=0)
exporter.after_properties_set()
with Factory(service_url=exporter.service_url) as proxy:
    assert proxy.relay("before") == "before>hop"
    tracing_child.install_sdk({spans!r})
    assert proxy.relay("after") == "after>hop"
exporter.destroy()
print("DONE", flush=True)
"""


@pytest.mark.parametrize("engine", ["Pyro5", "Pyro4"])
def test_a_pyro_exporter_traces_once_tracing_is_turned_on_after_it_started(engine, spawn, tmp_path):
    """Tracing installed while a Pyro exporter serves: calls after it get a SERVER span."""
    spans = tmp_path / "spans.jsonl"
    child = spawn(["-c", LATE_TRACING.format(here=str(HERE), engine=engine, spans=str(spans))])
    out, err = child.communicate(timeout=60)
    assert "DONE" in out, err
    server = only(read_spans(spans), kind="SERVER")
    assert server["name"] == "hop/relay"
