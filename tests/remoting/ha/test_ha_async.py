"""The asyncio high-availability pool: async members awaited in turn, a member that
cannot be reached marked down and skipped, the all-down error when none answers."""

from __future__ import annotations

import asyncio

import pytest
from test_ha_discovery import HOST, TAG, instances, nameserver  # noqa: F401 (fixtures)

from springpython.errors import AllEndpointsDownError, ConfigurationError
from springpython.remoting.ha import AsyncHighAvailabilityProxyFactory, EndpointState
from springpython.remoting.hessian import AsyncHessianProxyFactory, HessianServiceExporter
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
