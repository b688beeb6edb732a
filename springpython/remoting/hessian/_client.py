"""The Hessian client: :class:`HessianProxyFactory`, a proxy that looks like the
service at ``service_url``. Its connections are
:class:`~springpython.remoting.http_client.HTTPConnection` objects, one kept alive
per calling thread."""

from __future__ import annotations

import logging
from typing import Any

from ...errors import ConfigurationError, ProtocolError
from .. import failures, faults
from .._values import as_float, as_int
from ..http_client import DEFAULT_MAX_REPLY_SIZE, HTTPConnection, HTTPEndpoint, parse_url
from ..http_wire import Response
from ..proxy import RemoteProxy
from ..tls import client_context
from ._codec import decode_reply, encode_call

__all__ = ["HessianProxyFactory"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
CONTENT_TYPE = "x-application/hessian"
USER_AGENT = "springpython-hessian"


class _Target:
    """What ``service_url`` and the other properties resolve to, computed once."""

    __slots__ = ("endpoint", "version")

    def __init__(self, factory: "HessianProxyFactory") -> None:
        owner = type(factory).__name__
        try:
            url = parse_url(factory.service_url)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{owner}: {exc.reason}") from None
        try:
            timeout = as_float("timeout", factory.timeout)
            connect_timeout = as_float("connect_timeout", factory.connect_timeout)
            max_reply = as_int("max_reply_size", factory.max_reply_size)
            version = as_int("hessian_version", factory.hessian_version)
        except ValueError as exc:
            raise ConfigurationError(f"{owner}: {exc}") from None
        if max_reply <= 0:
            raise ConfigurationError(f"{owner}: max_reply_size must be a positive number of bytes, "
                                     f"got {factory.max_reply_size!r}")
        if version not in (1, 2):
            raise ConfigurationError(f"{owner}: hessian_version must be 1 or 2, got {factory.hessian_version!r}")
        if not url.tls and (factory.ca_certs or factory.certfile or factory.keyfile):
            raise ConfigurationError(f"{owner}: ca_certs/certfile/keyfile are set but service_url {url.url!r} "
                                     "is not https://")
        context = None
        if url.tls:
            try:
                context = client_context(ca_certs=factory.ca_certs, certfile=factory.certfile,
                                         keyfile=factory.keyfile)
            except ConfigurationError as exc:
                raise ConfigurationError(f"{owner}: {exc.reason}") from exc.__cause__
        user, password = factory.username, factory.password
        if user is None and url.username is not None:
            user, password = url.username, url.password
        self.endpoint = HTTPEndpoint(
            url, content_type=CONTENT_TYPE, user_agent=USER_AGENT, tls=context, timeout=timeout,
            connect_timeout=connect_timeout, max_reply_size=max_reply,
            credentials=(user, password or "") if user is not None else None,
        )
        self.version = version


class HessianProxyFactory(RemoteProxy):
    """A local stand-in for the Hessian service at ``service_url`` (``http://`` or
    ``https://``): calling a method sends a Hessian call and returns the decoded reply.

    Properties (settable from XML as text): ``timeout`` in seconds for each wait for
    the reply (default 30) and ``connect_timeout`` for connecting (default: ``timeout``);
    ``ca_certs``, ``certfile``, ``keyfile`` for HTTPS (server certificate and host name
    are always checked; without ``ca_certs`` the system CAs are trusted); ``username``
    and ``password`` for HTTP basic authentication (credentials in the URL work too);
    ``hessian_version`` 2 (the default: a Hessian 1 call asking for a Hessian 2 reply,
    as Caucho's Java client sends) or 1; ``max_reply_size`` in bytes. They are checked
    by ``after_properties_set``, so a bad one fails the context start.

    Errors follow the remoting contract (:mod:`springpython.remoting.faults`): a
    Hessian fault raises a :class:`~springpython.errors.RemoteFault` (also the builtin
    exception it names, or a class listed in ``exception_classes``) carrying the
    fault's ``code``, message and ``detail`` (a Java exception arrives as a dict);
    an unknown method, Java's included, is
    :class:`~springpython.errors.NoSuchMethodError`; an HTTP error status is a
    ``RemoteFault`` with the status as ``code``. Transport failures are those of
    :mod:`springpython.remoting.failures`: ``ConnectFailedError`` (not sent, also when
    the server refused the client certificate), ``ConnectionLostError`` (it may have
    run, so it is never sent again), ``CallTimeoutError``, ``ProtocolError``."""

    timeout: Any = DEFAULT_TIMEOUT
    connect_timeout: Any = None
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    username: str | None = None
    password: str | None = None
    hessian_version: Any = 2
    max_reply_size: Any = DEFAULT_MAX_REPLY_SIZE

    def _check(self) -> None:
        """Resolve every property now, so a bad URL or TLS file fails at start-up."""
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

    def _open(self) -> HTTPConnection:
        return HTTPConnection(self._resolve().endpoint)

    def _invoke(self, conn: HTTPConnection, name: str, args: tuple, kwargs: dict) -> Any:
        if kwargs:
            raise TypeError(f"Hessian calls take positional arguments only; {name}() got {sorted(kwargs)}")
        response = conn.exchange(encode_call(name, args, self._resolve().version), name)
        if response.status != 200 and not _may_carry_fault(response):
            raise failures.http_status(conn.endpoint.url, name, response.status, response.reason,
                                       response.headers, response.body)
        try:
            reply = decode_reply(response.body)
        except ProtocolError as exc:
            conn.close()
            if response.status != 200:
                raise failures.http_status(conn.endpoint.url, name, response.status, response.reason,
                                           response.headers, response.body) from None
            raise failures.bad_reply(conn.endpoint.url, name, exc) from exc
        if reply.fault is not None:
            fault = reply.fault
            raise self._fault(faults.from_hessian(fault.code, fault.message, fault.detail), name)
        if response.status != 200:
            raise failures.http_status(conn.endpoint.url, name, response.status, response.reason,
                                       response.headers, response.body)
        return reply.value

    def _close(self, conn: HTTPConnection) -> None:
        conn.close()


def _may_carry_fault(response: Response) -> bool:
    """Some servers send a Hessian fault with an error status (Caucho's with 500)."""
    return "hessian" in response.headers.get("content-type", "")
