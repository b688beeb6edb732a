"""What one client may cost a Pyro daemon, on both engines: the size of a message,
a serializer the exporter does not accept (on every call, not only the handshake),
idle connections and connections per peer address."""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import threading
from types import SimpleNamespace
from typing import Any

import Pyro4
import Pyro5.client
import Pyro5.errors
import Pyro5.serializers
import pytest
from helpers_pyro import Service, exporters, proxy_factories, read_line, wait_until

from springpython.errors import ConfigurationError, ConnectFailedError, RemoteFault
from springpython.remoting.pyro import _daemons
from springpython.remoting.pyro import (
    Pyro4ProxyFactory,
    Pyro4ServiceExporter,
    Pyro5ProxyFactory,
    Pyro5ServiceExporter,
)

ENGINES = {
    "Pyro5": (Pyro5ServiceExporter, Pyro5ProxyFactory,
              SimpleNamespace(Proxy=Pyro5.client.Proxy, errors=Pyro5.errors, config=Pyro5.config)),
    "Pyro4": (Pyro4ServiceExporter, Pyro4ProxyFactory, Pyro4),
}
MiB = 1024 * 1024

SERVER = """
import sys
from springpython.remoting.pyro import {engine}ServiceExporter as Exporter

class Service:
    def echo(self, value):
        return value

exporter = Exporter(service=Service(), service_name="S", service_host="127.0.0.1", service_port=0)
exporter.after_properties_set()
print(exporter.service_url, flush=True)
sys.stdin.read()
exporter.destroy()
"""


class Counting:
    """Counts the calls that ran."""

    def __init__(self) -> None:
        self.calls = 0

    def echo(self, value):
        self.calls += 1
        return value


@pytest.fixture(params=sorted(ENGINES))
def engine(request):
    """The engine under test (both engines, one after the other)."""
    return request.param


@pytest.fixture
def export(engine):
    """Export a service with the engine's exporter; destroyed after the test."""
    yield from exporters(ENGINES[engine][0])


@pytest.fixture
def proxies(engine):
    """Proxy factories of the engine; destroyed after the test."""
    yield from proxy_factories(ENGINES[engine][1])


@pytest.fixture
def raw(engine):
    """Plain Pyro proxies of the engine (bound, serpent), released after the test."""
    made: list[Any] = []

    def connect(url: str) -> Any:
        proxy = ENGINES[engine][2].Proxy(url)
        proxy._pyroSerializer = "serpent"
        made.append(proxy)
        proxy._pyroBind()
        return proxy

    yield connect
    for proxy in made:
        proxy._pyroRelease()


def peak_kib(pid: int) -> int:
    """A process's peak resident memory (VmHWM) in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def test_message_over_the_limit_is_refused_before_its_body_is_read(engine, spawn, proxies):
    """A 20 MiB argument to a server child gets a fault naming max_message_size, its peak
    memory grows by less than 4 MiB, and the same proxy's next call is answered."""
    proc = spawn(["-c", SERVER.format(engine=engine)], stdin=subprocess.PIPE)
    url = read_line(proc)
    service = proxies(url)
    assert service.echo("warm") == "warm"
    before = peak_kib(proc.pid)
    with pytest.raises(RemoteFault, match="message of 2097[0-9]+ bytes is larger than this server's limit "
                                          r"of 8388608 bytes \(max_message_size\)"):
        service.echo("x" * (20 * MiB))
    grown = peak_kib(proc.pid) - before
    assert grown < 4096, f"the server's peak memory grew by {grown} KiB"
    assert service.echo(2) == 2
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_max_message_size_is_configurable(export, proxies):
    """Under a configured max_message_size a message passes; over it, a fault; the service did not run."""
    service = Counting()
    exporter = export(service, max_message_size="2000")
    proxy = proxies(exporter.service_url)
    assert proxy.echo("x" * 1000) == "x" * 1000
    with pytest.raises(RemoteFault, match="limit of 2000 bytes"):
        proxy.echo("x" * 3000)
    assert service.calls == 1


