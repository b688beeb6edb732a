"""Exporters in separate ``springpython run`` processes register in a real etcd (two or
more transports under one service name); pools follow them: every server answers,
a SIGKILLed server leaves with its lease, a new one gets calls at once, a graceful
stop deregisters at once, and etcd stopping and coming back changes nothing for the
callers."""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
import uuid

import pytest
from helpers_etcd import SERVICE, Etcd, etcd, start_server  # noqa: F401 (etcd is a fixture)

from springpython.errors import ConfigurationError, ConnectionLostError
from springpython.remoting.discovery import EtcdRegistry, lookup_endpoints
from springpython.remoting.ha import AsyncHighAvailabilityProxyFactory, HighAvailabilityProxyFactory
from springpython.remoting.hessian import AsyncHessianProxyFactory, HessianServiceExporter
from springpython.remoting.pyro import (
    AsyncPyro4ProxyFactory,
    AsyncPyro5ProxyFactory,
    Pyro4ServiceExporter,
    Pyro5ServiceExporter,
)
from springpython.remoting.xmlrpc import AsyncXMLRPCProxyFactory, XMLRPCProxyFactory, XMLRPCServiceExporter


@pytest.fixture
def prefix():
    return f"/test-{uuid.uuid4().hex[:8]}/"


@pytest.fixture
def servers():
    """Child exporters; any still running is killed after the test."""
    started = []
    yield started
    for server in started:
        server.kill()
        server.proc.stdout.close()


@pytest.fixture
def closing():
    """Objects to destroy after the test, last made first."""
    made = []
    yield made
    for obj in reversed(made):
        obj.destroy()


def pool_for(closing, etcd_url: str, prefix: str, **properties) -> HighAvailabilityProxyFactory:
    registry = EtcdRegistry(endpoints=etcd_url, ttl=2, prefix=prefix)
    pool = HighAvailabilityProxyFactory(registry=registry, service_name=SERVICE, **properties)
    closing.extend([registry, pool])
    return pool


def urls(etcd_url: str, prefix: str) -> set[str]:
    return {r.url for r in lookup_endpoints(f"etcd://{etcd_url.split('//')[1]}/{SERVICE}", prefix=prefix)}


def wait_until(condition, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.01)
    return time.monotonic() - start


def test_pool_calls_every_registered_server_of_every_transport(etcd, prefix, servers, closing, tmp_path):
    """Four servers, one per transport, under one name: the pool's calls reach each of them."""
    for transport in ("pyro5", "pyro4", "hessian", "xmlrpc"):
        servers.append(start_server(tmp_path, etcd.url, prefix, f"s-{transport}", transport))
    for server in servers:
        server.wait_registered()
        assert server.key.startswith(f"{prefix}{SERVICE}/"), server.lines
    records = lookup_endpoints(f"etcd://127.0.0.1:{etcd.client_port}/{SERVICE}", prefix=prefix)
    assert {(r.transport, r.url, r.metadata["tags"][0]) for r in records} == {
        (s.transport, s.url, s.host_id) for s in servers
    }
    pool = pool_for(closing, etcd.url, prefix)
    assert {pool.whoami() for _ in range(16)} == {s.host_id for s in servers}


def load(pool, method: str, stop: threading.Event, results: list, failures: list, counter) -> None:
    while not stop.is_set():
        seq = next(counter)
        try:
            results.append((seq, getattr(pool, method)(seq)))
        except Exception as exc:  # recorded and asserted on by the test
            failures.append((seq, exc))


