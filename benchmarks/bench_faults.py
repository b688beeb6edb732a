"""The remote-exception path: a call that raises ``ZeroDivisionError`` on the server,
caught on the client, per transport, against the same transport's raw library
raising the same exception (target: at least 0.9 of its calls per second).

- Pyro5 and Pyro4: our exporter and proxy factory against a raw daemon with an
  ``@expose``-d object and a raw proxy.
- Hessian: our proxy factory against python-hessian's ``HessianProxy``, both calling
  our exporter (python-hessian has no server).
- XML-RPC: our exporter and proxy factory against the standard library's
  ``SimpleXMLRPCServer`` (threaded) and ``ServerProxy``, over plain HTTP.

The two sides of a row alternate in short rounds so that load on the machine falls
on both alike; each figure is the best round."""

from __future__ import annotations

import socketserver
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator
from xmlrpc.server import SimpleXMLRPCServer

import Pyro4
import Pyro5.api
import Pyro5.server

from benchmarks._harness import Result, rate
from springpython.remoting.hessian import HessianProxyFactory, HessianServiceExporter
from springpython.remoting.pyro import (
    Pyro4ProxyFactory,
    Pyro4ServiceExporter,
    Pyro5ProxyFactory,
    Pyro5ServiceExporter,
)
from springpython.remoting.xmlrpc import XMLRPCProxyFactory, XMLRPCServiceExporter

TARGET = 0.9
HOST = "127.0.0.1"


class Service:
    """The benchmarked service: one method that always raises."""

    def div(self, a: int, b: int) -> float:
        return a / b


@Pyro5.server.expose
class Pyro5Service:
    div = Service.div


@Pyro4.expose
class Pyro4Service:
    div = Service.div


def _raising(call: Callable[[], Any]) -> Callable[[], None]:
    def run() -> None:
        try:
            call()
        except ZeroDivisionError:
            return
        raise AssertionError("the call did not raise ZeroDivisionError")

    return run


@contextmanager
def _ours(exporter_cls: type, proxy_cls: type) -> Iterator[Callable[[], None]]:
    exporter = exporter_cls(service=Service(), service_name="Bench", service_host=HOST, service_port=0)
    exporter.after_properties_set()
    proxy = proxy_cls(service_url=exporter.service_url)
    proxy.after_properties_set()
    try:
        yield _raising(lambda: proxy.div(1, 0))
    finally:
        proxy.destroy()
        exporter.destroy()


@contextmanager
def _raw_pyro(daemon_cls: type, proxy_cls: type, service_cls: type) -> Iterator[Callable[[], None]]:
    daemon = daemon_cls(host=HOST, port=0)
    uri = daemon.register(service_cls(), "Bench")
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()
    proxy = proxy_cls(uri)
    try:
        yield _raising(lambda: proxy.div(1, 0))
    finally:
        proxy._pyroRelease()
        daemon.shutdown()
        thread.join()


@contextmanager
def _pyhessian() -> Iterator[Callable[[], None]]:
    from pyhessian.client import HessianProxy
    from pyhessian.protocol import Fault

    exporter = HessianServiceExporter(service=Service(), service_host=HOST, service_port=0)
    exporter.after_properties_set()
    proxy = HessianProxy(exporter.service_url, timeout=30)

    def call() -> None:
        try:
            proxy.div(1, 0)
        except Fault:
            return
        raise AssertionError("the call did not fault")

    try:
        yield call
    finally:
        exporter.destroy()


class _ThreadingXMLRPCServer(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True


@contextmanager
def _stdlib_xmlrpc() -> Iterator[Callable[[], None]]:
    import xmlrpc.client

    server = _ThreadingXMLRPCServer((HOST, 0), logRequests=False)
    server.register_instance(Service())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proxy = xmlrpc.client.ServerProxy(f"http://{HOST}:{server.server_address[1]}/RPC2")

    def call() -> None:
        try:
            proxy.div(1, 0)
        except xmlrpc.client.Fault:
            return
        raise AssertionError("the call did not fault")

    try:
        yield call
    finally:
        proxy("close")()
        server.shutdown()
        server.server_close()
        thread.join()


def _compare(ours: Callable[[], None], theirs: Callable[[], None], rounds: int, seconds: float) -> tuple[float, float]:
    best_ours = best_theirs = 0.0
    for _ in range(rounds):
        best_ours = max(best_ours, rate(ours, seconds, rounds=1))
        best_theirs = max(best_theirs, rate(theirs, seconds, rounds=1))
    return best_ours, best_theirs


def run(quick: bool = False) -> list[Result]:
    seconds = 0.2
    rounds = 3 if quick else 10
    cases: list[tuple[str, Any, Any, str]] = [
        ("Pyro5", lambda: _ours(Pyro5ServiceExporter, Pyro5ProxyFactory),
         lambda: _raw_pyro(Pyro5.api.Daemon, Pyro5.api.Proxy, Pyro5Service), "raw Pyro5"),
        ("Pyro4", lambda: _ours(Pyro4ServiceExporter, Pyro4ProxyFactory),
         lambda: _raw_pyro(Pyro4.Daemon, Pyro4.Proxy, Pyro4Service), "raw Pyro4"),
        ("Hessian", lambda: _ours(HessianServiceExporter, HessianProxyFactory), _pyhessian,
         "pyhessian HessianProxy"),
        ("XML-RPC", lambda: _ours(XMLRPCServiceExporter, XMLRPCProxyFactory), _stdlib_xmlrpc,
         "stdlib SimpleXMLRPCServer"),
    ]
    results = []
    for name, ours_cm, theirs_cm, baseline in cases:
        with ours_cm() as ours, theirs_cm() as theirs:
            mine, raw = _compare(ours, theirs, rounds, seconds)
        results.append(Result("faults", f"{name}: a call that raises ZeroDivisionError", mine, raw, "calls/s",
                              TARGET, baseline_name=baseline))
    return results
