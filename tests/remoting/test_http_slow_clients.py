"""Slow, stalled and greedy clients against the embedded HTTP server, on real sockets:
they cost no worker, connection caps hold per peer, and a dead worker is replaced."""

from __future__ import annotations

import ctypes
import http.client
import logging
import select
import socket
import threading
import time

import pytest

from springpython.remoting.hessian import HessianProxyFactory, HessianServiceExporter
from springpython.remoting.http import HTTPServer, Request, Response

HTTP_LOGGER = "springpython.remoting.http"
EXPORTER_LOGGER = "springpython.remoting.http_exporter"
CROWD = 200
# A coarse bound, far from what a held worker would cost (a 5 s handshake timeout,
# a 30 s request timeout): nothing here measures speed.
PROMPT = 2.0


class Calculator:
    def add(self, a: int, b: int) -> int:
        return a + b


def echo(request: Request) -> Response:
    return Response(200, request.body)


class Crowd:
    """``CROWD`` connections to a port, driven by one thread: each sends ``first``,
    then ``step`` (if not empty) every ``interval`` seconds; a connection the server
    closes is replaced by a new one (counted in ``replaced``)."""

    def __init__(self, port: int, first: bytes, step: bytes, interval: float) -> None:
        self.port = port
        self.socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(CROWD)]
        self.first, self.step, self.interval = first, step, interval
        self.rounds = 0
        self.lost = 0
        self.replaced = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-crowd")

    def _run(self) -> None:
        data = self.first
        while True:
            for sock in select.select(self.socks, [], [], 0)[0]:  # closed by the server
                self.socks.remove(sock)
                sock.close()
                self.socks.append(socket.create_connection(("127.0.0.1", self.port), timeout=10))
                self.replaced += 1
            for sock in list(self.socks):
                if data:
                    try:
                        sock.sendall(data)
                    except OSError:
                        self.socks.remove(sock)
                        self.lost += 1
            self.rounds += 1
            data = self.step
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> "Crowd":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for sock in self.socks:
            sock.close()


def timed_calls(call, count: int = 10, pause: float = 1.0) -> list[float]:
    """Make ``count`` calls ``pause`` seconds apart; each one's seconds."""
    times = []
    for i in range(count):
        start = time.monotonic()
        assert call(i, 1) == i + 1
        times.append(time.monotonic() - start)
        time.sleep(pause)  # the crowd keeps going between calls: that is what is tested
    return times


def test_trickling_request_heads_hold_no_worker():
    """For 10 s while 200 connections send one header line each 0.5 s, another client's calls answer within 2 s each."""
    with HessianServiceExporter(service=Calculator(), service_host="127.0.0.1", service_port=0, path="/calc",
                                max_connections_per_peer=1000) as exp:
        head = f"POST /calc HTTP/1.1\r\nHost: 127.0.0.1:{exp.port}\r\n".encode()
        with Crowd(exp.port, head, b"X-Slow: still coming\r\n", 0.5) as crowd:
            proxy = HessianProxyFactory(service_url=exp.service_url, timeout=10)
            try:
                times = timed_calls(proxy.add)
            finally:
                proxy.destroy()
            assert crowd.rounds >= 15 and crowd.lost == 0 and crowd.replaced == 0, (crowd.rounds, crowd.lost)
    assert max(times) < PROMPT, times


def test_connections_stalled_before_the_client_hello_hold_no_worker(pki, caplog):
    """For 10 s while 200 TCP connections never start their TLS handshake (each closed after the 5 s
    handshake timeout is opened again), an mTLS client's calls answer within 2 s each."""
    with HessianServiceExporter(
        service=Calculator(), service_host="127.0.0.1", service_port=0, path="/calc",
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
        max_connections_per_peer=1000,
    ) as exp:
        with Crowd(exp.port, b"", b"", 0.5) as crowd:
            proxy = HessianProxyFactory(service_url=exp.service_url, ca_certs=str(pki.ca_chain),
                                        certfile=str(pki.client_cert), keyfile=str(pki.client_key), timeout=10)
            try:
                times = timed_calls(proxy.add)
            finally:
                proxy.destroy()
            assert crowd.replaced >= CROWD, crowd.replaced  # the handshake deadline closed every stalled one
    assert max(times) < PROMPT, times


