"""asyncio figures, each a ratio measured in one run.

* Sequential short calls: an async proxy awaiting ``add(1, 2)`` one call after
  another against its blocking twin on the same transport and exporter (a
  ``springpython run`` child process; both timed in each of 20 short rounds, in the
  order blocking, async, async, blocking, the figures those of the round with the
  median ratio) (target 0.9 for Hessian and XML-RPC; Pyro5's row is shown without a
  target: its async proxy hands every call to a pool thread and back, a cost the
  blocking proxy never pays).
* An I/O-bound service (a method awaiting 10 ms): 64 concurrent async clients through
  uvicorn (the ASGI path: the coroutine awaited on the server's loop) against the
  threaded embedded exporter (a plain method sleeping 10 ms) called by 8 client
  threads (target 4 times the calls per second). Both servers are child processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

from benchmarks._harness import Result, rate_threads
from benchmarks.bench_hosting import _env, _free_port, _wait_for_port

GROUP = "asyncio"
CLIENTS = 64
CLIENT_THREADS = 8
NAP_S = 0.01

SERVICE = '''\
import asyncio
import time


class Service:
    def add(self, a, b):
        return a + b

    async def wait(self):
        await asyncio.sleep(0.01)
        return 1

    def block(self):
        time.sleep(0.01)
        return 1
'''

SERVER_XML = '''\
<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="service" class="service.Service"/>
    <object id="hessian" class="springpython.remoting.hessian.HessianServiceExporter">
        <property name="service" ref="service"/>
        <property name="service_host"><value>127.0.0.1</value></property>
        <property name="service_port"><value>{port}</value></property>
        <property name="path"><value>/hessian</value></property>
    </object>
    <object id="xmlrpc" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
        <property name="service" ref="service"/>
        <property name="service_host"><value>127.0.0.1</value></property>
        <property name="service_port"><value>{port}</value></property>
        <property name="path"><value>/RPC2</value></property>
    </object>
    <object id="pyro" class="springpython.remoting.pyro.Pyro5ServiceExporter">
        <property name="service" ref="service"/>
        <property name="service_name"><value>Service</value></property>
        <property name="service_host"><value>127.0.0.1</value></property>
        <property name="service_port"><value>{pyro_port}</value></property>
    </object>
</objects>
'''




def _alternating(blocking: Callable[[], object], awaited: Callable[[], Awaitable[Any]], seconds: float,
                 rounds: int = 20) -> tuple[float, float]:
    """Calls per second of ``blocking()`` and of awaiting ``awaited()``, one call after
    another, in ``rounds`` short rounds of four slices: blocking, awaited, awaited,
    blocking. A noisy moment hits both sides of a round alike, and so does the switch
    from one side to the other (the first slice after it runs slower, up to twice as
    slow here: each side has one such slice per round). The figures are those of the
    round with the median ratio of the two: a ratio taken within rounds, not across
    them."""
    loop = asyncio.new_event_loop()
    try:
        async def awaiting(deadline: float) -> int:
            n = 0
            while True:
                await awaited()
                n += 1
                if n % 8 == 0 and time.perf_counter() >= deadline:
                    return n

        def timed_blocking(span: float) -> tuple[int, float]:
            n, start = 0, time.perf_counter()
            deadline = start + span
            while True:
                blocking()
                n += 1
                if n % 8 == 0 and time.perf_counter() >= deadline:
                    return n, time.perf_counter() - start

        def timed_awaited(span: float) -> tuple[int, float]:
            start = time.perf_counter()
            n = loop.run_until_complete(awaiting(start + span))
            return n, time.perf_counter() - start

        timed_blocking(0.02)  # warm up: connections, caches
        timed_awaited(0.02)
        span = seconds / rounds / 4
        measured: list[tuple[float, float, float]] = []
        for _ in range(rounds):
            (n1, t1), (n2, t2), (n3, t3), (n4, t4) = (
                timed_blocking(span), timed_awaited(span), timed_awaited(span), timed_blocking(span))
            sync_rate, async_rate = (n1 + n4) / (t1 + t4), (n2 + n3) / (t2 + t3)
            measured.append((async_rate / sync_rate, sync_rate, async_rate))
        _, sync_rate, async_rate = statistics.median_low(measured)
        return sync_rate, async_rate
    finally:
        loop.close()


def _sequential(directory: Path, seconds: float) -> list[Result]:
    from springpython.remoting.hessian import AsyncHessianProxyFactory, HessianProxyFactory
    from springpython.remoting.pyro import AsyncPyro5ProxyFactory, Pyro5ProxyFactory
    from springpython.remoting.xmlrpc import AsyncXMLRPCProxyFactory, XMLRPCProxyFactory

    port, pyro_port = _free_port(), _free_port()
    (directory / "sequential.xml").write_text(SERVER_XML.format(port=port, pyro_port=pyro_port))
    transports: list[tuple[str, str, Any, Any, float | None]] = [
        ("Hessian", f"http://127.0.0.1:{port}/hessian", HessianProxyFactory, AsyncHessianProxyFactory, 0.9),
        ("XML-RPC", f"http://127.0.0.1:{port}/RPC2", XMLRPCProxyFactory, AsyncXMLRPCProxyFactory, 0.9),
        ("Pyro5", f"PYRO:Service@127.0.0.1:{pyro_port}", Pyro5ProxyFactory, AsyncPyro5ProxyFactory, None),
    ]
    results = []
    server = _server(directory, ["-m", "springpython", "-q", "run", "sequential.xml"], port)
    try:
        _wait_for_port(pyro_port, server)
        for name, url, sync_cls, async_cls, target in transports:
            sync_proxy, async_proxy = sync_cls(service_url=url), async_cls(service_url=url)
            try:
                blocking, awaited = _alternating(lambda: sync_proxy.add(1, 2), lambda: async_proxy.add(1, 2),
                                                 seconds)
            finally:
                sync_proxy.destroy()
                async_proxy.destroy()
            results.append(Result(GROUP, f"{name} add, sequential: async proxy vs blocking proxy", awaited,
                                  blocking, "calls/s", target, baseline_name="blocking"))
    finally:
        _stop(server)
    return results


def _server(directory: Path, args: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, *args], cwd=directory, env=_env(directory),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_port(port, proc)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _concurrent_async(url: str, seconds: float) -> float:
    from springpython.remoting.hessian import AsyncHessianProxyFactory

    async def measure() -> float:
        async with AsyncHessianProxyFactory(service_url=url) as proxy:
            await asyncio.gather(*(proxy.wait() for _ in range(CLIENTS)))  # every connection open
            counts = [0] * CLIENTS
            end = time.perf_counter() + seconds

            async def client(i: int) -> None:
                while time.perf_counter() < end:
                    await proxy.wait()
                    counts[i] += 1

            start = time.perf_counter()
            await asyncio.gather(*(client(i) for i in range(CLIENTS)))
            return sum(counts) / (time.perf_counter() - start)

    return asyncio.run(measure())


def _threaded(url: str, seconds: float) -> float:
    from springpython.remoting.hessian import HessianProxyFactory

    proxies: list[Any] = []

    def make() -> Callable[[], object]:
        proxy = HessianProxyFactory(service_url=url)
        proxies.append(proxy)
        return proxy.block

    try:
        return rate_threads(make, CLIENT_THREADS, seconds)
    finally:
        for proxy in proxies:
            proxy.destroy()


def _io_bound(directory: Path, seconds: float) -> Result:
    port = _free_port()
    (directory / "server.xml").write_text(SERVER_XML.format(port=port, pyro_port=_free_port()))
    (directory / "app.py").write_text('from springpython.hosting import asgi_app\napp = asgi_app("server.xml")\n')
    url = f"http://127.0.0.1:{port}/hessian"
    embedded = _server(directory, ["-m", "springpython", "-q", "run", "server.xml"], port)
    try:
        threaded = _threaded(url, seconds)
    finally:
        _stop(embedded)
    uvicorn = _server(directory, ["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port),
                                  "--log-level", "warning", "--no-access-log"], port)
    try:
        awaited = _concurrent_async(url, seconds)
    finally:
        _stop(uvicorn)
    return Result(GROUP, f"10 ms I/O: {CLIENTS} async clients on uvicorn (async def) vs {CLIENT_THREADS} threads "
                  "on the embedded exporter", awaited, threaded, "calls/s", 4.0, baseline_name="embedded, threads")


def run(quick: bool = False) -> list[Result]:
    seconds = 1.0 if quick else 3.0
    directory = Path(tempfile.mkdtemp(prefix="bench-asyncio-"))
    try:
        (directory / "service.py").write_text(SERVICE)
        return [*_sequential(directory, seconds), _io_bound(directory, seconds)]
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover - a convenience for running this file alone
    from benchmarks._harness import print_table

    print_table(run(quick="--quick" in sys.argv))
    os._exit(0)
