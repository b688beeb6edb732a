"""TLS XML-RPC: ``SSLClient`` -> ``SSLServer`` against the standard library's
``SimpleXMLRPCServer`` with its socket wrapped in TLS (default request handler, so a
TLS handshake per call) called by ``ServerProxy`` with an ``ssl`` context.

Both sides use the same freshly generated sample PKI and call ``pow(41, 3)`` on
127.0.0.1; the 8-client baseline runs the threading variant of the stdlib server."""

from __future__ import annotations

import socketserver
import tempfile
import threading
import xmlrpc.client
from contextlib import contextmanager
from typing import Callable, Iterator
from xmlrpc.server import SimpleXMLRPCServer

from benchmarks._harness import Result, rate, rate_threads
from springpython.pki import SamplePKI, write_sample_pki
from springpython.remoting import tls
from springpython.remoting.xmlrpc import SSLClient, SSLServer

CLIENTS = 8


class _PowServer(SSLServer):
    def register_functions(self) -> None:
        self.register_function(pow)


class _ThreadingXMLRPCServer(socketserver.ThreadingMixIn, SimpleXMLRPCServer):
    daemon_threads = True


@contextmanager
def _ours(pki: SamplePKI) -> Iterator[Callable[[], Callable[[], object]]]:
    server = _PowServer("127.0.0.1", 0, str(pki.server_key), str(pki.server_cert), log_requests=False)
    server.start()
    clients: list[SSLClient] = []

    def make() -> Callable[[], object]:
        client = SSLClient(f"https://127.0.0.1:{server.port}/RPC2", str(pki.ca_chain))
        clients.append(client)
        return lambda: client.pow(41, 3)

    try:
        yield make
    finally:
        for client in clients:
            client.close()
        server.server_close()


@contextmanager
def _stdlib(pki: SamplePKI, threaded: bool) -> Iterator[Callable[[], Callable[[], object]]]:
    cls = _ThreadingXMLRPCServer if threaded else SimpleXMLRPCServer
    server = cls(("127.0.0.1", 0), logRequests=False)
    server.register_function(pow)
    context = tls.server_context(str(pki.server_cert), str(pki.server_key))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    client_context = tls.client_context(str(pki.ca_chain))
    proxies: list[xmlrpc.client.ServerProxy] = []

    def make() -> Callable[[], object]:
        proxy = xmlrpc.client.ServerProxy(f"https://127.0.0.1:{server.server_address[1]}/RPC2",
                                          context=client_context)
        proxies.append(proxy)
        return lambda: proxy.pow(41, 3)

    try:
        yield make
    finally:
        for proxy in proxies:
            proxy("close")()
        server.shutdown()
        thread.join()
        server.server_close()


def run(quick: bool = False) -> list[Result]:
    seconds = 0.5 if quick else 2.0
    with tempfile.TemporaryDirectory() as tmp:
        pki = write_sample_pki(tmp)
        with _ours(pki) as make:
            ours_seq = rate(make(), seconds=seconds)
        with _stdlib(pki, threaded=False) as make:
            base_seq = rate(make(), seconds=seconds)
        with _ours(pki) as make:
            ours_par = rate_threads(make, threads=CLIENTS, seconds=seconds)
        with _stdlib(pki, threaded=True) as make:
            base_par = rate_threads(make, threads=CLIENTS, seconds=seconds)
    baseline = "stdlib SimpleXMLRPCServer+TLS"
    return [
        Result("xmlrpc", "TLS calls, 1 client", ours_seq, base_seq, "calls/s", 5.0, baseline_name=baseline),
        Result("xmlrpc", f"TLS calls, {CLIENTS} clients", ours_par, base_par, "calls/s", 3.0,
               baseline_name=baseline),
    ]
