"""Slow senders and slow readers cost a Pyro daemon a bounded time, on both engines and
over TLS: the TLS and Pyro handshakes end at one deadline however slowly their bytes
trickle in, a request's body at another, and a reply the client does not take at a
third. Real sockets on 127.0.0.1; the deadlines are shortened for the test."""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from typing import Any

import pytest
from helpers_pyro import ENGINE_WIRES, connect, exporters, handshaken, proxy_factories, wait_until

from springpython.remoting.pyro import Pyro5ProxyFactory, Pyro5ServiceExporter
from springpython.remoting.pyro import _daemons, _settings

MiB = 1024 * 1024
#: Seconds a trickling client is given before the test calls its connection held.
HELD = 8.0

ENGINES = ENGINE_WIRES


class Big:
    """Answers with as many bytes as asked for."""

    def echo(self, value: Any) -> Any:
        return value

    def big(self, size: int) -> str:
        return "x" * size


@pytest.fixture(params=sorted(ENGINES))
def engine(request):
    """The engine under test (both engines, one after the other)."""
    return ENGINES[request.param]


@pytest.fixture
def short_deadlines(monkeypatch):
    """Handshakes, requests and replies get one second each."""
    monkeypatch.setattr(_daemons, "HANDSHAKE_TIMEOUT", 1.0)
    monkeypatch.setattr(_settings, "DEFAULT_REQUEST_TIMEOUT", 1.0)


@pytest.fixture
def export(engine, short_deadlines):
    """Export a :class:`Big` as ``Slow`` with the engine's exporter."""
    made = exporters(engine.Exporter)
    make = next(made)
    yield lambda **props: make(Big(), name="Slow", **props)
    next(made, None)


@pytest.fixture
def proxies(engine):
    made = proxy_factories(engine.ProxyFactory)
    yield next(made)
    next(made, None)


def trickle(sock: Any, data: bytes, interval: float = 0.25) -> float | None:
    """Send ``data`` a byte every ``interval`` seconds until the server ends the
    connection; the seconds that took, or ``None`` when all of it was sent or
    :data:`HELD` seconds passed with the connection still open."""
    started = time.monotonic()
    for byte in data:
        if time.monotonic() - started > HELD:
            return None
        try:
            sock.sendall(bytes([byte]))
            readable, _, _ = select.select([sock], [], [], interval)
            if readable and not sock.recv(4096):
                return time.monotonic() - started
        except OSError:
            return time.monotonic() - started
    return None


def test_a_trickled_handshake_ends_at_the_handshake_deadline(engine, export, proxies):
    """A client sending its connect message a byte every 0.25 s is disconnected (the
    deadline is for the handshake, not for each recv), and other clients are answered
    meanwhile."""
    exporter = export()
    sock = connect(exporter.service_url, HELD)
    result: list[float | None] = []
    worker = threading.Thread(target=lambda: result.append(trickle(sock, engine.message(engine.CONNECT, engine.connect("Slow"), 0))))
    worker.start()
    try:
        assert proxies(exporter.service_url).echo("meanwhile") == "meanwhile"
    finally:
        worker.join(HELD + 5)
        sock.close()
    assert result and result[0] is not None, "the trickling handshake held its worker"
    wait_until(lambda: exporter.connections <= 1, what="the trickling connection forgotten")


def test_a_trickled_request_ends_at_the_request_deadline(engine, export):
    """After a normal handshake, a call sent a byte every 0.25 s is dropped once
    request_timeout has passed since its first byte."""
    exporter = export()
    sock = handshaken(engine, exporter.service_url, HELD)
    try:
        assert trickle(sock, engine.message(engine.INVOKE, engine.call("Slow", "echo", "x" * 100), 1)) is not None, (
            "the trickling request held its worker")
    finally:
        sock.close()
    wait_until(lambda: exporter.connections == 0, what="the trickling connection forgotten")


def test_a_reply_nobody_reads_ends_at_the_request_deadline(engine, export, proxies):
    """A client that asks for a 24 MiB answer and never reads it costs its worker
    request_timeout seconds: the daemon closes the connection, and serves others."""
    exporter = export()
    sock = handshaken(engine, exporter.service_url, HELD)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sock.sendall(engine.message(engine.INVOKE, engine.call("Slow", "big", 24 * MiB), 1))
        assert proxies(exporter.service_url).echo("meanwhile") == "meanwhile"
        wait_until(lambda: exporter.connections <= 1, timeout=HELD + 5, what="the connection of the non-reader closed")
    finally:
        sock.close()


def client_hello() -> bytes:
    """The first flight of a TLS client (its ClientHello), as bytes."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_a_trickled_tls_handshake_ends_at_the_handshake_deadline(pki, short_deadlines):
    """A client sending its ClientHello a byte every 0.25 s to a TLS Pyro5 exporter is
    disconnected, and a normal TLS client is answered meanwhile."""
    exporter = Pyro5ServiceExporter(
        service=Big(), service_name="Slow", service_host="127.0.0.1", service_port=0,
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
    )
    exporter.after_properties_set()
    proxy = Pyro5ProxyFactory(service_url=exporter.service_url, ca_certs=str(pki.ca_chain),
                              certfile=str(pki.client_cert), keyfile=str(pki.client_key))
    sock = connect(exporter.service_url, HELD)
    result: list[float | None] = []
    worker = threading.Thread(target=lambda: result.append(trickle(sock, client_hello())))
    worker.start()
    try:
        assert proxy.echo("meanwhile") == "meanwhile"
        worker.join(HELD + 5)
        assert result and result[0] is not None, "the trickling TLS handshake held its worker"
    finally:
        sock.close()
        proxy.destroy()
        exporter.destroy()
