"""The one HTTP/1.1 client connection of springpython, under :class:`HessianProxyFactory`,
:class:`XMLRPCProxyFactory` and the chapter's ``SSLClient``.

Rules of this file:

* One :class:`HTTPConnection` serves one thread at a time (the proxies keep one per
  thread) and stays open between calls unless the server says ``Connection: close``.
* It connects lazily, within ``connect_timeout`` (TCP and the TLS handshake); each
  wait for reply bytes is bounded by ``timeout``.
* A kept-alive connection is checked before it is reused
  (:func:`springpython.remoting.failures.closed_by_peer`): one the server closed while
  it was idle is replaced before anything is written on it.
* A request (head and body) goes out in one ``sendall`` with ``TCP_NODELAY`` set.
* At most once: a failure before the whole request was written raises
  :class:`~springpython.errors.ConnectFailedError` (the server cannot have run it; a
  proxy may send it once more on a new connection); any failure after it went out
  raises :class:`~springpython.errors.ConnectionLostError` or
  :class:`~springpython.errors.CallTimeoutError`, and the request is never resent.
  :mod:`springpython.remoting.failures` decides which.
* No HTTP parsing here: the bytes go to :class:`~springpython.remoting.http_wire.ResponseReader`.
* After any failure the connection is closed; the next call opens a new one."""

from __future__ import annotations

import logging
import socket
import ssl
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from ..errors import ConfigurationError, ProtocolError, VerificationException
from . import failures
from .failures import Stage
from .http_wire import RequestHead, Response, ResponseReader

__all__ = ["HTTPURL", "parse_url", "HTTPEndpoint", "HTTPConnection", "DEFAULT_MAX_REPLY_SIZE"]

log = logging.getLogger(__name__)

DEFAULT_MAX_REPLY_SIZE = 64 * 1024 * 1024
_RECV_SIZE = 65536
# How long a failed first write waits for the TLS alert that may explain it.
_ALERT_WAIT = 1.0


@dataclass(frozen=True, slots=True)
class HTTPURL:
    """An ``http://`` or ``https://`` URL taken apart; ``port`` is ``None`` when the URL has none."""

    url: str
    scheme: str
    host: str
    port: int | None
    path: str
    username: str | None
    password: str | None

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else (443 if self.tls else 80)


