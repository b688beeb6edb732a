"""The asyncio high-availability pool: async members awaited in turn, a member that
cannot be reached marked down and skipped, the all-down error when none answers."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import pytest
from test_ha_discovery import HOST, TAG, instances, nameserver  # noqa: F401 (fixtures)

from springpython.errors import AllEndpointsDownError, ConfigurationError
from springpython.remoting.ha import AsyncHighAvailabilityProxyFactory, EndpointState, HighAvailabilityProxyFactory
from springpython.remoting.hessian import AsyncHessianProxyFactory, HessianProxyFactory, HessianServiceExporter
from springpython.remoting.pyro import AsyncPyro5ProxyFactory, AsyncPyroProxyFactory, Pyro5ServiceExporter


class Where:
    def __init__(self, name):
        self.name = name

    async def who(self):
        await asyncio.sleep(0)
        return self.name


@pytest.fixture
def exporters():
    """A Hessian and a Pyro5 exporter of a service that says which one answered."""
    made = [HessianServiceExporter(service=Where("hessian"), service_host="127.0.0.1", service_port=0),
            Pyro5ServiceExporter(service=Where("pyro"), service_name="Where", service_host="127.0.0.1",
                                 service_port=0)]
    for exporter in made:
        exporter.after_properties_set()
    yield made
    for exporter in made:
        exporter.destroy()


def test_round_robin_over_async_members_of_two_transports(exporters):
    """Calls alternate between an async Hessian and an async Pyro5 member."""
    members = [AsyncHessianProxyFactory(service_url=exporters[0].service_url),
               AsyncPyro5ProxyFactory(service_url=exporters[1].service_url)]

    async def main() -> list[str]:
        async with AsyncHighAvailabilityProxyFactory(service_pool=members) as pool:
            pool.after_properties_set()
            return [await pool.who() for _ in range(4)]

    assert sorted(asyncio.run(main())) == ["hessian", "hessian", "pyro", "pyro"]


def test_a_member_that_is_down_is_skipped_then_all_down(exporters):
    """A member whose server is gone is marked down and the call goes to the other; with
    both gone the pool raises AllEndpointsDownError."""
    members = [AsyncHessianProxyFactory(service_url="http://127.0.0.1:1/"),
               AsyncHessianProxyFactory(service_url=exporters[0].service_url)]

    async def main() -> tuple[list[str], list[EndpointState]]:
        async with AsyncHighAvailabilityProxyFactory(service_pool=members, strategy="failover") as pool:
            pool.after_properties_set()
            answers = [await pool.who() for _ in range(3)]
            states = pool.endpoint_states()
            exporters[0].destroy()
            with pytest.raises(AllEndpointsDownError):
                await pool.who()
            return answers, states

    answers, states = asyncio.run(main())
    assert answers == ["hessian"] * 3
    assert [state.up for state in states] == [False, True]


def test_an_async_pool_calls_instances_found_in_a_name_server(nameserver, instances):
    """discovery_url: the found instances are called through async Pyro proxies (never a
    blocking call on the loop); endpoint_properties are checked against the async class
    (max_threads is one of its properties, not of PyroProxyFactory's)."""
    instances("async-a")
    instances("async-b")

    async def main() -> tuple[set[str], list[type]]:
        async with AsyncHighAvailabilityProxyFactory(
                discovery_url=f"PYROMETA:{TAG}@{HOST}:{int(nameserver)}", endpoint_properties={"max_threads": 2},
        ) as pool:
            pool.after_properties_set()
            seen = {await pool.whoami() for _ in range(4)}
            return seen, [type(p) for p in pool.endpoints]

    seen, classes = asyncio.run(main())
    assert seen == {"async-a", "async-b"}
    assert classes == [AsyncPyroProxyFactory, AsyncPyroProxyFactory]
    with pytest.raises(ConfigurationError, match="'bogus', which is not a property of AsyncPyroProxyFactory"):
        AsyncHighAvailabilityProxyFactory(discovery_url=f"PYROMETA:{TAG}@{HOST}:{int(nameserver)}",
                                          endpoint_properties={"bogus": 1}).after_properties_set()


@pytest.fixture
def hangs_up():
    """A server on 127.0.0.1 that reads each request and closes without replying (the
    call may have run): its http:// URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    thread.join(5)
    listener.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_idempotent_call_lost_on_one_member_is_retried_and_logged(kind, exporters, hangs_up, caplog):
    """Sync and async pools share one call loop: a connection lost mid-call is retried on
    the next member for an idempotent method, and both say so in the log."""
    caplog.set_level(logging.INFO, logger="springpython.remoting.ha")
    if kind == "sync":
        pool = HighAvailabilityProxyFactory(
            service_pool=[HessianProxyFactory(service_url=hangs_up),
                          HessianProxyFactory(service_url=exporters[0].service_url)],
            strategy="failover", idempotent_methods=["who"])
        try:
            answer = pool.who()
        finally:
            pool.destroy()
    else:
        async def main() -> str:
            async with AsyncHighAvailabilityProxyFactory(
                    service_pool=[AsyncHessianProxyFactory(service_url=hangs_up),
                                  AsyncHessianProxyFactory(service_url=exporters[0].service_url)],
                    strategy="failover", idempotent_methods=["who"]) as pool:
                return await pool.who()

        answer = asyncio.run(main())
    assert answer == "hessian"
    assert any("retrying it elsewhere (idempotent)" in r.getMessage() for r in caplog.records), caplog.text
