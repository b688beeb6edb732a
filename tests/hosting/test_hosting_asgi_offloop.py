"""Under uvicorn, a service with ``async def`` methods has its requests decoded and
its replies encoded beside the event loop, not on it: while large requests are read,
other callers' calls are answered at once."""

from __future__ import annotations

import threading
import time

import pytest
from helpers_hosting import start, stop, uvicorn_args
from support import free_port

from springpython.errors import RemoteFault
from springpython.remoting.hessian import HessianProxyFactory

SERVICE = '''\
import asyncio
import threading


class Store:
    async def ping(self):
        return "pong"

    async def size(self, items):
        return len(items)

    async def shout(self):
        raise SystemExit("a service that tries to end the server")

    async def give_up(self):
        raise asyncio.CancelledError()
'''

SERVER_XML = '''\
<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="store" class="service.Store"/>
    <object id="hessian" class="springpython.remoting.hessian.HessianServiceExporter">
        <property name="service" ref="store"/>
        <property name="service_port"><value>{port}</value></property>
        <property name="path"><value>/hessian</value></property>
        <property name="max_body_size"><value>16777216</value></property>
    </object>
</objects>
'''

#: A request body of about 8 MiB that takes the server a good fraction of a second to decode.
ITEMS = list(range(1_600_000))
BIG_CALLS = 3


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    directory = tmp_path_factory.mktemp("asgi-offloop")
    (directory / "service.py").write_text(SERVICE)
    (directory / "server.xml").write_text(SERVER_XML.format(port=free_port()))
    (directory / "app.py").write_text('from springpython.hosting import asgi_app\napp = asgi_app("server.xml")\n')
    port = free_port()
    proc = start(uvicorn_args(port), directory, port)
    yield f"http://127.0.0.1:{port}/hessian"
    stop(proc)


def test_large_requests_do_not_stall_other_callers(url):
    """While 8 MiB requests are decoded, pings on other connections are answered far
    sooner than one large call takes (decoded on the loop, each ping would wait for a
    whole decode)."""
    big = HessianProxyFactory(service_url=url, timeout=60)
    pinger = HessianProxyFactory(service_url=url, timeout=60)
    durations: list[float] = []
    latencies: list[float] = []
    done = threading.Event()

    def load() -> None:
        try:
            for _ in range(BIG_CALLS):
                start_at = time.perf_counter()
                assert big.size(ITEMS) == len(ITEMS)
                durations.append(time.perf_counter() - start_at)
        finally:
            done.set()

    try:
        assert pinger.ping() == "pong"
        loader = threading.Thread(target=load)
        loader.start()
        while not done.is_set():
            start_at = time.perf_counter()
            assert pinger.ping() == "pong"
            latencies.append(time.perf_counter() - start_at)
            time.sleep(0.005)
        loader.join()
    finally:
        big.destroy()
        pinger.destroy()
    assert len(durations) == BIG_CALLS
    print(f"large calls {[round(d, 3) for d in durations]} s, slowest ping {max(latencies):.3f} s "
          f"of {len(latencies)}")
    assert max(latencies) < min(durations) / 3


def test_a_service_base_exception_is_a_fault_and_the_server_goes_on(url):
    """Coroutines that raise SystemExit or CancelledError get their callers a fault, as
    on the embedded server, and the server keeps answering."""
    proxy = HessianProxyFactory(service_url=url, timeout=30)
    try:
        for method in (proxy.shout, proxy.give_up):
            with pytest.raises(RemoteFault):
                method()
            assert proxy.ping() == "pong"
    finally:
        proxy.destroy()
