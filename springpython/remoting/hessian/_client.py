"""The Hessian client: :class:`HessianProxyFactory`, a proxy that looks like the
service at ``service_url``.

Each thread keeps one HTTP/1.1 connection alive between calls (the connections live
in :class:`~springpython.remoting.proxy.RemoteProxy`). A request goes out in a
single ``sendall`` with ``TCP_NODELAY`` set, so kept-alive calls never wait on
delayed ACKs."""

from __future__ import annotations

import base64
import logging
import select
import socket
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

from ...context.lifecycle import InitializingObject
from ...errors import (
    CallTimeoutError,
    CommunicationError,
    ConfigurationError,
    ConnectFailedError,
    ConnectionLostError,
    ProtocolError,
    RemoteFault,
)
from .._values import as_float, as_int
from ..proxy import RemoteProxy
from ..tls import client_context
from ._codec import decode_reply, encode_call

__all__ = ["HessianProxyFactory"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_REPLY_SIZE = 64 * 1024 * 1024
CONTENT_TYPE = "x-application/hessian"
_MAX_LINE = 65536
_MAX_HEADERS = 100


class _Target:
    """What ``service_url`` and the other properties resolve to, computed once."""

    __slots__ = ("url", "host", "port", "path", "tls", "head", "timeout", "max_reply", "version")

    def __init__(self, factory: "HessianProxyFactory") -> None:
        url = factory.service_url
        if not isinstance(url, str) or not url.strip():
            raise ConfigurationError(f"HessianProxyFactory: service_url must be an http(s) URL, got {url!r}")
        url = url.strip()
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise ConfigurationError(f"HessianProxyFactory: service_url {url!r} is not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"HessianProxyFactory: service_url {url!r} must be http://host[:port]/path or https://…"
            )
        self.url = url
        self.host = parts.hostname
        self.port = port or (443 if parts.scheme == "https" else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            self.timeout = as_float("timeout", factory.timeout)
            self.max_reply = as_int("max_reply_size", factory.max_reply_size)
            self.version = as_int("hessian_version", factory.hessian_version)
        except ValueError as exc:
            raise ConfigurationError(f"HessianProxyFactory: {exc}") from None
        if self.version not in (1, 2):
            raise ConfigurationError(
                f"HessianProxyFactory: hessian_version must be 1 or 2, got {factory.hessian_version!r}"
            )
        self.tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self.tls = client_context(ca_certs=factory.ca_certs, certfile=factory.certfile, keyfile=factory.keyfile)
        user, password = factory.username, factory.password
        if user is None and parts.username:
            user, password = unquote(parts.username), unquote(parts.password or "")
        host_header = f"[{self.host}]" if ":" in self.host else self.host
        if port:
            host_header += f":{port}"
        lines = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {host_header}",
            f"Content-Type: {CONTENT_TYPE}",
            "User-Agent: springpython-hessian",
        ]
        if user is not None:
            token = base64.b64encode(f"{user}:{password or ''}".encode("utf-8")).decode("ascii")
            lines.append(f"Authorization: Basic {token}")
        self.head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")

    def where(self) -> str:
        return f"{self.host}:{self.port}"


class _Connection:
    """One kept-alive HTTP/1.1 connection (reopened when the server closed it)."""

    __slots__ = ("target", "sock", "reader", "used")

    def __init__(self, target: _Target) -> None:
        self.target = target
        self.sock: socket.socket | None = None
        self.reader: Any = None
        self.used = False
        self.connect()

    def connect(self) -> None:
        target = self.target
        try:
            sock = socket.create_connection((target.host, target.port), timeout=target.timeout)
        except (socket.timeout, TimeoutError) as exc:
            raise ConnectFailedError(
                f"connecting to {target.url} timed out after {target.timeout}s"
            ) from exc
        except OSError as exc:
            raise ConnectFailedError(f"cannot connect to {target.url}: {exc}") from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if target.tls is not None:
                sock = target.tls.wrap_socket(sock, server_hostname=target.host)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise ConnectFailedError(
                f"TLS handshake with {target.where()} failed: {exc.verify_message or exc}"
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            raise ConnectFailedError(f"TLS handshake with {target.where()} failed: {exc}") from exc
        self.sock = sock
        self.reader = sock.makefile("rb", buffering=65536)
        self.used = False
        log.debug("connected to %s", target.url)

    def close(self) -> None:
        sock, reader = self.sock, self.reader
        self.sock = self.reader = None
        if sock is not None:
            log.debug("closing the connection to %s", self.target.url)
        if reader is not None:
            reader.close()
        if sock is not None:
            try:
                sock.close()
            except OSError:
                log.debug("closing the connection to %s failed", self.target.url, exc_info=True)

    def _stale(self) -> bool:
        """A kept-alive connection that is readable while idle was closed by the server."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def call(self, body: bytes) -> bytes:
        """Send one request and return the reply body of a 200 response."""
        if self.sock is None or (self.used and self._stale()):
            self.close()
            self.connect()
        target = self.target
        request = target.head + b"%d\r\n\r\n" % len(body) + body
        try:
            self.sock.sendall(request)  # type: ignore[union-attr]
        except (socket.timeout, TimeoutError) as exc:
            self.close()
            raise CallTimeoutError(f"sending a call to {target.url} timed out after {target.timeout}s") from exc
        except OSError as exc:
            self.close()
            # sendall() failed, so the whole request never left: the server cannot have run it.
            raise ConnectFailedError(f"sending a call to {target.url} failed (not delivered): {exc}") from exc
        self.used = True
        try:
            return self._response()
        except (socket.timeout, TimeoutError) as exc:
            self.close()
            raise CallTimeoutError(f"no reply from {target.url} within {target.timeout}s") from exc
        except (CommunicationError, RemoteFault):
            raise  # already ours (a CommunicationError is also an OSError)
        except OSError as exc:
            self.close()
            raise ConnectionLostError(f"the connection to {target.url} failed during a call: {exc}") from exc

    def _line(self) -> bytes:
        line = self.reader.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise self._bad("an HTTP header line longer than 64 KiB")
        return line

    def _bad(self, what: str) -> ProtocolError:
        self.close()
        return ProtocolError(f"bad HTTP response from {self.target.url}: {what}")

    def _response(self) -> bytes:
        status_line = self._line()
        if not status_line:
            self.close()
            raise ConnectionLostError(f"{self.target.url} closed the connection without replying")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise self._bad(f"status line {status_line[:80]!r}")
        http10 = parts[0] == b"HTTP/1.0"
        status = int(parts[1])
        reason = parts[2].strip().decode("latin-1") if len(parts) > 2 else ""
        length: int | None = None
        chunked = False
        close = http10
        content_type = ""
        for _ in range(_MAX_HEADERS):
            line = self._line()
            if line in (b"\r\n", b"\n"):
                break
            if not line:
                raise self._bad("the connection closed inside the headers")
            name, sep, value = line.partition(b":")
            if not sep:
                raise self._bad(f"header line {line[:80]!r}")
            key = name.strip().lower()
            if key == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    raise self._bad(f"Content-Length {value.strip()[:40]!r}") from None
                if length < 0:
                    raise self._bad(f"Content-Length {length}")
            elif key == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif key == b"connection":
                token = value.strip().lower()
                close = token == b"close" or (http10 and token != b"keep-alive")
            elif key == b"content-type":
                content_type = value.strip().decode("latin-1")
        else:
            raise self._bad(f"more than {_MAX_HEADERS} header lines")
        if chunked:
            body = self._chunked()
        elif length is not None:
            if length > self.target.max_reply:
                raise self._bad(f"a reply of {length} bytes is over the limit of {self.target.max_reply}")
            body = self.reader.read(length)
            if len(body) != length:
                self.close()
                raise ConnectionLostError(
                    f"{self.target.url} closed the connection after {len(body)} of {length} reply bytes"
                )
        else:
            body = self.reader.read(self.target.max_reply + 1)
            if len(body) > self.target.max_reply:
                raise self._bad(f"a reply over the limit of {self.target.max_reply} bytes")
            close = True
        if close:
            self.close()
        if status != 200:
            if "hessian" in content_type:
                try:
                    reply = decode_reply(body)
                except ProtocolError:
                    reply = None
                if reply is not None and reply.fault is not None:
                    return body
            text = body[:200].decode("utf-8", "replace").strip()
            raise RemoteFault(
                f"HTTP {status} {reason} from {self.target.url}" + (f": {text}" if text else ""), code=status
            )
        return body

    def _chunked(self) -> bytes:
        parts = []
        total = 0
        while True:
            line = self._line()
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise self._bad(f"chunk size {size_text[:20]!r}") from None
            if size == 0:
                while self._line() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > self.target.max_reply:
                raise self._bad(f"a reply over the limit of {self.target.max_reply} bytes")
            chunk = self.reader.read(size)
            if len(chunk) != size:
                self.close()
                raise ConnectionLostError(f"{self.target.url} closed the connection inside a chunk")
            parts.append(chunk)
            self._line()


class HessianProxyFactory(RemoteProxy, InitializingObject):
    """A local stand-in for the Hessian service at ``service_url`` (``http://`` or
    ``https://``): calling a method sends a Hessian call and returns the decoded reply.

    Properties (settable from XML as text): ``timeout`` in seconds for connecting and
    for each reply (default 30); ``ca_certs``, ``certfile``, ``keyfile`` for HTTPS
    (server certificate and host name are always checked; without ``ca_certs`` the
    system CAs are trusted); ``username`` and ``password`` for HTTP basic
    authentication (credentials in the URL work too); ``hessian_version`` 2 (the
    default: a Hessian 1 call asking for a Hessian 2 reply, as Caucho's Java client
    sends) or 1; ``max_reply_size`` in bytes.

    A Hessian fault raises :class:`~springpython.errors.RemoteFault` with the fault's
    ``code`` (``ServiceException``, ``NoSuchMethodException``, …), its message, and its
    ``detail`` (a Java exception arrives as a dict); an HTTP error status raises
    ``RemoteFault`` with the status as ``code``. No connection, or a call that could
    not be written: :class:`~springpython.errors.ConnectFailedError` (the server did
    not get it); a connection lost after the call went out:
    :class:`~springpython.errors.ConnectionLostError` (it may have run, so it is never
    sent again); no reply in time: :class:`~springpython.errors.CallTimeoutError`."""

    timeout: Any = DEFAULT_TIMEOUT
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    username: str | None = None
    password: str | None = None
    hessian_version: Any = 2
    max_reply_size: Any = DEFAULT_MAX_REPLY_SIZE

    def after_properties_set(self) -> None:
        """Check the properties now, so a bad URL or TLS file fails at start-up."""
        self.__dict__["_target"] = _Target(self)

    def _resolve(self) -> _Target:
        target = self.__dict__.get("_target")
        if target is None:
            target = self.__dict__["_target"] = _Target(self)
        return target

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if not name.startswith("_"):
            self.__dict__.pop("_target", None)  # a changed property is read again

    def _open(self) -> _Connection:
        return _Connection(self._resolve())

    def _invoke(self, conn: _Connection, name: str, args: tuple, kwargs: dict) -> Any:
        if kwargs:
            raise TypeError(f"Hessian calls take positional arguments only; {name}() got {sorted(kwargs)}")
        body = conn.call(encode_call(name, args, conn.target.version))
        reply = decode_reply(body)
        if reply.fault is not None:
            fault = reply.fault
            raise RemoteFault(f"{fault.code}: {fault.message}", code=fault.code, detail=fault.detail)
        return reply.value

    def _close(self, conn: _Connection) -> None:
        conn.close()
