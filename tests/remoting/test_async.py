"""asyncio on every transport: async proxies await remote calls concurrently, and
services whose methods are ``async def`` are served to blocking and async clients
alike, on one event loop per exporter."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
import textwrap

import pytest
from async_services import Napper
from contract_services import ASYNC_PROXIES, TRANSPORTS

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.errors import ConfigurationError, RemoteFault
from springpython.remoting.invocation import ServiceLoop

HOST = "127.0.0.1"
CALLS = 50
NAP_MS = 50


def export_napper(transport):
    """A Napper exported on ``transport``, while the fixture that uses it lasts: (transport, exporter)."""
    exporter_cls, _ = TRANSPORTS[transport]
    exporter = exporter_cls(service=Napper(), service_name="Napper", service_host=HOST, service_port=0)
    exporter.after_properties_set()
    yield transport, exporter
    exporter.destroy()


@pytest.fixture(autouse=True)
def collect_closed_loops():
    """Connections of event loops a test closed without aclose() are finalized before the
    test ends, not by a later collection in the middle of another test (CPython 3.11
    reports a finalizer run inside ``ast.parse`` as a SystemError)."""
    yield
    gc.collect()


@pytest.fixture(params=sorted(TRANSPORTS))
def exported(request):
    """A Napper exported on each transport in turn: (transport, exporter)."""
    yield from export_napper(request.param)


def test_fifty_concurrent_awaits_overlap(exported):
    """50 concurrent awaits of an async def method that sleeps 50 ms, through the async
    proxy, take well under the 2.5 s they would take one after another."""
    transport, exporter = exported

    async def main() -> tuple[list[int], float]:
        async with ASYNC_PROXIES[transport](service_url=exporter.service_url) as proxy:
            assert await proxy.nap(1) == 1  # connected and warm
            start = time.perf_counter()
            results = await asyncio.gather(*(proxy.nap(NAP_MS) for _ in range(CALLS)))
            return results, time.perf_counter() - start

    results, elapsed = asyncio.run(main())
    assert results == [NAP_MS] * CALLS
    assert elapsed < CALLS * NAP_MS / 1000 / 3, f"{CALLS} concurrent calls took {elapsed:.2f}s"


def test_sync_and_async_clients_call_async_and_plain_methods(exported):
    """A blocking proxy and an async proxy both call the coroutine methods and the plain
    one; a coroutine's exception keeps the contract; the coroutines run on the exporter's
    one loop thread."""
    transport, exporter = exported
    sync_proxy = TRANSPORTS[transport][1](service_url=exporter.service_url)
    try:
        assert sync_proxy.nap(5) == 5
        assert sync_proxy.add(2, 3) == 5
        with pytest.raises(KeyError) as caught:
            sync_proxy.fail("gone")
        assert isinstance(caught.value, RemoteFault)
        threads = {sync_proxy.where() for _ in range(3)}
    finally:
        sync_proxy.destroy()

    async def main() -> set[str]:
        async with ASYNC_PROXIES[transport](service_url=exporter.service_url) as proxy:
            assert await proxy.add(1, 1) == 2
            with pytest.raises(KeyError):
                await proxy.fail("gone")
            return set(await asyncio.gather(*(proxy.where() for _ in range(5))))

    threads |= asyncio.run(main())
    (name,) = threads
    assert name.startswith("springpython-loop-Napper")


def test_the_service_loop_stops_with_the_exporter(exported):
    """The exporter's loop thread starts with the first coroutine and ends at destroy()."""
    transport, exporter = exported
    proxy = TRANSPORTS[transport][1](service_url=exporter.service_url)
    try:
        proxy.nap(1)
    finally:
        proxy.destroy()
    assert [t for t in threading.enumerate() if t.name.startswith("springpython-loop-")]
    exporter.destroy()
    assert not [t for t in threading.enumerate() if t.name.startswith("springpython-loop-")]


def test_one_async_proxy_serves_several_event_loops(exported):
    """Connections belong to the loop that opened them: the same proxy is used from two
    asyncio.run() calls, closing each loop's connections with aclose()."""
    transport, exporter = exported
    proxy = ASYNC_PROXIES[transport](service_url=exporter.service_url)
    proxy.after_properties_set()

    async def call() -> int:
        try:
            return await proxy.add(20, 22)
        finally:
            await proxy.aclose()

    assert asyncio.run(call()) == 42
    assert asyncio.run(call()) == 42
    assert proxy.connections == 0


@pytest.mark.parametrize("transport", sorted(ASYNC_PROXIES))
def test_async_proxies_are_configured_from_xml(transport, tmp_path):
    """An async proxy factory is a bean like its twin: a bad property fails the context
    start naming file, line and object id."""
    cls = ASYNC_PROXIES[transport]
    url = "PYRO:Calc@127.0.0.1:1" if transport.startswith("pyro") else "http://127.0.0.1:1/"
    path = tmp_path / "client.xml"
    path.write_text(textwrap.dedent(f"""\
        <?xml version="1.0"?>
        <objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
            <object id="calc" class="{cls.__module__}.{cls.__qualname__}">
                <property name="service_url" value="{url}"/>
                <property name="timeout" value="-x"/>
            </object>
        </objects>
        """))
    with pytest.raises(ConfigurationError) as caught:
        ApplicationContext(XMLConfig(str(path)))
    assert caught.value.line == 3 and caught.value.object_id == "calc"


