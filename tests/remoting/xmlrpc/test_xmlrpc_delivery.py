"""At most one delivery: an XML-RPC call that may have run is never sent again, and a
call that could not be written on a kept-alive connection is sent once on a new one.

The peer is a small HTTP/1.1 XML-RPC server written here on plain sockets (TLS when
asked), because these tests need a server that misbehaves on cue: one that runs a
call and then drops the connection without answering, and one that leaves a
connection open after the client stopped writing to it."""

from __future__ import annotations

import socket
import ssl
import threading
import xmlrpc.client

import pytest

from springpython.errors import ConnectionLostError
from springpython.remoting import tls
from springpython.remoting.xmlrpc import SSLClient, XMLRPCProxyFactory


class CuePeer:
    """Serves one connection at a time. ``add`` answers; ``record`` counts a run and
    then closes the connection without answering; ``runs`` says how many ``record``
    calls ran. A connection the client stops writing to is left open, not closed."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.runs = 0
        self.connections = 0
        self.left_open: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, name="cue-peer", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return  # closed by stop()
            self.connections += 1
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_side=True)
            self.left_open.append(sock)
            reader = sock.makefile("rb")
            while (request := self._read_request(reader)) is not None:
                (args, method) = xmlrpc.client.loads(request)
                if method == "record":
                    self.runs += 1
                    sock.shutdown(socket.SHUT_RDWR)  # ran it, then the connection is gone: no answer
                    break
                result = args[0] + args[1] if method == "add" else self.runs
                body = xmlrpc.client.dumps((result,), methodresponse=True).encode()
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))

    @staticmethod
    def _read_request(reader) -> bytes | None:
        length = None
        line = reader.readline()
        if not line:
            return None  # the client stopped writing: leave the connection as it is
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return reader.read(length or 0)

    def stop(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.left_open:
            sock.close()
        self.thread.join(timeout=10)


@pytest.fixture(params=["XMLRPCProxyFactory", "SSLClient"])
def client(request, pki):
    """A peer and a client of it: the proxy factory bean over HTTP, or the chapter's
    SSLClient over TLS. Yields (client, peer, a function returning the calling
    thread's HTTP connection)."""
    if request.param == "XMLRPCProxyFactory":
        peer = CuePeer()
        proxy = XMLRPCProxyFactory(f"http://127.0.0.1:{peer.port}/RPC2")
        yield proxy, peer, lambda: proxy._connections()[0].conn
        proxy.destroy()
    else:
        peer = CuePeer(tls.server_context(str(pki.server_cert), str(pki.server_key)))
        ssl_client = SSLClient(f"https://localhost:{peer.port}/RPC2", ca_certs=str(pki.ca_chain))
        yield ssl_client, peer, lambda: ssl_client("transport").connection()
        ssl_client.close()
    peer.stop()


def test_a_call_that_may_have_run_is_never_sent_again(client):
    """The server ran the call and dropped the connection: an error, and the call ran once
    (the standard library's transport would have sent it again)."""
    proxy, peer, _ = client
    assert proxy.add(1, 2) == 3  # a kept-alive connection now exists
    with pytest.raises(ConnectionLostError, match="record.*it may have run"):
        proxy.record()
    assert proxy.runs() == 1 and peer.runs == 1


def test_a_call_that_could_not_be_written_is_sent_once_more(client):
    """The kept connection fails while the call is written: sent on a new connection, run once."""
    proxy, peer, connection = client
    assert proxy.add(1, 2) == 3
    connection().sock.shutdown(socket.SHUT_WR)  # writing on it now fails
    assert proxy.add(2, 3) == 5
    assert peer.connections == 2