def test_stalled_handshakes_time_out_as_a_whole_not_per_read(pki, caplog):
    """A client that sends its ClientHello a byte at a time is cut off at handshake_timeout from its connection."""
    from springpython.remoting import tls

    ctx = tls.server_context(str(pki.server_cert), str(pki.server_key))
    with caplog.at_level(logging.WARNING, logger=HTTP_LOGGER):
        with HTTPServer("127.0.0.1", 0, ssl_context=ctx, handshake_timeout=0.5) as srv:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
                hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 200
                closed = False
                for byte in hello:  # each byte well within any per-read timeout
                    try:
                        sock.sendall(bytes([byte]))
                    except OSError:
                        closed = True
                        break
                    time.sleep(0.02)  # the trickle itself is the behaviour under test
                if not closed:
                    try:
                        closed = sock.recv(1) == b""
                    except ConnectionResetError:
                        closed = True
                assert closed, "a handshake trickling in for 4 s was not cut off after 0.5 s"
    assert any("TLS handshake with 127.0.0.1" in r.getMessage() and "timed out" in r.getMessage()
               for r in caplog.records)


def test_keep_alive_connections_between_calls_hold_no_worker():
    """With one worker, 50 idle keep-alive connections leave it free for a new client."""
    with HTTPServer("127.0.0.1", 0, max_workers=1) as srv:
        srv.mount("/echo", echo)
        idle = []
        try:
            for _ in range(50):
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
                conn.request("POST", "/echo", body=b"x")
                assert conn.getresponse().read() == b"x"
                idle.append(conn)
            start = time.monotonic()
            fresh = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            fresh.request("POST", "/echo", body=b"fresh")
            assert fresh.getresponse().read() == b"fresh"
            fresh.close()
            assert time.monotonic() - start < PROMPT
            assert srv.connections >= 50  # the idle ones are still open
        finally:
            for conn in idle:
                conn.close()


