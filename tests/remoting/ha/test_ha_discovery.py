"""Pools that find their endpoints in a real Pyro5 name server (``python -m
Pyro5.nameserver`` in a child process): PYROMETA and PYRONAME look-ups, instances
joining and leaving without a client restart, and a name server that is down."""

from __future__ import annotations

import re
import subprocess
import time

import pytest
from helpers_ha import HostService, LineReader, free_port

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.errors import AllEndpointsDownError, ConnectFailedError
from springpython.remoting.ha import HighAvailabilityProxyFactory
from springpython.remoting.pyro import PyroProxyFactory, PyroServiceExporter

HOST = "127.0.0.1"
TAG = "springpython.test.ha"


class NameServer(int):
    """The name server's port, with its process."""

    proc: subprocess.Popen


@pytest.fixture
def nameserver(spawn):
    """A Pyro5 name server on 127.0.0.1, a free port, no broadcast responder; its port (an int) and process."""
    proc = spawn(["-m", "Pyro5.nameserver", "-n", HOST, "-p", "0", "-x"])
    line = LineReader(proc).wait_for(lambda text: text.startswith("NS running on"), timeout=30)
    server = NameServer(re.search(r"NS running on [^:]+:(\d+)", line).group(1))
    server.proc = proc
    return server


@pytest.fixture
def instances(nameserver):
    """Start exporters of HostService that register themselves in the name server; stopped after the test."""
    started: list[PyroServiceExporter] = []

    def start(name: str, tags: str = TAG, port: int = 0) -> PyroServiceExporter:
        exporter = PyroServiceExporter(
            service_name=name, service=HostService(name), service_host=HOST, service_port=port,
            register_with_nameserver=True, nameserver_host=HOST, nameserver_port=nameserver, metadata=tags,
        )
        exporter.after_properties_set()
        started.append(exporter)
        return exporter

    yield start
    for exporter in started:
        exporter.destroy()


@pytest.fixture
def pools():
    """Build pools; each is destroyed after the test."""
    made: list[HighAvailabilityProxyFactory] = []

    def make(**properties) -> HighAvailabilityProxyFactory:
        pool = HighAvailabilityProxyFactory(**properties)
        made.append(pool)
        return pool

    yield make
    for pool in made:
        pool.destroy()


def hosts_seen(pool, calls: int) -> set[str]:
    return {pool.whoami() for _ in range(calls)}


def test_pyrometa_finds_every_instance_carrying_the_tags(nameserver, instances, pools):
    """A PYROMETA: pool calls every registered instance with the tag, and no other."""
    for n in range(3):
        instances(f"ha.node{n}")
    instances("other.node", tags="something.else")
    pool = pools(discovery_url=f"PYROMETA:{TAG}@{HOST}:{nameserver}")
    assert hosts_seen(pool, 9) == {"ha.node0", "ha.node1", "ha.node2"}
    assert all(state.discovered for state in pool.endpoint_states())


def test_new_instance_joins_without_a_client_restart(nameserver, instances, pools):
    """An instance registered after the pool started is called once the pool refreshes by itself."""
    instances("ha.first")
    pool = pools(discovery_url=f"PYROMETA:{TAG}", nameserver_host=HOST, nameserver_port=str(nameserver),
                 refresh_interval="0.05")
    assert hosts_seen(pool, 3) == {"ha.first"}
    instances("ha.second")
    seen: set[str] = set()
    deadline = time.monotonic() + 20
    while "ha.second" not in seen and time.monotonic() < deadline:
        seen.add(pool.whoami())
    # a refresh due at the loop's first call sends that call to ha.second: ha.first is checked after
    assert "ha.second" in seen, f"only {seen} answered within 20 s"
    assert hosts_seen(pool, 4) == {"ha.first", "ha.second"}


def test_unregistered_instance_leaves_the_pool(nameserver, instances, pools):
    """An instance that took itself off the name server is dropped at the next refresh and its proxy closed."""
    keep = instances("ha.keep")
    gone = instances("ha.gone")
    pool = pools(discovery_url=f"PYROMETA:{TAG}@{HOST}:{nameserver}", refresh_interval=3600)
    assert hosts_seen(pool, 4) == {"ha.keep", "ha.gone"}
    leaving = [p for p in pool.endpoints if p.service_url == gone.service_url][0]
    gone.destroy()
    pool.refresh()
    assert [s.name for s in pool.endpoint_states()] == [keep.service_url]
    assert leaving.connections == 0
    assert hosts_seen(pool, 3) == {"ha.keep"}


def test_reregistered_instance_is_called_at_its_new_address(nameserver, instances, pools):
    """A restarted instance registering the same name at a new port replaces its old endpoint."""
    instances("ha.a")
    moving = instances("ha.b")
    pool = pools(discovery_url=f"PYROMETA:{TAG}@{HOST}:{nameserver}", refresh_interval=3600)
    assert hosts_seen(pool, 4) == {"ha.a", "ha.b"}
    moving.destroy()
    moved = instances("ha.b")
    assert moved.service_url != moving.service_url
    pool.refresh()
    assert sorted(s.name for s in pool.endpoint_states()) == sorted([pool.endpoints[0].service_url,
                                                                      moved.service_url])
    assert hosts_seen(pool, 4) == {"ha.a", "ha.b"}


