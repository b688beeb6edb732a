"""HighAvailabilityProxyFactory against real Pyro5 and XML-RPC servers on 127.0.0.1:
strategies, failover, back-off and rejoin, idempotent retries, errors, run-time
changes, thread safety and bad configuration."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from helpers_ha import GatedService, HostService

from springpython.errors import (
    AllEndpointsDownError,
    CallTimeoutError,
    ConfigurationError,
    ConnectFailedError,
    ConnectionLostError,
)
from springpython.remoting.ha import FAILOVER, HighAvailabilityProxyFactory
from springpython.remoting.proxy import RemoteProxy
from springpython.remoting.pyro import PyroProxyFactory, PyroServiceExporter
from springpython.remoting.xmlrpc import XMLRPCProxyFactory, XMLRPCServiceExporter

HOST = "127.0.0.1"
# Long enough that no probe comes due during a test unless the test wants one.
NEVER = 3600.0


class Server:
    """One exporter of a service on its own port; can be stopped and started again there."""

    def __init__(self, exporter) -> None:
        self.exporter = exporter
        self.service = exporter.service
        exporter.after_properties_set()
        self.url = exporter.service_url
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        self.exporter.destroy()

    def start(self) -> None:
        self.exporter.service_port = self.port
        self.exporter.after_properties_set()


@pytest.fixture
def servers():
    """Start Pyro5 servers, each on its own port, with HostService('h<i>'); all stopped after the test."""
    started: list[Server] = []

    def start(count: int, service_factory=HostService) -> list[Server]:
        for _ in range(count):
            i = len(started)
            exporter = PyroServiceExporter(
                service_name="HA", service=service_factory(f"h{i}"), service_host=HOST, service_port=0
            )
            started.append(Server(exporter))
        return started[-count:]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def pools():
    """Build pools; every pool (and so every member proxy) is destroyed after the test."""
    made: list[HighAvailabilityProxyFactory] = []

    def make(members, **properties) -> HighAvailabilityProxyFactory:
        pool = HighAvailabilityProxyFactory(service_pool=members, **properties)
        made.append(pool)
        return pool

    yield make
    for pool in made:
        pool.destroy()


def proxies(servers: list[Server], **properties) -> list[PyroProxyFactory]:
    return [PyroProxyFactory(service_url=s.url, **properties) for s in servers]


def test_pool_is_a_remote_proxy_that_looks_like_the_service(servers, pools):
    """The pool is a RemoteProxy whose methods are the service's methods."""
    pool = pools(proxies(servers(1)))
    assert isinstance(pool, RemoteProxy)
    assert pool.echo(7) == ["h0", 7]
    assert pool.get_data is pool.get_data  # forwarded by RemoteProxy, cached per name


def test_round_robin_spreads_calls_over_every_endpoint(servers, pools):
    """round_robin (the default) sends consecutive calls to each endpoint in turn."""
    pool = pools(proxies(servers(3)))
    hosts = [pool.whoami() for _ in range(9)]
    assert Counter(hosts) == {"h0": 3, "h1": 3, "h2": 3}
    assert hosts[:3] == ["h0", "h1", "h2"]


def test_failover_sends_everything_to_the_first_healthy_endpoint(servers, pools):
    """failover uses the first endpoint while it answers, then the next; the first takes over again once back."""
    started = servers(3)
    pool = pools(proxies(started), strategy=FAILOVER, retry_interval=NEVER, max_retry_interval=NEVER)
    assert {pool.whoami() for _ in range(5)} == {"h0"}
    started[0].stop()
    assert {pool.whoami() for _ in range(5)} == {"h1"}
    started[0].start()
    # Its probe is not due yet: the stand-by keeps the calls.
    assert pool.whoami() == "h1"
    pool.remove_endpoint(started[0].url, destroy=True)
    pool.add_endpoint(PyroProxyFactory(service_url=started[0].url))
    assert pool.whoami() == "h1"  # added at the end of the list: a stand-by behind h1


def test_down_endpoint_is_skipped_until_its_back_off_ends(servers, pools):
    """A failed endpoint gets no call before its retry_interval has passed."""
    started = servers(2)
    pool = pools(proxies(started), retry_interval=NEVER, max_retry_interval=NEVER)
    started[1].stop()
    hosts = [pool.whoami() for _ in range(10)]
    assert set(hosts) == {"h0"}
    states = pool.endpoint_states()
    assert [s.up for s in states] == [True, False]
    assert states[1].attempts == 1 and states[1].failures == 1
    assert "ConnectFailedError" in states[1].last_error
    assert states[1].next_probe > states[1].down_since