def test_max_threads_garbage_fails_at_start():
    """A Pyro async proxy's max_threads below 1 fails at start, naming the property."""
    cls = ASYNC_PROXIES["pyro5"]
    with pytest.raises(ConfigurationError, match="max_threads must be at least 1"):
        cls(service_url="PYRO:Calc@127.0.0.1:1", max_threads=0).after_properties_set()


def test_a_cancelled_call_leaves_the_proxy_usable(exported):
    """An awaited call cancelled mid-flight (wait_for's timeout) raises there; the proxy's
    next call gets its answer (the HTTP proxies drop the cancelled call's connection)."""
    transport, exporter = exported

    async def main() -> int:
        async with ASYNC_PROXIES[transport](service_url=exporter.service_url) as proxy:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(proxy.nap(300), 0.05)
            return await proxy.add(1, 2)

    assert asyncio.run(main()) == 3



def test_closing_the_service_loop_ends_a_call_whose_coroutine_cleans_up():
    """ServiceLoop.close() while a thread waits for a coroutine that awaits in its
    clean-up: the coroutine runs to its end (as under asyncio.run) and the waiting
    thread gets an error instead of waiting forever."""
    loop = ServiceLoop("Tidy")
    started = threading.Event()
    cleaned = threading.Event()

    async def work() -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        finally:
            await asyncio.sleep(0.05)  # a clean-up that takes a few turns of the loop
            cleaned.set()
        return "finished"

    outcome: list[BaseException | str] = []

    def call() -> None:
        try:
            outcome.append(loop.run(work()))
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    assert started.wait(10)
    loop.close()
    caller.join(10)
    assert not caller.is_alive(), "the calling thread still waits for a loop that is gone"
    assert cleaned.is_set()
    (error,) = outcome
    assert isinstance(error, RuntimeError) and "cancelled" in str(error)
    refused = work()
    with pytest.raises(RuntimeError, match="closed"):
        loop.run(refused)
    assert refused.cr_frame is None, "a refused coroutine is closed, not left to be reported as never awaited"


def test_a_coroutine_raising_system_exit_leaves_the_service_loop_running():
    """SystemExit raised by a service coroutine goes to its caller; the loop goes on
    running the next coroutines (raised from a task it would stop the loop)."""
    loop = ServiceLoop("Quitter")

    async def leave() -> None:
        raise SystemExit("a service that tries to end the process")

    async def answer() -> int:
        return 42

    try:
        with pytest.raises(SystemExit):
            loop.run(leave())
        assert loop.run(answer()) == 42
    finally:
        loop.close()


HTTP_TRANSPORTS = ["hessian", "xmlrpc"]


@pytest.fixture(params=HTTP_TRANSPORTS)
def http_exported(request):
    """A Napper exported on each HTTP transport: (transport, exporter)."""
    yield from export_napper(request.param)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_fifty_event_loops_leave_no_connections_behind(http_exported):
    """One proxy used from 50 asyncio.run() calls without aclose(): each closed loop's
    pool and sockets go at the next loop's first call, so open files stay flat."""
    transport, exporter = http_exported
    proxy = ASYNC_PROXIES[transport](service_url=exporter.service_url)
    proxy.after_properties_set()

    async def call() -> int:
        return await proxy.add(1, 2)

    try:
        assert asyncio.run(call()) == 3
        before = open_fds()
        for _ in range(50):
            assert asyncio.run(call()) == 3
        after = open_fds()
        assert after - before <= 4, f"{after - before} more open files after 50 event loops"
        assert proxy.connections == 1  # the last loop's, which has closed too
    finally:
        proxy.destroy()
    assert proxy.connections == 0
    assert open_fds() <= before


def test_calls_after_aclose_and_destroy_open_connections_that_are_counted_and_closed(http_exported):
    """A loop calling again after aclose() or destroy() gets a new pool of the proxy's:
    its connection is counted, and the next aclose() closes it."""
    transport, exporter = http_exported
    proxy = ASYNC_PROXIES[transport](service_url=exporter.service_url)
    proxy.after_properties_set()

    async def main() -> list[int]:
        counts = []
        for close in (proxy.aclose, proxy.destroy, proxy.aclose):
            assert await proxy.add(1, 2) == 3
            counts.append(proxy.connections)
            outcome = close()
            if outcome is not None:
                await outcome
            counts.append(proxy.connections)
        return counts

    try:
        assert asyncio.run(main()) == [1, 0, 1, 0, 1, 0]
    finally:
        proxy.destroy()


def test_aclose_in_one_thread_leaves_other_threads_calls_alone(http_exported):
    """``async with proxy:`` ending in one thread closes that loop's connections only: a
    call in flight on another thread's loop gets its answer."""
    transport, exporter = http_exported
    proxy = ASYNC_PROXIES[transport](service_url=exporter.service_url)
    proxy.after_properties_set()
    in_flight = threading.Event()
    results: list[object] = []

    async def slow() -> int:
        call = asyncio.ensure_future(proxy.nap(400))
        await asyncio.sleep(0.1)
        in_flight.set()
        return await call

    def other_thread() -> None:
        try:
            results.append(asyncio.run(slow()))
        except Exception as exc:
            results.append(exc)

    async def brief() -> int:
        async with proxy:
            return await proxy.add(2, 2)

    worker = threading.Thread(target=other_thread)
    worker.start()
    try:
        assert in_flight.wait(10)
        assert asyncio.run(brief()) == 4
        worker.join(10)
        assert results == [400]
    finally:
        worker.join(10)
        proxy.destroy()