def test_pyroname_finds_the_one_registration_of_that_name(nameserver, instances, pools):
    """A PYRONAME: pool follows the single registration of that name."""
    instances("ha.single")
    instances("ha.other")
    pool = pools(discovery_url=f"PYRONAME:ha.single@{HOST}:{nameserver}")
    assert hosts_seen(pool, 3) == {"ha.single"}


def test_discovered_and_configured_endpoints_mix(nameserver, instances, pools):
    """service_pool and discovery_url together: the configured endpoints come first, discovered ones join."""
    static = PyroServiceExporter(service_name="static", service=HostService("static"), service_host=HOST,
                                 service_port=0)
    with static:
        instances("ha.found")
        pool = pools(service_pool=[PyroProxyFactory(service_url=static.service_url)],
                     discovery_url=f"PYROMETA:{TAG}@{HOST}:{nameserver}", strategy="failover")
        assert hosts_seen(pool, 3) == {"static"}
        assert [s.discovered for s in pool.endpoint_states()] == [False, True]
        pool.destroy()


def test_endpoint_properties_are_given_to_discovered_proxies(nameserver, instances, pools):
    """endpoint_properties configure every discovered PyroProxyFactory."""
    instances("ha.props")
    pool = pools(discovery_url=f"PYROMETA:{TAG}@{HOST}:{nameserver}", endpoint_properties={"timeout": "2.5"})
    pool.refresh()
    (proxy,) = pool.endpoints
    assert isinstance(proxy, PyroProxyFactory) and proxy.timeout == "2.5"
    assert pool.whoami() == "ha.props"


def test_nothing_registered_means_no_endpoints(nameserver, pools):
    """A look-up that finds nothing gives a clear 'no endpoints' error naming the look-up."""
    pool = pools(discovery_url=f"PYROMETA:nobody.has.this@{HOST}:{nameserver}")
    with pytest.raises(AllEndpointsDownError, match=r"whoami\(\) was not sent: the pool has no endpoints.*"
                                                     r"discovery PYROMETA:nobody.has.this"):
        pool.whoami()


def test_name_server_down_gives_a_clear_error(pools):
    """With the name server unreachable the call fails with AllEndpointsDownError naming the name server."""
    from support import free_port

    port = free_port()
    pool = pools(discovery_url=f"PYROMETA:{TAG}@{HOST}:{port}", discovery_timeout=2)
    with pytest.raises(AllEndpointsDownError, match=rf"name server at {HOST}:{port} did not answer") as info:
        pool.whoami()
    assert isinstance(info.value, ConnectFailedError)
    with pytest.raises(ConnectFailedError, match=rf"name server at {HOST}:{port}"):
        pool.refresh()


def test_name_server_outage_keeps_the_known_endpoints(nameserver, instances, pools):
    """A refresh that cannot reach the name server keeps calling the endpoints found before."""
    instances("ha.known")
    pool = pools(discovery_url=f"PYROMETA:{TAG}@{HOST}:{nameserver}", refresh_interval=0.001)
    assert pool.whoami() == "ha.known"
    nameserver.proc.kill()
    nameserver.proc.wait()
    assert hosts_seen(pool, 5) == {"ha.known"}
    with pytest.raises(ConnectFailedError):
        pool.refresh()
    assert pool.whoami() == "ha.known"


def test_discovery_pool_configured_in_xml(nameserver, instances, tmp_path):
    """A pool with discovery_url, refresh_interval and endpoint_properties from XML finds the instances."""
    for n in range(2):
        instances(f"ha.xml{n}")
    path = tmp_path / "client.xml"
    path.write_text(f"""<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
    <object id="service" class="springpython.remoting.ha.HighAvailabilityProxyFactory">
        <property name="discovery_url" value="PYROMETA:{TAG}"/>
        <property name="nameserver_host" value="{HOST}"/>
        <property name="nameserver_port" value="{int(nameserver)}"/>
        <property name="refresh_interval" value="30"/>
        <property name="discovery_timeout" value="5"/>
        <property name="endpoint_properties">
            <dict><entry><key><value>timeout</value></key><value>5</value></entry></dict>
        </property>
    </object>
</objects>
""")
    with ApplicationContext(XMLConfig(str(path))) as ctx:
        service = ctx.get_object("service")
        assert hosts_seen(service, 6) == {"ha.xml0", "ha.xml1"}
        assert {proxy.timeout for proxy in service.endpoints} == {"5"}
    assert service.connections == 0


def test_name_server_entries_that_are_no_direct_address_are_ignored(nameserver, instances, pools, caplog):
    """A tagged entry that is not a PYRO:name@host:port address is skipped with a warning; the others serve."""
    import Pyro5.core

    instances("ha.good")
    with Pyro5.core.locate_ns(HOST, int(nameserver)) as ns:
        ns.register("ha.indirect", "PYRONAME:ha.good", metadata={TAG})
    with pools(discovery_url=f"PYROMETA:{TAG}@{HOST}:{nameserver}") as pool:
        assert hosts_seen(pool, 4) == {"ha.good"}
        assert len(pool.endpoints) == 1
    assert "'ha.indirect' -> 'PYRONAME:ha.good'" in caplog.text and "ignored" in caplog.text