def test_restarted_server_rejoins_after_its_back_off(servers, pools):
    """A down endpoint is probed once its back-off ends and takes calls again when it answers."""
    started = servers(2)
    pool = pools(proxies(started), retry_interval=0.05, max_retry_interval=0.05)
    started[1].stop()
    assert {pool.whoami() for _ in range(4)} == {"h0"}
    started[1].start()
    seen: set[str] = set()
    for _ in range(10_000):
        seen.add(pool.whoami())
        if "h1" in seen:
            break
    assert "h1" in seen
    assert all(s.up and s.failures == 0 for s in pool.endpoint_states())


def test_failed_probes_double_the_back_off_up_to_the_maximum(servers, pools):
    """Each failed probe doubles the wait before the next one, capped by max_retry_interval."""
    started = servers(2)
    pool = pools(proxies(started), strategy=FAILOVER, retry_interval=0.001, max_retry_interval=0.004)
    started[0].stop()
    waits: dict[int, float] = {}
    deadline = time.monotonic() + 30
    while len(waits) < 5 and time.monotonic() < deadline:
        assert pool.whoami() == "h1"
        state = pool.endpoint_states()[0]
        waits.setdefault(state.failures, round(state.next_probe - state.last_failure, 6))
    assert waits == {1: 0.001, 2: 0.002, 3: 0.004, 4: 0.004, 5: 0.004}


def test_application_exception_passes_through_and_is_never_retried(servers, pools):
    """An exception raised by the service reaches the caller unchanged; no other endpoint runs the call."""
    started = servers(3)
    pool = pools(proxies(started), idempotent=True)
    with pytest.raises(LookupError, match="no such thing"):
        pool.fail("no such thing")
    assert sum(s.service.calls for s in started) == 1
    assert all(s.up for s in pool.endpoint_states())


def test_lost_call_of_non_idempotent_method_is_not_replayed(servers, pools):
    """A call that timed out (it may have run) raises CallTimeoutError and runs on no other endpoint."""
    gate = threading.Event()
    started = servers(2, lambda host_id: GatedService(host_id, gate))
    pool = pools(proxies(started, timeout=0.3), retry_interval=NEVER, max_retry_interval=NEVER)
    try:
        with pytest.raises(CallTimeoutError):
            pool.slow(1)
    finally:
        gate.set()
    assert [s.service.calls for s in started] == [1, 0]
    assert [s.up for s in pool.endpoint_states()] == [False, True]
    assert pool.whoami() == "h1"


def test_lost_call_of_idempotent_method_is_retried_on_the_next_endpoint(servers, pools):
    """A method listed in idempotent_methods is retried elsewhere after a lost call."""
    gate = threading.Event()
    started = servers(2, lambda host_id: GatedService(host_id, gate, limit=1.0))
    pool = pools(proxies(started, timeout=0.3), idempotent_methods="echo, slow", retry_interval=NEVER,
                 max_retry_interval=NEVER)
    started[1].service.gate = threading.Event()
    started[1].service.gate.set()
    try:
        assert pool.slow(5) == ["h1", 5]
    finally:
        gate.set()
    assert [s.service.calls for s in started] == [1, 1]


def test_lost_idempotent_call_with_no_other_taker_says_it_may_have_run(servers, pools):
    """A lost idempotent call that no other endpoint can take fails saying it may have run, not 'not sent'."""
    gate = threading.Event()
    started = servers(2, lambda host_id: GatedService(host_id, gate, limit=2.0))
    pool = pools(proxies(started, timeout=0.3), idempotent=True, retry_interval=NEVER, max_retry_interval=NEVER)
    started[1].stop()
    try:
        with pytest.raises(AllEndpointsDownError, match=r"slow\(\) got no answer \(it may have run where its "
                                                         r"connection was lost\): all 2 endpoint\(s\)") as info:
            pool.slow(1)
    finally:
        gate.set()
    assert isinstance(info.value.__cause__, ConnectFailedError)
    assert "CallTimeoutError" in str(info.value)


