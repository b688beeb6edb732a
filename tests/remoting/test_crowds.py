"""Crowds that hold connections open without finishing anything, against every
transport's exporter at once, while a normal client on 127.0.0.1 calls: slow
senders (HTTP header lines, Pyro handshake and message bytes) and TCP connections
that never send a TLS ClientHello. The crowd comes from 127.0.0.2 to 127.0.0.11
(Linux routes all of 127/8 to the loopback device), so no per-peer cap stands
between it and the server's workers; what keeps the normal client answered is how
the servers hold connections, not who the crowd is."""

from __future__ import annotations

import math
import select
import socket
import threading
import time
from typing import Any, Callable, Iterator

import Pyro4.message
import Pyro4.util
import Pyro5.protocol
import Pyro5.serializers
import pytest
from contract_services import TRANSPORTS, Calc

HOST = "127.0.0.1"
#: Where the crowd connects from: ten addresses, none of them the normal client's.
CROWD_SOURCES = [f"127.0.0.{n}" for n in range(2, 12)]
#: Connections per server (20 per source address: Pyro's default per-peer cap).
CROWD = 200
#: Seconds the crowd goes on while the normal client calls.
CROWD_SECONDS = 11.0
#: Seconds between two sends of the crowd.
INTERVAL = 0.5
#: Steps the Pyro handshake is spread over (done well within the 10 s handshake deadline).
HANDSHAKE_STEPS = 8
#: What the brief of these tests promises a normal call.
PROMPT = 1.0


class Crowd:
    """``CROWD`` connections to each of ``ports``, from :data:`CROWD_SOURCES`, driven
    by one thread: each sends the next of its ``chunks`` every :data:`INTERVAL`
    seconds (none when ``chunks`` is empty) and drops what the server answers. A
    connection the server closes is counted in ``closed`` and, with ``replace``,
    opened again."""

    def __init__(self, ports: dict[str, int], chunks: Callable[[str], list[bytes]], replace: bool) -> None:
        self.chunks = {name: chunks(name) for name in ports}
        self.ports = ports
        self.replace = replace
        self.closed = {name: 0 for name in ports}
        self.rounds = 0
        #: open socket -> (server name, index of its next chunk)
        self.socks: dict[socket.socket, tuple[str, int]] = {}
        for name in ports:
            for i in range(CROWD):
                self._open(name, i)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-crowd")

    def _open(self, name: str, i: int) -> None:
        sock = socket.socket()
        sock.bind((CROWD_SOURCES[i % len(CROWD_SOURCES)], 0))
        sock.connect((HOST, self.ports[name]))
        sock.setblocking(False)
        self.socks[sock] = (name, 0)

    def finish(self) -> dict[str, int]:
        """Stop sending; how many connections to each server are still open."""
        self._stop.set()
        self._thread.join()
        self._drop_answers()
        counts = {name: 0 for name in self.ports}
        for name, _ in self.socks.values():
            counts[name] += 1
        return counts

    def _drop_answers(self) -> None:
        poller = select.poll()
        by_fd = {sock.fileno(): sock for sock in self.socks}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        for fd, _ in poller.poll(0):
            sock = by_fd[fd]
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                name, _ = self.socks.pop(sock)
                sock.close()
                self.closed[name] += 1
                if self.replace:
                    self._open(name, self.closed[name])

    def _run(self) -> None:
        while not self._stop.is_set():
            self._drop_answers()
            for sock, (name, step) in list(self.socks.items()):
                chunks = self.chunks[name]
                if step < len(chunks):
                    try:
                        sock.send(chunks[step])
                    except OSError:
                        continue  # closed: seen by the next _drop_answers
                    self.socks[sock] = (name, step + 1)
            self.rounds += 1
            self._stop.wait(INTERVAL)

    def __enter__(self) -> "Crowd":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for sock in self.socks:
            sock.close()


def port_of(exporter: Any) -> int:
    """The port an exporter listens on."""
    return int(exporter.service_url.rsplit(":", 1)[1].split("/", 1)[0])


def trickle(data: bytes, steps: int) -> list[bytes]:
    """``data`` in ``steps`` pieces of equal size (the last perhaps shorter)."""
    size = math.ceil(len(data) / steps)
    return [data[i:i + size] for i in range(0, len(data), size)]