@pytest.mark.parametrize("value", ["-1", "many"])
@pytest.mark.parametrize("prop", ["max_message_size", "idle_timeout", "max_connections", "max_connections_per_peer",
                                  "max_items", "max_depth"])
def test_bad_limit_is_a_configuration_error(export, prop, value):
    """A negative or non-numeric limit is a ConfigurationError naming the property; nothing keeps listening."""
    with pytest.raises(ConfigurationError, match=prop):
        export(**{prop: value})


def test_compressed_message_is_measured_inflated(engine, export, raw):
    """A compressed call that inflates beyond max_message_size is refused unread by the service."""
    service = Counting()
    exporter = export(service, max_message_size=10000)
    module = ENGINES[engine][2]
    proxy = raw(exporter.service_url)
    module.config.COMPRESSION = True
    try:
        assert proxy.echo("y" * 5000) == "y" * 5000  # compressed, within the limit
        with pytest.raises(module.errors.ProtocolError, match="inflates to more than this server's limit"):
            proxy.echo("y" * 50000)  # a few hundred bytes on the wire
    finally:
        module.config.COMPRESSION = False
    assert service.calls == 1


@pytest.mark.parametrize("switch_to", ["marshal", "json"])
def test_serializer_switch_after_the_handshake_is_refused(engine, export, raw, switch_to):
    """A plain Pyro client that shakes hands in serpent and then calls in another
    serializer is refused with SecurityError naming the accepted ones; the service did
    not run and the daemon goes on serving."""
    service = Counting()
    exporter = export(service)
    module = ENGINES[engine][2]
    proxy = raw(exporter.service_url)
    assert proxy.echo(1) == 1
    proxy._pyroSerializer = switch_to
    with pytest.raises(module.errors.SecurityError, match=f"'{switch_to}' is not accepted by this service; "
                                                          "use one of serpent"):
        proxy.echo(2)
    assert service.calls == 1
    assert raw(exporter.service_url).echo(3) == 3


def test_pyro4_pickle_switch_is_refused(export, raw, engine):
    """On Pyro4, a switch to pickle after a serpent handshake is refused (nothing is unpickled)."""
    if engine != "Pyro4":
        assert "pickle" not in Pyro5.serializers.serializers  # Pyro5 has no pickle at all
        return
    service = Counting()
    proxy = raw(export(service).service_url)
    proxy._pyroSerializer = "pickle"
    with pytest.raises(Pyro4.errors.SecurityError, match="'pickle' is not accepted"):
        proxy.echo(1)
    assert service.calls == 0


def test_idle_connections_expire(export, raw):
    """Connections silent for idle_timeout seconds are closed by the daemon."""
    exporter = export(idle_timeout=0.3)
    for _ in range(3):
        raw(exporter.service_url)
    assert exporter.connections == 3
    wait_until(lambda: exporter.connections == 0, what="idle connections closed")


def test_idle_connections_from_one_peer_never_lock_out_a_new_client(export, proxies, raw):
    """More idle handshaken connections than the daemon has workers, all from
    127.0.0.1, leave at most max_connections_per_peer open, and a normal client from
    the same address is still answered."""
    exporter = export(max_connections_per_peer=4)
    for _ in range(85):  # Pyro's pool has 80 workers
        raw(exporter.service_url)  # each one handshaken: none is refused
    assert proxies(exporter.service_url).echo("normal") == "normal"
    wait_until(lambda: exporter.connections <= 4, what="evicted connections closed")