def test_all_endpoints_down_names_each_endpoint_and_its_error(servers, pools):
    """With every endpoint down the call fails with AllEndpointsDownError listing them."""
    started = servers(2)
    pool = pools(proxies(started))
    for server in started:
        server.stop()
    with pytest.raises(AllEndpointsDownError) as info:
        pool.whoami()
    err = info.value
    assert isinstance(err, ConnectFailedError)
    message = str(err)
    assert "whoami() was not sent" in message and "all 2 endpoint(s)" in message
    for server in started:
        assert server.url in message
    assert [name for name, _ in err.endpoints] == [s.url for s in started]
    assert all("Connection refused" in (last or "") for _, last in err.endpoints)
    assert isinstance(err.__cause__, ConnectFailedError)


def test_all_down_still_probes_one_endpoint_so_a_returning_server_is_used(servers, pools):
    """When every endpoint is down a call probes the one due soonest instead of failing at once."""
    started = servers(2)
    pool = pools(proxies(started), retry_interval=NEVER, max_retry_interval=NEVER)
    for server in started:
        server.stop()
    with pytest.raises(AllEndpointsDownError):
        pool.whoami()
    started[0].start()
    assert [pool.whoami(), pool.whoami()] == ["h0", "h0"]


def test_pools_nest_an_inner_pool_that_is_down_is_one_endpoint_down(servers, pools):
    """A pool can be an endpoint of another pool; a dead inner pool fails over to the live one."""
    started = servers(4)
    dead = pools(proxies(started[:2]))
    alive = pools(proxies(started[2:]))
    outer = pools([dead, alive], retry_interval=NEVER, max_retry_interval=NEVER)
    started[0].stop()
    started[1].stop()
    assert {outer.whoami() for _ in range(6)} == {"h2", "h3"}
    states = outer.endpoint_states()
    assert [s.up for s in states] == [False, True]
    assert "AllEndpointsDownError" in states[0].last_error


def test_endpoints_can_be_added_and_removed_while_calls_run(servers, pools):
    """add_endpoint/remove_endpoint change the pool under load; every call gets one answer."""
    started = servers(3)
    pool = pools(proxies(started[:1]))
    extra = proxies(started[1:])
    results: list = []
    errors: list = []
    stop = threading.Event()

    def load() -> None:
        try:
            while not stop.is_set():
                results.append(pool.whoami())
        except Exception as exc:  # any failure is a test failure, reported below
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for _ in range(30):
            for proxy in extra:
                pool.add_endpoint(proxy)
            for proxy in extra:
                pool.remove_endpoint(proxy, destroy=False)
    finally:
        stop.set()
        for t in threads:
            t.join()
    for proxy in extra:
        proxy.destroy()
    pool.add_endpoint(extra[0])
    assert not errors
    assert set(results) <= {"h0", "h1", "h2"} and "h0" in results
    assert len(pool.endpoints) == 2 and pool.endpoints[1] is extra[0]
    assert sorted(pool.whoami() for _ in range(2)) == ["h0", "h1"]
    extra[1].destroy()