def test_sigkill_under_load_idempotent_calls_go_on_and_the_dead_server_leaves_with_its_lease(
        etcd, prefix, servers, closing, tmp_path):
    """SIGKILL one of two servers under load: no idempotent call fails, the dead server
    leaves the pool when its lease expires and gets no attempt after that; a
    non-idempotent call in flight on it fails with ConnectionLostError and is not replayed."""
    import itertools

    # the victim's calls take long, so that a non-idempotent call is surely in flight when it dies
    victim = start_server(tmp_path, etcd.url, prefix, "victim", "pyro5", delay=0.2)
    survivor = start_server(tmp_path, etcd.url, prefix, "survivor", "xmlrpc")
    servers.extend([victim, survivor])
    victim.wait_registered()
    survivor.wait_registered()
    pool = pool_for(closing, etcd.url, prefix, idempotent_methods="echo", retry_interval=0.1, max_retry_interval=1.0)
    assert {pool.whoami() for _ in range(8)} == {"victim", "survivor"}
    stop = threading.Event()
    counter = itertools.count()
    echoes: list = []
    echo_failures: list = []
    records: list = []
    record_failures: list = []
    threads = [threading.Thread(target=load, args=(pool, "echo", stop, echoes, echo_failures, counter))
               for _ in range(2)]
    threads += [threading.Thread(target=load, args=(pool, "record", stop, records, record_failures, counter))
                for _ in range(3)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        victim.kill()
        killed = time.monotonic()
        before_expiry: list = [None]

        def lease_expired() -> bool:
            state = {s.name: s for s in pool.endpoint_states()}.get(victim.url)
            before_expiry[0] = state or before_expiry[0]
            return victim.url not in urls(etcd.url, prefix)

        wait_until(lease_expired, 15, "lease expiry")
        expired = time.monotonic()
        at_expiry = {s.name: s for s in pool.endpoint_states()}.get(victim.url)
        last_seen = [at_expiry]

        def dropped_from_pool() -> bool:
            state = {s.name: s for s in pool.endpoint_states()}.get(victim.url)
            last_seen[0] = state or last_seen[0]
            return state is None

        wait_until(dropped_from_pool, 10, "the pool dropping the dead server")
        dropped = time.monotonic()
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join()
    print(f"\nSIGKILL -> lease expired {expired - killed:.2f} s; expiry -> pool dropped it {dropped - expired:.3f} s"
          f" ({'in the pool' if at_expiry is not None else 'gone from the pool'} when the expiry was seen)")
    assert not echo_failures, echo_failures[:3]
    assert all(isinstance(exc, ConnectionLostError) for _, exc in record_failures), record_failures[:3]
    assert record_failures, "no non-idempotent call was in flight on the killed server"
    assert any(v[0] == "victim" for _, v in echoes) and any(v[0] == "survivor" for _, v in echoes[-20:])
    if at_expiry is not None:
        # from the lease's expiry until the pool dropped it, at most one probe went to the dead
        # server, and every probe was a refused connection: no call was sent
        assert last_seen[0].attempts - at_expiry.attempts <= 1
        assert last_seen[0].last_error.startswith("ConnectFailedError"), last_seen[0]
    else:
        # the pool dropped it as soon as etcd did; until then the pool knew it was dead:
        # marked down by a failed call (refused, or lost while in flight)
        seen = before_expiry[0]
        assert seen is not None, "the killed server was never in the pool after the kill"
        assert not seen.up and seen.last_error.startswith(("ConnectFailedError", "ConnectionLostError")), seen
    # not replayed: none of the failed non-idempotent calls reached the survivor
    direct = XMLRPCProxyFactory(service_url=survivor.url)
    closing.append(direct)
    on_survivor = set(direct.recorded())
    assert not on_survivor & {seq for seq, _ in record_failures}
    assert {seq for seq, v in records if v[0] == "survivor"} <= on_survivor


def test_new_server_gets_calls_within_two_seconds(etcd, prefix, servers, closing, tmp_path):
    """A server that registers while a pool is in use gets calls without a client restart."""
    servers.append(start_server(tmp_path, etcd.url, prefix, "first", "pyro5").wait_registered())
    pool = pool_for(closing, etcd.url, prefix, refresh_interval=60)
    assert {pool.whoami() for _ in range(4)} == {"first"}
    late = start_server(tmp_path, etcd.url, prefix, "late", "hessian")
    servers.append(late)
    late.wait_registered()
    # a refresh_interval of a minute: only the watch can bring the new server in within seconds
    wait_until(lambda: pool.whoami() == "late", 20, "a call to the new server")
    reached = time.monotonic() - late.registered_at
    print(f"\nregistration -> first call to the new server: {reached:.3f} s")
    assert reached < 2.0, f"the new server got its first call {reached:.2f} s after it registered"


def test_graceful_stop_deregisters_at_once(etcd, prefix, servers, closing, tmp_path):
    """SIGTERM: the registration is gone when the process has exited, long before its 30 s lease would end."""
    kept = start_server(tmp_path, etcd.url, prefix, "kept", "xmlrpc", ttl=30).wait_registered()
    leaving = start_server(tmp_path, etcd.url, prefix, "leaving", "pyro5", ttl=30).wait_registered()
    servers.extend([kept, leaving])
    pool = pool_for(closing, etcd.url, prefix)
    assert {pool.whoami() for _ in range(6)} == {"kept", "leaving"}
    started = time.monotonic()
    leaving.stop()
    assert urls(etcd.url, prefix) == {kept.url}
    assert time.monotonic() - started < 30
    assert {pool.whoami() for _ in range(6)} == {"kept"}
    assert "deregister" not in leaving.stderr_text()  # no warning: it left cleanly


def test_etcd_stopped_and_restarted_under_load(tmp_path, servers, closing, caplog):
    """etcd down for longer than the TTL: calls go on to the known servers (with a
    WARNING); back up with its data lost, the exporters register again and the pool
    follows changes again."""
    import itertools

    etcd = Etcd(tmp_path / "etcd-data").start()
    try:
        prefix = "/restart/"
        one = start_server(tmp_path, etcd.url, prefix, "one", "pyro5")
        two = start_server(tmp_path, etcd.url, prefix, "two", "xmlrpc")
        servers.extend([one, two])
        one.wait_registered()
        two.wait_registered()
        pool = pool_for(closing, etcd.url, prefix, idempotent=True)
        stop = threading.Event()
        results: list = []
        failures: list = []
        counter = itertools.count()
        threads = [threading.Thread(target=load, args=(pool, "echo", stop, results, failures, counter))
                   for _ in range(2)]
        with caplog.at_level(logging.WARNING, logger="springpython.remoting.discovery"):
            for t in threads:
                t.start()
            try:
                time.sleep(0.3)
                etcd.stop()
                down = len(results)
                time.sleep(3.5)  # longer than the 2 s TTL
                during = {v[0] for _, v in results[down:]}
                shutil.rmtree(etcd.data_dir)  # it comes back empty: the exporters must register again
                etcd.start()
                wait_until(lambda: urls(etcd.url, prefix) == {one.url, two.url}, 10, "registrations coming back")
            finally:
                stop.set()
                for t in threads:
                    t.join()
        assert not failures, failures[:3]
        assert during == {"one", "two"}
        assert any("cannot follow" in r.getMessage() for r in caplog.records)
        assert "etcd registration failed" in one.stderr_text()
        two.stop()
        wait_until(lambda: pool.whoami() == "one" and {s.name for s in pool.endpoint_states()} == {one.url}, 10,
                   "the pool following etcd again")
    finally:
        etcd.stop()


def test_an_async_pool_calls_registered_exporters_through_async_proxies(etcd, prefix, closing):
    """An async pool following a service in etcd calls each registered exporter through
    the asyncio proxy factory of its transport (a blocking proxy there would stall the
    loop and give nothing to await); endpoint_properties are checked against the async
    classes (max_threads is a property of the async Pyro proxies only); aclose() stops
    following etcd."""
    from helpers_ha import HostService

    classes = {"hessian": AsyncHessianProxyFactory, "xmlrpc": AsyncXMLRPCProxyFactory,
               "pyro5": AsyncPyro5ProxyFactory, "pyro4": AsyncPyro4ProxyFactory}
    exporters = {"hessian": HessianServiceExporter, "xmlrpc": XMLRPCServiceExporter,
                 "pyro5": Pyro5ServiceExporter, "pyro4": Pyro4ServiceExporter}
    server_registry = EtcdRegistry(endpoints=etcd.url, ttl=2, prefix=prefix)
    closing.append(server_registry)
    for transport, cls in exporters.items():
        exporter = cls(service=HostService(transport), service_name=SERVICE, service_host="127.0.0.1",
                       service_port=0, registry=server_registry)
        exporter.after_properties_set()
        closing.append(exporter)
    def watches() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("springpython-etcd-watch")]

    watching_before = watches()
    registry = EtcdRegistry(endpoints=etcd.url, ttl=2, prefix=prefix)
    pool = AsyncHighAvailabilityProxyFactory(registry=registry, service_name=SERVICE,
                                             endpoint_properties={"max_threads": 2, "timeout": 5})
    closing.extend([registry, pool])

    async def main() -> set[str]:
        deadline = time.monotonic() + 10
        pool.after_properties_set()
        seen: set[str] = set()
        while len(seen) < len(exporters) and time.monotonic() < deadline:
            seen.add(await pool.whoami())
        assert len(watches()) == len(watching_before) + 1
        await pool.aclose()
        return seen

    assert asyncio.run(main()) == set(exporters)
    deadline = time.monotonic() + 5  # a watch under way ends within its window (1 s)
    while watches() != watching_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert watches() == watching_before, "aclose() left the pool following etcd"
    assert sorted(type(p).__name__ for p in pool.endpoints) == sorted(c.__name__ for c in classes.values())
    with pytest.raises(ConfigurationError, match="'bogus', which is not a property of any proxy factory"):
        AsyncHighAvailabilityProxyFactory(registry=registry, service_name=SERVICE,
                                          endpoint_properties={"bogus": 1}).after_properties_set()