def pyro5_script() -> list[bytes]:
    """A Pyro5 handshake over HANDSHAKE_STEPS sends, then a call that never ends in time."""
    ser = Pyro5.serializers.serializers["serpent"]
    hello = ser.dumps({"handshake": "hello", "object": "Calc"})
    connect = Pyro5.protocol.SendingMessage(Pyro5.protocol.MSG_CONNECT, 0, 0, ser.serializer_id, hello).data
    call = Pyro5.protocol.SendingMessage(Pyro5.protocol.MSG_INVOKE, 0, 1, ser.serializer_id,
                                         ser.dumpsCall("Calc", "add", ("x" * 4000, ""), {})).data
    return trickle(connect, HANDSHAKE_STEPS) + trickle(call, len(call) // math.ceil(len(connect) / HANDSHAKE_STEPS))


def pyro4_script() -> list[bytes]:
    """The same for Pyro4."""
    ser = Pyro4.util.get_serializer("serpent")
    hello, _ = ser.serializeData({"handshake": "hello", "object": "Calc"}, False)
    connect = Pyro4.message.Message(Pyro4.message.MSG_CONNECT, hello, ser.serializer_id,
                                    Pyro4.message.FLAGS_META_ON_CONNECT, 0).to_bytes()
    data, _ = ser.serializeCall("Calc", "add", ("x" * 4000, ""), {}, False)
    call = Pyro4.message.Message(Pyro4.message.MSG_INVOKE, data, ser.serializer_id, 0, 1).to_bytes()
    return trickle(connect, HANDSHAKE_STEPS) + trickle(call, len(call) // math.ceil(len(connect) / HANDSHAKE_STEPS))


def http_script(port: int, path: str) -> list[bytes]:
    """A request head one header line per send, never ending in time."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()
    return [head] + [f"X-Slow-{n}: still coming\r\n".encode() for n in range(200)]


@pytest.fixture
def exporters() -> Iterator[Callable[..., dict[str, Any]]]:
    """Start one Calc exporter per named transport (with the given properties); all destroyed after the test."""
    made: list[Any] = []

    def start(names: list[str], **properties: Any) -> dict[str, Any]:
        started = {}
        for name in names:
            exporter = TRANSPORTS[name][0](service=Calc(), service_name="Calc", service_host=HOST, service_port=0,
                                           **properties)
            made.append(exporter)
            exporter.after_properties_set()
            started[name] = exporter
        return started

    yield start
    for exporter in reversed(made):
        exporter.destroy()


def normal_calls(exporters: dict[str, Any], **proxy_properties: Any) -> dict[str, list[float]]:
    """For CROWD_SECONDS, calls from 127.0.0.1 to each exporter in turn, each through a
    new proxy (so a new connection, which needs a free worker); each call's seconds."""
    times: dict[str, list[float]] = {name: [] for name in exporters}
    end = time.monotonic() + CROWD_SECONDS
    i = 0
    while time.monotonic() < end:
        for name, exporter in exporters.items():
            start = time.monotonic()
            proxy = TRANSPORTS[name][1](service_url=exporter.service_url, timeout=10, **proxy_properties)
            proxy.after_properties_set()
            try:
                assert proxy.add(i, 1) == i + 1
            finally:
                proxy.destroy()
            times[name].append(time.monotonic() - start)
            i += 1
        time.sleep(0.2)
    return times


def test_trickling_crowds_cost_no_normal_client_its_answers(exporters):
    """For 11 s while 200 connections per server (Pyro5, Pyro4, Hessian, XML-RPC; from ten
    other addresses) trickle their bytes, each within its deadline (Pyro: the handshake in
    8 steps, then a call; HTTP: one header line a step), every one of them stays open, and a
    normal client's calls, each on a new connection, answer within 1 s."""
    started = exporters(sorted(TRANSPORTS))
    ports = {name: port_of(exporter) for name, exporter in started.items()}
    scripts = {"pyro5": pyro5_script(), "pyro4": pyro4_script(),
               "hessian": http_script(ports["hessian"], "/Calc"), "xmlrpc": http_script(ports["xmlrpc"], "/RPC2")}
    assert all(len(script) * INTERVAL > CROWD_SECONDS + 2 for script in scripts.values())
    with Crowd(ports, scripts.__getitem__, replace=False) as crowd:
        times = normal_calls(started)
        held = {name: started[name].connections for name in ("pyro5", "pyro4")}
        still_open = crowd.finish()
        rounds = crowd.rounds
    assert still_open == {name: CROWD for name in ports}, (still_open, crowd.closed)
    assert held == {"pyro5": CROWD, "pyro4": CROWD}, held  # the daemons hold them all, none refused
    assert rounds >= CROWD_SECONDS / INTERVAL - 1, rounds
    slowest = {name: max(seconds) for name, seconds in times.items()}
    assert all(len(seconds) >= 10 for seconds in times.values()), times
    assert all(s < PROMPT for s in slowest.values()), slowest


def test_crowds_stalled_before_the_client_hello_cost_no_mtls_client_its_answers(exporters, pki):
    """For 11 s while 200 TCP connections per server (a Pyro5 and a Hessian exporter over TLS,
    from ten other addresses) never send a ClientHello (one the server's handshake deadline
    closes is opened again), a normal mTLS client's calls, each on a new connection, answer
    within 1 s."""
    tls = {"certfile": str(pki.server_cert), "keyfile": str(pki.server_key), "ca_certs": str(pki.ca_chain)}
    started = exporters(["hessian", "pyro5"], **tls)
    ports = {name: port_of(exporter) for name, exporter in started.items()}
    with Crowd(ports, lambda name: [], replace=True) as crowd:
        times = normal_calls(started, ca_certs=str(pki.ca_chain), certfile=str(pki.client_cert),
                             keyfile=str(pki.client_key))
        still_open = crowd.finish()
    assert still_open == {name: CROWD for name in ports}, still_open
    assert crowd.closed["hessian"] >= CROWD, crowd.closed  # its 5 s handshake deadline closed each stalled one
    slowest = {name: max(seconds) for name, seconds in times.items()}
    assert all(len(seconds) >= 10 for seconds in times.values()), times
    assert all(s < PROMPT for s in slowest.values()), slowest