class Held:
    """A handler that holds its requests until released, counting those it holds:
    a connection whose request is being answered is never idle."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def __call__(self, request: Request) -> Response:
        self.entered.release()
        self.release.wait(10)
        return Response(200, request.body)

    def wait_for(self, count: int) -> None:
        for _ in range(count):
            assert self.entered.acquire(timeout=10), "a held request never reached its handler"


def _send_held(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"POST /held HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
    return sock


def _refused(sock: socket.socket) -> bool:
    try:
        reply = sock.recv(4096)
    except ConnectionResetError:
        return True
    return reply.startswith(b"HTTP/1.1 503 ") or reply == b""


def test_per_peer_cap_refuses_the_next_connection_from_that_address_only(caplog):
    """At max_connections_per_peer busy connections, one more from that address is refused and logged; others are served."""
    held = Held()
    with caplog.at_level(logging.WARNING, logger=HTTP_LOGGER):
        with HTTPServer("127.0.0.1", 0, max_connections_per_peer=3, max_workers=8) as srv:
            srv.mount("/echo", echo)
            srv.mount("/held", held)
            busy = [_send_held(srv.port) for _ in range(3)]
            try:
                held.wait_for(3)
                extra = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                with extra:
                    assert _refused(extra)
                other = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10, source_address=("127.0.0.2", 0))
                other.request("POST", "/echo", body=b"other peer")
                assert other.getresponse().read() == b"other peer"
                other.close()
                held.release.set()
                for sock in busy:  # the capped connections are still served
                    assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
            finally:
                held.release.set()
                for sock in busy:
                    sock.close()
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused client 127.0.0.1:")]
    assert len(refusals) == 1 and refusals[0].endswith("too many connections from 127.0.0.1 (at most 3)"), refusals


def test_at_the_cap_the_longest_idle_connection_makes_room():
    """At max_connections, a new connection closes the longest-idle one instead of being refused."""
    with HTTPServer("127.0.0.1", 0, max_connections=2) as srv:
        srv.mount("/echo", echo)
        first = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        first.request("POST", "/echo", body=b"1")
        assert first.getresponse().read() == b"1"
        time.sleep(0.05)  # the first connection is now the longer idle of the two
        second = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        second.request("POST", "/echo", body=b"2")
        assert second.getresponse().read() == b"2"
        third = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        third.request("POST", "/echo", body=b"3")
        assert third.getresponse().read() == b"3"
        assert first.sock.recv(1) == b""  # closed to make room
        second.request("POST", "/echo", body=b"still")
        assert second.getresponse().read() == b"still"
        for conn in (first, second, third):
            conn.close()


def test_exporter_caps_are_properties_and_must_agree_on_a_shared_port():
    """max_connections_per_peer is an exporter property, checked, and part of what sharing a port needs."""
    from springpython.errors import ConfigurationError

    class Slow(Calculator):
        def __init__(self) -> None:
            self.entered = threading.Event()
            self.release = threading.Event()

        def hold(self) -> bool:
            self.entered.set()
            return self.release.wait(10)

    service = Slow()
    with HessianServiceExporter(service=service, service_host="127.0.0.1", service_port=0, path="/a",
                                max_connections_per_peer=1) as exp:
        proxy = HessianProxyFactory(service_url=exp.service_url, timeout=10)
        result: list[bool] = []
        caller = threading.Thread(target=lambda: result.append(proxy.hold()))
        caller.start()
        try:
            assert service.entered.wait(10)  # its one connection is busy, not idle
            extra = socket.create_connection(("127.0.0.1", exp.port), timeout=10)
            with extra:
                assert _refused(extra)
        finally:
            service.release.set()
            caller.join()
            proxy.destroy()
        assert result == [True]
        other = HessianServiceExporter(service=Calculator(), service_host="127.0.0.1", service_port=exp.port,
                                       path="/b", max_connections_per_peer=2)
        with pytest.raises(ConfigurationError, match="max_connections_per_peer=1"):
            other.after_properties_set()
    for value in (0, "many"):
        with pytest.raises(ConfigurationError, match="max_connections"):
            HessianServiceExporter(service=Calculator(), service_host="127.0.0.1", service_port=0,
                                   max_connections=value).after_properties_set()


def test_a_worker_that_dies_is_replaced_and_logged(caplog):
    """A worker killed outside any request is logged at ERROR and replaced; the next call is answered."""
    with caplog.at_level(logging.ERROR, logger=HTTP_LOGGER):
        with HTTPServer("127.0.0.1", 0, max_workers=1, linger=0) as srv:
            srv.mount("/echo", echo)
            conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
            conn.request("POST", "/echo", body=b"before")
            assert conn.getresponse().read() == b"before"
            [worker] = [t for t in threading.enumerate() if t.name.startswith(f"springpython-http-worker-{srv.port}")]
            deadline = time.monotonic() + 10
            while srv._idle_workers != 1:  # the worker is back waiting for a request
                assert time.monotonic() < deadline
                time.sleep(0.01)
            # Raise SystemExit in the idle worker: it goes off as soon as the worker runs again.
            assert ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.ident),
                                                              ctypes.py_object(SystemExit)) == 1
            conn.request("POST", "/echo", body=b"after")
            assert conn.getresponse().read() == b"after"
            conn.close()
            worker.join(10)
            assert not worker.is_alive()
            workers = [t for t in threading.enumerate() if t.name.startswith(f"springpython-http-worker-{srv.port}")]
            assert len(workers) == 1 and workers[0] is not worker
    died = [r for r in caplog.records if "died; starting a replacement" in r.getMessage()]
    assert len(died) == 1 and died[0].levelno == logging.ERROR and worker.name in died[0].getMessage()