def parse_url(url: object, name: str = "service_url") -> HTTPURL:
    """Check and split an ``http(s)://host[:port]/path`` URL; a bad one is a
    :class:`~springpython.errors.ConfigurationError` naming the property ``name``."""
    expected = "http://host:port/path or https://host:port/path"
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(f"{name} must be {expected}, got {url!r}")
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"{name} {text!r} is not a valid URL: bad port ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigurationError(f"{name} must be {expected}, got {text!r} (scheme {parts.scheme!r})")
    if not parts.hostname:
        raise ConfigurationError(f"{name} must be {expected}, got {text!r} (no host)")
    if port == 0:
        raise ConfigurationError(f"{name} {text!r} is not a valid URL: bad port 0 (expected 1-65535)")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return HTTPURL(
        url=text,
        scheme=parts.scheme.lower(),
        host=parts.hostname,
        port=port,
        path=path,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class HTTPEndpoint:
    """Where and how to call: the URL, the TLS context (``https://`` only), timeouts,
    the reply size limit and the request head, computed once and shared by every
    connection to it."""

    __slots__ = ("url", "address", "tls", "verify_peer", "server_hostname", "connect_timeout", "timeout", "max_reply",
                 "head")

    def __init__(
        self,
        url: HTTPURL,
        *,
        content_type: str,
        user_agent: str,
        tls: ssl.SSLContext | None = None,
        verify_peer: Callable[[Any], None] | None = None,
        timeout: float | None = None,
        connect_timeout: float | None = None,
        max_reply_size: int = DEFAULT_MAX_REPLY_SIZE,
        credentials: tuple[str, str] | None = None,
        headers: list[tuple[str, str]] | tuple[()] = (),
    ) -> None:
        if url.tls and tls is None:
            raise ValueError(f"{url.url} is https:// and needs a TLS context")
        self.url = url.url
        self.address = (url.host, url.effective_port)
        self.tls = tls if url.tls else None
        #: Checks the server's decoded certificate after the handshake (``verify_fields``);
        #: raises :class:`~springpython.errors.VerificationException` to refuse it.
        self.verify_peer = verify_peer if url.tls else None
        self.server_hostname = url.host
        self.timeout = timeout
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self.max_reply = max_reply_size
        self.head = RequestHead(url.host, url.port, url.path, content_type, user_agent,
                                credentials=credentials, headers=list(headers))

    def __repr__(self) -> str:
        return f"<HTTPEndpoint {self.url}>"


class HTTPConnection:
    """One kept-alive connection to an :class:`HTTPEndpoint` (see the rules of this file)."""

    __slots__ = ("endpoint", "_sock", "_closed_by_peer", "_reader", "_buffer", "_view")

    def __init__(self, endpoint: HTTPEndpoint) -> None:
        self.endpoint = endpoint
        self._sock: socket.socket | None = None
        self._closed_by_peer: Callable[[], bool] | None = None
        self._reader: ResponseReader | None = None
        self._buffer = bytearray(_RECV_SIZE)
        self._view = memoryview(self._buffer)

    @property
    def sock(self) -> socket.socket | None:
        """The socket while connected, else ``None``."""
        return self._sock

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def exchange(self, body: bytes, method: str | None = None, headers: bytes = b"") -> Response:
        """POST ``body`` and return the reply, whatever its status. ``method`` (the
        remote method's name) only goes into error messages; ``headers`` are extra
        header lines for this request (see :meth:`RequestHead.request`)."""
        sock = self._sock
        if sock is not None and self._closed_by_peer():  # type: ignore[misc]
            log.debug("%s closed the kept-alive connection; reconnecting", self.endpoint.url)
            self.close()
            sock = None
        fresh = sock is None
        if sock is None:
            sock = self._connect(method)
        endpoint = self.endpoint
        try:
            sock.sendall(endpoint.head.request(body, headers))
        except OSError as exc:
            cause: BaseException = exc
            if fresh and endpoint.tls is not None:
                cause = self._alert(sock) or exc
            self.close()
            raise failures.for_exception(cause, url=endpoint.url, method=method, stage=Stage.SEND,
                                         timeout=endpoint.timeout) from cause
        try:
            response = self._read(sock, method)
        except BaseException:
            self.close()
            raise
        if not response.keep_alive:
            self.close()
        return response

    def request_bytes(self, body: bytes) -> bytes:
        """The bytes :meth:`exchange` writes for ``body`` (for tracing)."""
        return self.endpoint.head.request(body)

    def _connect(self, method: str | None) -> socket.socket:
        endpoint = self.endpoint
        try:
            sock = socket.create_connection(endpoint.address, timeout=endpoint.connect_timeout)
        except OSError as exc:
            raise failures.for_exception(exc, url=endpoint.url, method=method, stage=Stage.CONNECT,
                                         timeout=endpoint.connect_timeout) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if endpoint.tls is not None:
                sock = endpoint.tls.wrap_socket(sock, server_hostname=endpoint.server_hostname)
                if endpoint.verify_peer is not None:
                    endpoint.verify_peer(sock.getpeercert())
            sock.settimeout(endpoint.timeout)
        except (OSError, VerificationException) as exc:
            sock.close()
            raise failures.for_exception(exc, url=endpoint.url, method=method, stage=Stage.CONNECT,
                                         timeout=endpoint.connect_timeout) from exc
        self._sock = sock
        self._closed_by_peer = failures.closed_by_peer(sock)
        self._reader = ResponseReader(endpoint.max_reply)
        log.debug("connected to %s", endpoint.url)
        return sock

    def _alert(self, sock: socket.socket) -> ssl.SSLError | None:
        """The TLS alert waiting on a new connection whose first write failed: with TLS
        1.3 a server that refuses the client certificate says so after the handshake,
        and may close before the request is written."""
        try:
            sock.settimeout(_ALERT_WAIT)
            sock.recv_into(self._buffer)
        except ssl.SSLError as exc:
            return exc
        except OSError:
            pass
        return None

    def _read(self, sock: socket.socket, method: str | None) -> Response:
        endpoint = self.endpoint
        reader = self._reader
        assert reader is not None  # made with the socket
        reader.start()
        view = self._view
        recv_into = sock.recv_into
        while True:
            try:
                size = recv_into(self._buffer)
            except OSError as exc:
                raise failures.for_exception(exc, url=endpoint.url, method=method, stage=Stage.REPLY,
                                             timeout=endpoint.timeout) from exc
            try:
                if size == 0:
                    if reader.eof():
                        break
                    expected = _content_length(reader) if reader.head_done else None
                    raise failures.peer_closed(endpoint.url, method, received=reader.body_size if reader.head_done
                                               else reader.received, expected=expected)
                if reader.feed(view[:size]):
                    break
            except ProtocolError as exc:
                raise failures.bad_reply(endpoint.url, method, exc) from exc
        return reader.response()

    def close(self) -> None:
        """Close the socket (idempotent); the next :meth:`exchange` connects again."""
        sock, self._sock, self._closed_by_peer, self._reader = self._sock, None, None, None
        if sock is None:
            return
        log.debug("closing the connection to %s", self.endpoint.url)
        try:
            sock.close()
        except OSError:
            log.debug("closing the connection to %s failed", self.endpoint.url, exc_info=True)

    def __enter__(self) -> "HTTPConnection":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "connected" if self._sock is not None else "idle"
        return f"<HTTPConnection {self.endpoint.url} {state}>"


def _content_length(reader: ResponseReader) -> int | None:
    value = reader.header(b"content-length")
    return int(value) if value is not None and value.isdigit() else None