def test_concurrent_probes_of_a_down_endpoint_never_lose_a_call(servers, pools):
    """Eight threads racing for the probes of a down endpoint all get one answer per call."""
    started = servers(3)
    pool = pools(proxies(started), retry_interval=0.001, max_retry_interval=0.001)
    started[1].stop()
    answers: dict[int, list] = {}
    errors: list = []
    barrier = threading.Barrier(8)

    def load(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(60):
                seq = worker * 1000 + n
                answers[seq] = pool.echo(seq)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(answers) == 8 * 60
    assert all(answer[1] == seq for seq, answer in answers.items())
    assert {answer[0] for answer in answers.values()} == {"h0", "h2"}
    down = pool.endpoint_states()[1]
    assert not down.up and down.attempts == down.failures >= 1


def test_add_and_remove_check_their_argument(servers, pools):
    """add_endpoint refuses text and duplicates; remove_endpoint names what the pool has."""
    started = servers(1)
    members = proxies(started)
    pool = pools(members)
    with pytest.raises(TypeError, match="proxy factory"):
        pool.add_endpoint("PYRO:x@127.0.0.1:1")
    with pytest.raises(ValueError, match="already in the pool"):
        pool.add_endpoint(members[0])
    with pytest.raises(ValueError, match=r"not in the pool; its endpoints are: PYRO:HA@"):
        pool.remove_endpoint("PYRO:nothing@127.0.0.1:1")
    assert pool.remove_endpoint(started[0].url, destroy=False) is members[0]
    members[0].destroy()
    with pytest.raises(AllEndpointsDownError, match="the pool has no endpoints"):
        pool.whoami()


def test_destroy_closes_every_member_connection(servers, pools):
    """destroy() destroys the member proxies: no connection stays open, and the pool still works after."""
    started = servers(3)
    pool = pools(proxies(started))
    for _ in range(3):
        pool.whoami()
    assert pool.connections == 3
    pool.destroy()
    pool.destroy()
    assert pool.connections == 0
    assert pool.whoami() in {"h0", "h1", "h2"}


def test_pool_works_with_xmlrpc_proxy_factories(pools):
    """A pool of XMLRPCProxyFactory endpoints fails over when one XML-RPC server stops."""
    exporters = [
        XMLRPCServiceExporter(service=HostService(f"x{i}"), service_name="ha", service_host=HOST, service_port=0)
        for i in range(2)
    ]
    for exporter in exporters:
        exporter.after_properties_set()
    try:
        pool = pools([XMLRPCProxyFactory(service_url=e.service_url) for e in exporters],
                     retry_interval=NEVER, max_retry_interval=NEVER)
        assert {pool.whoami() for _ in range(4)} == {"x0", "x1"}
        exporters[0].destroy()
        assert {pool.whoami() for _ in range(4)} == {"x1"}
        assert [s.up for s in pool.endpoint_states()] == [False, True]
    finally:
        for exporter in exporters:
            exporter.destroy()


def test_mixed_transports_in_one_pool(servers, pools):
    """One pool may hold a Pyro5 and an XML-RPC endpoint of the same service."""
    (pyro,) = servers(1)
    exporter = XMLRPCServiceExporter(service=HostService("x"), service_name="ha", service_host=HOST, service_port=0)
    with exporter:
        pool = pools([PyroProxyFactory(service_url=pyro.url), XMLRPCProxyFactory(service_url=exporter.service_url)])
        assert sorted(pool.echo(n)[0] for n in range(4)) == ["h0", "h0", "x", "x"]


def test_properties_cannot_change_once_the_pool_is_in_use(servers, pools):
    """After the first call the settings are fixed; the error points to add_endpoint/remove_endpoint."""
    pool = pools(proxies(servers(1)))
    pool.strategy = "failover"  # still allowed before use
    pool.after_properties_set()
    with pytest.raises(AttributeError, match="add_endpoint"):
        pool.service_pool = []
    with pytest.raises(AttributeError, match="cannot change"):
        pool.strategy = "round_robin"


def test_settings_given_as_text_are_coerced(servers, pools):
    """Properties arrive as text from XML: numbers, booleans and name lists are converted."""
    pool = pools(proxies(servers(1)), strategy=" Failover ", retry_interval="0.5", max_retry_interval="2",
                 idempotent="true", idempotent_methods="echo,whoami record", refresh_interval="3")
    pool.after_properties_set()
    assert pool.echo(1) == ["h0", 1]
    assert repr(pool) == "<HighAvailabilityProxyFactory failover 1/1 endpoints up>"


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"strategy": "random"}, r"strategy must be one of round_robin, failover, got 'random'"),
        ({"service_url": "PYRO:x@h:1"}, r"service_url belongs to the proxy factories in service_pool, not to the pool"),
        ({"exception_classes": ["a.B"]}, r"exception_classes belongs to the proxy factories in service_pool"),
        ({"strategy": 3}, r"strategy must be one of .* got 3"),
        ({"retry_interval": "soon"}, r"retry_interval must be a number of seconds, got 'soon'"),
        ({"retry_interval": "-1"}, r"retry_interval must be positive, got '-1'"),
        ({"retry_interval": "none"}, r"retry_interval must be a number of seconds, got 'none'"),
        ({"retry_interval": 5, "max_retry_interval": 1}, r"max_retry_interval \(1\) must not be less than"),
        ({"refresh_interval": "0"}, r"refresh_interval must be positive"),
        ({"idempotent": "maybe"}, r"idempotent must be true or false, got 'maybe'"),
        ({"idempotent_methods": [1]}, r"idempotent_methods must contain method names, got 1"),
        ({"idempotent_methods": "get-data"}, r"idempotent_methods must contain method names, got 'get-data'"),
        ({"idempotent_methods": 5}, r"idempotent_methods must be a list of method names, got 5"),
        ({"service_pool": "PYRO:x@h:1"},
         r"service_pool must be a list of proxy factories, got 'PYRO:x@h:1'"),
        ({"service_pool": [None]}, r"service_pool must contain proxy factories .* got None"),
        ({"service_pool": []}, r"service_pool is empty and no discovery_url is set"),
        ({"nameserver_port": "ninety"}, r"nameserver_port must be an integer, got 'ninety'"),
        ({"endpoint_properties": "timeout=1"}, r"endpoint_properties must be a dict"),
        ({"endpoint_properties": {"timeout": 1}}, r"endpoint_properties \{'timeout': 1\} configure discovered "
                                                 r"endpoints only; set discovery_url"),
        ({"discovery_url": "http://h:1/x"},
         r"discovery_url 'http://h:1/x' is not a name server look-up; expected PYROMETA:"),
        ({"discovery_url": "PYRO:x@h:1"}, r"discovery_url 'PYRO:x@h:1' is not a name server look-up"),
        ({"discovery_url": "PYROMETA:t", "nameserver_host": 5}, r"nameserver_host must be text, got 5"),
        ({"discovery_url": "PYROMETA:"}, r"discovery_url 'PYROMETA:' is malformed: .+; expected PYROMETA:"),
        ({"discovery_url": "PYRONAME:a b@h:x"}, r"discovery_url 'PYRONAME:a b@h:x' is malformed: "),
        ({"discovery_url": 7}, r"discovery_url must be text, got 7"),
        ({"discovery_url": "PYROMETA:t", "endpoint_properties": {"destroy": 1}},
         r"endpoint_properties names 'destroy', which is not a property of PyroProxyFactory"),
        ({"discovery_url": "PYROMETA:t", "endpoint_properties": {"bogus": 1}},
         r"endpoint_properties names 'bogus', which is not a property of PyroProxyFactory"),
    ],
)
def test_bad_settings_raise_configuration_error_naming_the_property(properties, expected):
    """Every bad property value is refused by after_properties_set with a message naming it."""
    pool = HighAvailabilityProxyFactory(**{"service_pool": [HostService()], **properties})
    with pytest.raises(ConfigurationError, match=expected):
        pool.after_properties_set()
    with pytest.raises(ConfigurationError, match=expected):
        pool.whoami()  # a pool used without after_properties_set checks the same way


