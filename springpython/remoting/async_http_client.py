"""The asyncio twin of :class:`~springpython.remoting.http_client.HTTPConnection`:
one kept-alive HTTP/1.1 connection of an event loop, under
:class:`~springpython.remoting.hessian.AsyncHessianProxyFactory` and
:class:`~springpython.remoting.xmlrpc.AsyncXMLRPCProxyFactory`.

It speaks through an asyncio protocol rather than asyncio streams: the reply bytes
go from ``data_received`` straight into the same sans-IO
:class:`~springpython.remoting.http_wire.ResponseReader` the blocking client feeds
(httptools), and one future per call is all the waiting there is. Streams would add
a buffer copy and a future per read; on a short call that is what separates the
asynchronous client from the blocking one (``python3 -m benchmarks asyncio``).

Rules of this file (those of :mod:`.http_client`, as they apply on a loop):

* One :class:`AsyncHTTPConnection` carries one call at a time; the proxies keep a
  pool of them per event loop.
* It connects lazily, within ``connect_timeout`` (TCP and the TLS handshake, with
  the endpoint's :class:`ssl.SSLContext` and ``verify_peer``: the same TLS as the
  blocking client); each wait for reply bytes is bounded by ``timeout``.
* A kept-alive connection the server closed while it was idle is replaced before
  anything is written on it (:func:`springpython.remoting.failures.closed_by_peer`).
* At most once, with the stages of :mod:`springpython.remoting.failures`: a failure
  before the request went out is :class:`~springpython.errors.ConnectFailedError`;
  after, :class:`~springpython.errors.ConnectionLostError` or
  :class:`~springpython.errors.CallTimeoutError` (a certificate refusal is
  "not sent" at any stage), and the request is never resent here.
* After any failure, and when a call is cancelled, the connection is closed."""

from __future__ import annotations

import asyncio
import logging
import select
import socket
from typing import Any, Callable

from ..errors import CommunicationError, ConnectFailedError, ProtocolError, VerificationException
from . import failures, tls
from .failures import Stage
from .http_client import HTTPEndpoint
from .http_client import _content_length  # one reading of a reply's announced size
from .http_wire import Response, ResponseReader

__all__ = ["AsyncHTTPConnection"]

log = logging.getLogger(__name__)

# How long a call on a new or closing connection waits to learn why it closed (a TLS alert).
_ALERT_WAIT = 1.0


