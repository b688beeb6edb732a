"""What the HTTP proxy factories (Hessian, XML-RPC) share: the properties that say
where and how to connect, checked once at start, and a
:class:`~springpython.remoting.http_client.HTTPConnection` per calling thread."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Protocol, TypeVar

from ..errors import ConfigurationError
from ._values import as_float, as_int
from .http_client import DEFAULT_MAX_REPLY_SIZE, HTTPConnection, HTTPEndpoint, parse_url
from . import tracing
from .http_wire import Response
from .proxy import RemoteProxy
from .tracing import Target
from .tls_properties import CLIENT_TLS_PROPERTIES, ClientTLSProperties

__all__ = ["HTTPProxyFactory"]

S = TypeVar("S")


class Closable(Protocol):
    """A connection, blocking or asyncio: what decoding a reply may need of it."""

    def close(self) -> None: ...


class HTTPProxyFactory(ClientTLSProperties, RemoteProxy, Generic[S]):
    """Base of the proxy factories that POST calls over HTTP(S).

    Properties: ``service_url`` (``http://`` or ``https://``); ``timeout`` (seconds to
    wait for each part of a reply; ``None``: no limit) and ``connect_timeout`` (for TCP
    and the TLS handshake; default ``timeout``); over HTTPS the TLS properties of
    :class:`~springpython.remoting.tls_properties.ClientTLSProperties` (``ca_certs``, ``certfile``,
    ``keyfile``, ``cert_reqs``, ``check_hostname``, ``verify_fields``: the server's
    certificate and host name are checked unless told otherwise);
    ``username``/``password`` for HTTP basic authentication (credentials in the URL
    work too); ``max_reply_size`` in bytes. :meth:`after_properties_set` checks them
    all, so a bad one fails the context start with file, line and object id.

    Subclasses set :attr:`CONTENT_TYPE` and :attr:`USER_AGENT`, check their own
    properties in :meth:`_settings` (whose result :meth:`_target` hands back), and
    speak their protocol in :meth:`_request` and :meth:`_reply`, which the asyncio
    twin (:class:`~springpython.remoting.async_proxy.AsyncHTTPProxy`) shares."""

    _DERIVED: ClassVar[tuple[str, ...]] = (*RemoteProxy._DERIVED, "_http_target")

    CONTENT_TYPE: ClassVar[str] = "application/octet-stream"
    USER_AGENT: ClassVar[str] = "springpython"
    #: ``rpc.system`` of this transport's spans.
    RPC_SYSTEM: ClassVar[str] = "http"

    timeout: float | None = None
    connect_timeout: float | None = None
    username: str | None = None
    password: str | None = None
    max_reply_size: int = DEFAULT_MAX_REPLY_SIZE

    # -- settings ---------------------------------------------------------------------
    def _check(self) -> None:
        """Resolve every property now (URL, timeouts, TLS files), raising ConfigurationError."""
        self.__dict__["_http_target"] = self._resolve()

    def _settings(self) -> S:
        """The subclass's own properties, checked (raise ``ValueError`` naming the property)."""
        raise NotImplementedError

    def _target(self) -> tuple[HTTPEndpoint, S]:
        target = self.__dict__.get("_http_target")
        if target is None:
            target = self.__dict__["_http_target"] = self._resolve()
        return target

    def _resolve(self) -> tuple[HTTPEndpoint, S]:
        owner = type(self).__name__
        try:
            url = parse_url(self.service_url)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{owner}: {exc.reason}") from None
        try:
            timeout = as_float("timeout", self.timeout)
            connect_timeout = as_float("connect_timeout", self.connect_timeout)
            max_reply = as_int("max_reply_size", self.max_reply_size)
            if max_reply <= 0:
                raise ValueError(f"max_reply_size must be a positive number of bytes, got {self.max_reply_size!r}")
            settings = self._settings()
        except ValueError as exc:
            raise ConfigurationError(f"{owner}: {exc}") from None
        tls = None
        if url.tls:
            tls = self._client_tls(required=True)
        else:
            given = [name for name in CLIENT_TLS_PROPERTIES if getattr(self, name) not in (None, "")]
            if given:
                raise ConfigurationError(f"{owner}: {', '.join(given)} set, but service_url {url.url!r} "
                                         "is not https://")
        user, password = self.username, self.password
        if user is None and url.username is not None:
            user, password = url.username, url.password
        endpoint = HTTPEndpoint(
            url, content_type=self.CONTENT_TYPE, user_agent=self.USER_AGENT,
            tls=tls.context() if tls is not None else None,
            verify_peer=tls.verify if tls is not None and tls.verify_fields else None, timeout=timeout,
            connect_timeout=connect_timeout, max_reply_size=max_reply,
            credentials=(user, password or "") if user is not None else None,
        )
        return endpoint, settings

    def _span_target(self) -> Target:
        url = parse_url(self.service_url)
        return Target.for_http(self.RPC_SYSTEM, url.host, url.effective_port, url.path)

    # -- the protocol -----------------------------------------------------------------
    def _request(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
        """The request body calling ``name``."""
        raise NotImplementedError

    def _reply(self, conn: Closable, name: str, response: Response) -> Any:
        """The value the reply carries, or the contract's error for it; closes ``conn``
        when what follows on it cannot be trusted."""
        raise NotImplementedError

    def _invoke(self, conn: HTTPConnection, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        response = conn.exchange(self._request(name, args, kwargs), name, tracing.http_headers())
        return self._reply(conn, name, response)

    # -- connections ------------------------------------------------------------------
    def _open(self) -> HTTPConnection:
        return HTTPConnection(self._target()[0])

    def _close(self, conn: HTTPConnection) -> None:
        conn.close()
