"""Pyro: ``PyroProxyFactory`` -> ``PyroServiceExporter`` against a raw Pyro5 proxy
calling an ``@expose``-d object on a raw Pyro5 daemon, and the same for Pyro4.

Three cases per engine, measured in the same run on 127.0.0.1: sequential calls of
a trivial method, sequential calls echoing a 10 KB string, and 8 client threads
calling the trivial method in parallel (each thread with its own raw proxy; the
proxy factory is shared by the 8 threads, which is how it is meant to be used)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import Pyro4
import Pyro5.api
import Pyro5.server

from benchmarks._harness import Result, rate, rate_threads
from springpython.remoting.pyro import (
    Pyro4ProxyFactory,
    Pyro4ServiceExporter,
    PyroProxyFactory,
    PyroServiceExporter,
)

TARGET = 0.95
CLIENTS = 8
PAYLOAD = "x" * 10_240


class Service:
    """The benchmarked service: no Pyro decorator (our exporters need none)."""

    def ping(self) -> int:
        return 1

    def echo(self, value: Any) -> Any:
        return value


@Pyro5.server.expose
class Pyro5Service:
    """The same service for the raw Pyro5 daemon (``@expose`` marks its own methods only)."""

    ping = Service.ping
    echo = Service.echo


@Pyro4.expose
class Pyro4Service:
    """The same service for the raw Pyro4 daemon."""

    ping = Service.ping
    echo = Service.echo


@contextmanager
def _ours(exporter_cls: type, proxy_cls: type) -> Iterator[Callable[[], Any]]:
    exporter = exporter_cls(service=Service(), service_name="Bench", service_host="127.0.0.1", service_port=0)
    exporter.after_properties_set()
    proxy = proxy_cls(service_url=exporter.service_url)
    try:
        yield lambda: proxy  # one proxy factory, shared by every caller and thread
    finally:
        proxy.destroy()
        exporter.destroy()


@contextmanager
def _raw(daemon_cls: type, proxy_cls: type, service_cls: type) -> Iterator[Callable[[], Any]]:
    daemon = daemon_cls(host="127.0.0.1", port=0)
    uri = daemon.register(service_cls(), "Bench")
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()
    proxies: list[Any] = []
    lock = threading.Lock()

    def make() -> Any:
        proxy = proxy_cls(uri)
        with lock:
            proxies.append(proxy)
        return proxy

    try:
        yield make
    finally:
        for proxy in proxies:
            _release(proxy)
        daemon.shutdown()
        thread.join()


def _measure(case: str, make: Callable[[], Any], proxy: Any, seconds: float) -> float:
    if case == "trivial":
        return rate(proxy.ping, seconds, rounds=1)
    if case == "payload":
        return rate(lambda: proxy.echo(PAYLOAD), seconds, rounds=1)

    made: list[Any] = []

    def per_thread() -> Callable[[], object]:
        local = threading.local()

        def call() -> object:
            p = getattr(local, "proxy", None)
            if p is None:  # a raw Pyro5 proxy belongs to the thread that made it
                p = local.proxy = make()
                made.append(p)
            return p.ping()

        return call

    try:
        return rate_threads(per_thread, CLIENTS, seconds)
    finally:
        # both sides close this round's connections outside the timed window: the raw
        # proxies made by the threads, and the proxy factory's per-thread connections
        # (it stays usable and connects again on its next call)
        for p in {id(p): p for p in made}.values():
            if p is proxy:
                proxy.destroy()
            else:
                _release(p)


def _release(proxy: Any) -> None:
    if hasattr(proxy, "_pyroClaimOwnership"):
        proxy._pyroClaimOwnership()
    proxy._pyroRelease()


CASES = (("trivial", "trivial call"), ("payload", "10 KB payload"), ("threads", f"{CLIENTS} client threads"))


def run(quick: bool = False) -> list[Result]:
    seconds = 0.2
    rounds = 4 if quick else 24
    results = []
    engines = [
        ("pyro5", "raw Pyro5", (PyroServiceExporter, PyroProxyFactory),
         (Pyro5.server.Daemon, Pyro5.api.Proxy, Pyro5Service)),
        ("pyro4", "raw Pyro4", (Pyro4ServiceExporter, Pyro4ProxyFactory),
         (Pyro4.Daemon, Pyro4.Proxy, Pyro4Service)),
    ]
    for group, baseline_name, ours_args, raw_args in engines:
        with _ours(*ours_args) as ours, _raw(*raw_args) as raw:
            ours_proxy, raw_proxy = ours(), raw()
            for case, label in CASES:
                # short alternating bursts, best of each side: on a shared machine a
                # noisy moment then hits both sides alike instead of deciding the ratio
                best_ours = best_raw = 0.0
                for _ in range(rounds):
                    best_ours = max(best_ours, _measure(case, ours, ours_proxy, seconds))
                    best_raw = max(best_raw, _measure(case, raw, raw_proxy, seconds))
                results.append(Result(group, label, best_ours, best_raw, "calls/s", TARGET,
                                      baseline_name=baseline_name))
    return results