class _ReplyProtocol(asyncio.Protocol):
    """Feeds the bytes of one connection into a :class:`ResponseReader` and settles
    the waiting call's future."""

    def __init__(self, endpoint: HTTPEndpoint, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self.endpoint = endpoint
        self.loop = loop
        #: The connection's socket, owned here: closed directly once its loop has closed.
        self.sock = sock
        self.reader = ResponseReader(endpoint.max_reply)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        #: What closed the connection, if an error did (a TLS alert may come before any call).
        self.lost: Exception | None = None
        self.closed_by_peer: Callable[[], bool] = lambda: False
        self._waiter: asyncio.Future[Response] | None = None
        self._method: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_data = 0.0
        self._gone: asyncio.Future[None] = loop.create_future()
        #: Whether a call has been written on this connection yet.
        self.used = False

    # -- asyncio.Protocol ---------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport
        # the socket itself (the transport's is a wrapper of it): checked before every reuse
        self.closed_by_peer = failures.closed_by_peer(self.sock)

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self._close()  # bytes nobody asked for: the connection cannot be trusted
            return
        try:
            complete = self.reader.feed(data)
        except ProtocolError as exc:
            self._fail(failures.bad_reply(self.endpoint.url, self._method, exc), exc)
            return
        if complete:
            waiter.set_result(self.reader.response())
        elif self._timer is not None:  # the wait for the rest starts now
            self._last_data = self.loop.time()

    def eof_received(self) -> bool | None:
        self._ended(None)
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost = exc
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._gone.done():
            self._gone.set_result(None)
        self._ended(exc)

    # -- a call -------------------------------------------------------------------
    async def exchange(self, request: bytes, method: str | None) -> Response:
        if self.closed or self.transport is None or self.transport.is_closing():
            if not self._gone.done():  # closing: connection_lost (with its reason) follows
                try:
                    await asyncio.wait_for(asyncio.shield(self._gone), _ALERT_WAIT)
                except asyncio.TimeoutError:
                    pass
            if self.lost is not None:  # e.g. the server's TLS alert refusing this client's certificate
                raise failures.for_exception(self.lost, url=self.endpoint.url, method=method,
                                             stage=Stage.SEND) from self.lost
            raise failures.closed_before_send(self.endpoint.url, method)
        self.transport.write(request)
        # the reply comes through the loop, not before this awaits: what waits for it is
        # set up after the write, while the server is at work
        self.reader.start()
        self._method = method
        loop = self.loop
        waiter: asyncio.Future[Response] = loop.create_future()
        self._waiter = waiter
        first, self.used = not self.used, True
        timeout = self.endpoint.timeout
        if timeout is not None:
            self._last_data = loop.time()
            if self._timer is None:
                self._timer = loop.call_later(timeout, self._timed_out)
        try:
            return await waiter
        except CommunicationError:
            if first and self.endpoint.tls is not None and not self.reader.received:
                refusal = await self._refusal()
                if refusal is not None:
                    raise refusal from self.lost
            raise
        finally:
            self._waiter = None

    async def _refusal(self) -> ConnectFailedError | None:
        """For a new TLS connection that died before any reply byte: the certificate
        refusal its end carries (the server's TLS alert, which may follow the reset or
        end of stream that failed the call), waited for up to ``_ALERT_WAIT``."""
        if not self._gone.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._gone), _ALERT_WAIT)
            except asyncio.TimeoutError:
                return None
        if self.lost is None or not tls.is_certificate_refusal(self.lost):
            return None
        error = failures.for_exception(self.lost, url=self.endpoint.url, method=self._method, stage=Stage.CONNECT)
        return error if isinstance(error, ConnectFailedError) else None

    async def read_first_flight(self) -> None:
        """Before the first call on a new TLS connection: what the server sent after the
        handshake (session tickets, or the alert refusing this client's certificate) is
        read first, a turn of the loop at a time, up to ``_ALERT_WAIT``. A call written
        into a refused connection is reset, and the alert behind the reset is lost."""
        if self.closed or self.sock.fileno() < 0:  # closed already (by the alert, as a rule)
            return
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN | select.POLLPRI)
        deadline = self.loop.time() + _ALERT_WAIT
        while (poller.poll(0) and not self.closed and self.transport is not None
               and not self.transport.is_closing() and self.loop.time() < deadline):
            await asyncio.sleep(0)

    def _timed_out(self) -> None:
        """The connection's one timer (set by the first call, not once per call): each
        wait for bytes is bounded by ``timeout``, so a call or bytes that came since it
        was set move the deadline on; with no call waiting it lapses."""
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        timeout = self.endpoint.timeout
        assert timeout is not None  # the timer is set only with a timeout
        left = self._last_data + timeout - self.loop.time()
        if left > 0:
            self._timer = self.loop.call_later(left, self._timed_out)
            return
        exc = TimeoutError("timed out")
        self._fail(failures.for_exception(exc, url=self.endpoint.url, method=self._method, stage=Stage.REPLY,
                                          timeout=self.endpoint.timeout), exc)

    def _ended(self, exc: Exception | None) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        reader, url = self.reader, self.endpoint.url
        if exc is not None:
            self._fail(failures.for_exception(exc, url=url, method=self._method, stage=Stage.REPLY,
                                              timeout=self.endpoint.timeout), exc)
            return
        try:
            if reader.eof():
                self._settle()
                return
        except ProtocolError as error:
            self._fail(failures.bad_reply(url, self._method, error), error)
            return
        expected = _content_length(reader) if reader.head_done else None
        received = reader.body_size if reader.head_done else reader.received
        self._fail(failures.peer_closed(url, self._method, received=received, expected=expected), None)

    def _settle(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(self.reader.response())

    def _fail(self, error: Exception, cause: BaseException | None) -> None:
        error.__cause__ = cause
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self._close()

    def _close(self) -> None:
        # abort, not close: as the blocking client, no TLS close_notify exchange (a
        # graceful TLS shutdown would hold the socket open until the peer answers it)
        self.closed = True
        if self.loop.is_closed():  # its transport can no longer run: free the socket itself
            self._timer = None
            self.sock.close()
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.transport is not None:
            self.transport.abort()


class AsyncHTTPConnection:
    """One kept-alive connection of the running event loop to an :class:`HTTPEndpoint`
    (see the rules of this file)."""

    __slots__ = ("endpoint", "_protocol")

    def __init__(self, endpoint: HTTPEndpoint) -> None:
        self.endpoint = endpoint
        self._protocol: _ReplyProtocol | None = None

    @property
    def connected(self) -> bool:
        return self._protocol is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop this connection's transport belongs to (``None`` while closed)."""
        return self._protocol.loop if self._protocol is not None else None

    def usable(self) -> bool:
        """Connected, and not closed or reset by the server."""
        protocol = self._protocol
        return protocol is not None and not protocol.closed and not protocol.closed_by_peer()

    async def exchange(self, body: bytes, method: str | None = None, headers: bytes = b"") -> Response:
        """POST ``body`` and return the reply, whatever its status (see
        :meth:`HTTPConnection.exchange <springpython.remoting.http_client.HTTPConnection.exchange>`)."""
        protocol = self._protocol
        if protocol is not None and protocol.lost is None and (protocol.closed or protocol.closed_by_peer()):
            log.debug("%s closed the kept-alive connection; reconnecting", self.endpoint.url)
            self.close()
            protocol = None
        if protocol is None:
            protocol = await self._connect(method)
        try:
            response = await protocol.exchange(self.endpoint.head.request(body, headers), method)
        except BaseException:  # cancelled included: what is left on the wire cannot be trusted
            self.close()
            raise
        if not response.keep_alive:
            self.close()
        return response

    async def _connect(self, method: str | None) -> _ReplyProtocol:
        endpoint = self.endpoint
        loop = asyncio.get_running_loop()
        tls = endpoint.tls
        try:
            transport, protocol = await asyncio.wait_for(self._open(loop), endpoint.connect_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise failures.for_exception(exc, url=endpoint.url, method=method, stage=Stage.CONNECT,
                                         timeout=endpoint.connect_timeout,
                                         timed_out=isinstance(exc, (asyncio.TimeoutError, TimeoutError))) from exc
        if endpoint.verify_peer is not None:
            try:
                endpoint.verify_peer(transport.get_extra_info("peercert"))
            except VerificationException as exc:
                transport.close()
                raise failures.for_exception(exc, url=endpoint.url, method=method, stage=Stage.CONNECT) from exc
        self._protocol = protocol
        log.debug("connected to %s", endpoint.url)
        if tls is not None:
            # with TLS 1.3 a server that refuses this client's certificate says so just after the handshake
            await protocol.read_first_flight()
        return protocol

    async def _open(self, loop: asyncio.AbstractEventLoop) -> tuple[asyncio.BaseTransport, _ReplyProtocol]:
        """TCP (each address of the host in turn), then TLS when the endpoint has it, on
        a socket made here, so that it can be closed even after its loop has closed."""
        endpoint = self.endpoint
        host, port = endpoint.address
        error: OSError | None = None
        for family, kind, proto, _, address in await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            try:
                sock.setblocking(False)
                await loop.sock_connect(sock, address)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            except BaseException:  # timed out or cancelled
                sock.close()
                raise
            try:
                tls = endpoint.tls
                return await loop.create_connection(
                    lambda: _ReplyProtocol(endpoint, loop, sock), sock=sock, ssl=tls,
                    server_hostname=endpoint.server_hostname if tls is not None else None)
            except BaseException:
                sock.close()
                raise
        raise error or OSError(f"no address found for {host}")

    def close(self) -> None:
        """Close the transport (idempotent; from the connection's loop, or once that
        loop has stopped or closed); the next :meth:`exchange` connects again."""
        protocol, self._protocol = self._protocol, None
        if protocol is None:
            return
        log.debug("closing the connection to %s", self.endpoint.url)
        protocol._close()

    def __repr__(self) -> str:
        state = "connected" if self._protocol is not None else "idle"
        return f"<AsyncHTTPConnection {self.endpoint.url} {state}>"