@pytest.mark.parametrize(("cap", "refusal"), [
    ("max_connections_per_peer", "too many connections from 127.0.0.1 (at most 1)"),
    ("max_connections", "too many connections (at most 1)"),
])
def test_busy_connections_at_a_cap_refuse_a_new_one(export, proxies, caplog, cap, refusal):
    """When every connection of a peer (or of the daemon) is busy, one more is refused,
    naming the cap, the busy connection answers on, and the refusal is logged once the one way."""
    caplog.set_level(logging.WARNING, logger="springpython")
    service = Service()
    exporter = export(service, **{cap: 1})
    busy = proxies(exporter.service_url)
    answers: list[Any] = []
    # both calls in one thread, so on the one connection: another thread's call would open
    # a second one, refused while the server has not yet seen the first one go idle
    caller = threading.Thread(target=lambda: answers.extend([busy.block(), busy.echo(2)]))
    caller.start()
    try:
        assert service.entered.wait(10)
        with pytest.raises(ConnectFailedError, match=re.escape(refusal)):
            proxies(exporter.service_url).echo(1)
    finally:
        service.release.set()
        caller.join(30)
    assert answers == ["released", 2]
    assert busy.connections == 1
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused client ")]
    assert len(refusals) == 1 and refusals[0].endswith(refusal), refusals


def test_idle_connections_at_the_daemon_cap_make_room(export, proxies, raw):
    """More idle handshaken connections than max_connections (from one address, under
    its per-peer cap) leave at most max_connections open, and a new client is answered."""
    exporter = export(max_connections=4)
    for _ in range(10):
        raw(exporter.service_url)  # each one handshaken: none is refused
    assert proxies(exporter.service_url).echo("normal") == "normal"
    wait_until(lambda: exporter.connections <= 4, what="evicted connections closed")


def test_beyond_the_spare_workers_a_connection_is_closed_at_once(export, proxies, caplog):
    """The daemon's pool is its own: with max_connections=1, one silent connection
    plus SPARE_WORKERS silent ones being refused hold every worker, and one more is
    closed by the accept loop at once (logged), while Pyro's global pool size is untouched."""
    caplog.set_level(logging.WARNING, logger="springpython")
    exporter = export(max_connections=1)
    host, port = exporter.service_url.rsplit("@", 1)[1].rsplit(":", 1)
    before = (Pyro5.config.THREADPOOL_SIZE, Pyro4.config.THREADPOOL_SIZE)
    silent = [socket.create_connection((host, int(port))) for _ in range(1 + _daemons.SPARE_WORKERS)]
    try:
        wait_until(lambda: exporter.connections == 1 + _daemons.SPARE_WORKERS, what="every worker busy")
        with socket.create_connection((host, int(port)), timeout=5) as extra:
            assert extra.recv(1) == b""  # closed, not left waiting for the handshake timeout
        wait_until(lambda: any("being refused" in r.getMessage() for r in caplog.records), what="turn-away logged")
    finally:
        for sock in silent:
            sock.close()
    assert (Pyro5.config.THREADPOOL_SIZE, Pyro4.config.THREADPOOL_SIZE) == before
    wait_until(lambda: exporter.connections == 0, what="silent connections gone")
    assert proxies(exporter.service_url).echo(3) == 3


@pytest.mark.parametrize("prop", ["idle_timeout", "max_connections"])
def test_limits_are_part_of_the_shared_daemon_settings(export, prop):
    """Two exporters on one host:port must agree on the limits."""
    first = export()
    with pytest.raises(Exception, match="other settings"):
        export(name="Other", port=first.service_url.rsplit(":", 1)[1], **{prop: 5})


def test_tls_connections_expire_and_refuse_big_messages_alike(pki):
    """Over TLS (Pyro5), a too large message is a fault and the proxy's next call is
    answered, and an idle connection is closed after idle_timeout."""
    exporter = Pyro5ServiceExporter(
        service=Service(), service_name="Secure", service_host="127.0.0.1", service_port=0,
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
        max_message_size=4096, idle_timeout=0.3,
    )
    exporter.after_properties_set()
    proxy = Pyro5ProxyFactory(service_url=exporter.service_url, ca_certs=str(pki.ca_chain),
                              certfile=str(pki.client_cert), keyfile=str(pki.client_key))
    try:
        with pytest.raises(RemoteFault, match="limit of 4096 bytes"):
            proxy.echo("z" * 10000)
        assert proxy.echo("small") == "small"
        assert exporter.connections == 1
        wait_until(lambda: exporter.connections == 0, what="idle TLS connection closed")
        assert proxy.echo("again") == "again"  # the proxy reconnects by itself
    finally:
        proxy.destroy()
        exporter.destroy()