def test_unknown_property_is_refused():
    """A misspelt property name fails at construction."""
    with pytest.raises(TypeError, match="has no property 'retry_intervall'"):
        HighAvailabilityProxyFactory(service_pool=[], retry_intervall=1)


def test_local_objects_can_be_members():
    """Any object with the service's methods can be an endpoint (handy for a local fallback)."""
    pool = HighAvailabilityProxyFactory(service_pool=[HostService("local-a"), HostService("local-b")])
    assert [pool.whoami() for _ in range(3)] == ["local-a", "local-b", "local-a"]
    pool.destroy()


def test_connection_lost_is_a_failure_of_the_endpoint_not_an_application_error(servers, pools):
    """ConnectionLostError marks the endpoint down (unlike an application exception)."""

    class Lost:
        service_url = "lost://endpoint"

        def whoami(self):
            raise ConnectionLostError("the connection to lost://endpoint failed during whoami(); it may have run")

    (server,) = servers(1)
    pool = pools([Lost(), PyroProxyFactory(service_url=server.url)], retry_interval=NEVER, max_retry_interval=NEVER)
    with pytest.raises(ConnectionLostError, match="it may have run"):
        pool.whoami()
    assert pool.whoami() == "h0"
    assert [s.name for s in pool.endpoint_states() if not s.up] == ["lost://endpoint"]


def test_public_names_are_the_implementations():
    """springpython.remoting.ha exports the pool and its constants; the names are the implementation objects."""
    import springpython.remoting.ha as ha
    from springpython.remoting.ha import _async_pool, _pool

    assert ha.HighAvailabilityProxyFactory is _pool.HighAvailabilityProxyFactory
    assert ha.AsyncHighAvailabilityProxyFactory is _async_pool.AsyncHighAvailabilityProxyFactory
    assert ha.EndpointState is _pool.EndpointState
    assert set(ha.__all__) == set(_pool.__all__) | set(_async_pool.__all__)
    assert all(hasattr(ha, name) for name in ha.__all__)


def test_importing_the_pool_loads_no_transport():
    """Importing springpython.remoting.ha imports no transport (Pyro is loaded only for discovery)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    code = "import sys, springpython.remoting.ha; print(sorted(m for m in sys.modules if 'yro' in m or 'xmlrpc' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]"
