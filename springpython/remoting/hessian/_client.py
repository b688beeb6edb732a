"""The Hessian client: :class:`HessianProxyFactory`, a proxy that looks like the
service at ``service_url``, over the shared HTTP client
(:mod:`springpython.remoting.http_proxy`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ...errors import ProtocolError
from .. import failures, faults
from .._values import as_int
from ..async_proxy import AsyncHTTPProxy
from ..http_proxy import Closable, HTTPProxyFactory
from ..http_wire import Response
from ._codec import DEFAULT_LIMITS, DecodeLimits, decode_reply, encode_call

__all__ = ["HessianProxyFactory", "AsyncHessianProxyFactory"]

DEFAULT_TIMEOUT = 30.0


class HessianProxyFactory(HTTPProxyFactory[tuple[int, DecodeLimits]]):
    """A local stand-in for the Hessian service at ``service_url`` (``http://`` or
    ``https://``): calling a method sends a Hessian call and returns the decoded reply.

    Properties (settable from XML as text): those of
    :class:`~springpython.remoting.http_proxy.HTTPProxyFactory` (``timeout`` defaults
    to 30 seconds here), and ``hessian_version``: 2 (the default: a Hessian 1 call
    asking for a Hessian 2 reply, as Caucho's Java client sends) or 1; and the decode
    budget of a reply, as on :class:`~springpython.remoting.hessian.HessianServiceExporter`:
    ``max_depth``, ``base_containers``, ``bytes_per_container`` (a reply over it is a
    :class:`~springpython.errors.ProtocolError`).

    Errors follow the remoting contract (:mod:`springpython.remoting.faults`): a
    Hessian fault raises a :class:`~springpython.errors.RemoteFault` (also the builtin
    exception it names, or a class listed in ``exception_classes``) carrying the
    fault's ``code``, message and ``detail`` (a Java exception arrives as a dict); an
    unknown method, Java's included, is :class:`~springpython.errors.NoSuchMethodError`;
    an HTTP error status is a ``RemoteFault`` with the status as ``code``. Transport
    failures are those of :mod:`springpython.remoting.failures`: ``ConnectFailedError``
    (not sent; also when the server refused the client certificate),
    ``ConnectionLostError`` (it may have run, so it is never sent again),
    ``CallTimeoutError``, ``ProtocolError``."""

    CONTENT_TYPE: ClassVar[str] = "x-application/hessian"
    USER_AGENT: ClassVar[str] = "springpython-hessian"
    RPC_SYSTEM: ClassVar[str] = "hessian"

    timeout: float | None = DEFAULT_TIMEOUT
    hessian_version: Literal[1, 2] = 2
    max_depth: int = DEFAULT_LIMITS.max_depth
    base_containers: int = DEFAULT_LIMITS.base_containers
    bytes_per_container: int = DEFAULT_LIMITS.bytes_per_container

    def _settings(self) -> tuple[int, DecodeLimits]:
        version = as_int("hessian_version", self.hessian_version)
        if version not in (1, 2):
            raise ValueError(f"hessian_version must be 1 or 2, got {self.hessian_version!r}")
        return version, DecodeLimits.of(self.max_depth, self.base_containers, self.bytes_per_container)

    def _request(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
        if kwargs:
            raise TypeError(f"Hessian calls take positional arguments only; {name}() got {sorted(kwargs)}")
        return encode_call(name, args, self._target()[1][0])

    def _reply(self, conn: Closable, name: str, response: Response) -> Any:
        endpoint, (_, limits) = self._target()
        url = endpoint.url
        ok = response.status == 200
        if not ok and not _may_carry_fault(response):
            raise failures.http_status(url, name, response)
        try:
            reply = decode_reply(response.body, limits)
        except ProtocolError as exc:
            conn.close()  # what follows on the connection cannot be trusted either
            raise (failures.bad_reply(url, name, exc) if ok else failures.http_status(url, name, response)) from exc
        if reply.fault is not None:
            fault = reply.fault
            raise self._fault(faults.from_hessian(fault.code, fault.message, fault.detail), name)
        if not ok:
            raise failures.http_status(url, name, response)
        return reply.value


def _may_carry_fault(response: Response) -> bool:
    """Some servers send a Hessian fault with an error status (Caucho's with 500)."""
    return "hessian" in (response.header("content-type") or "")


class AsyncHessianProxyFactory(AsyncHTTPProxy[tuple[int, DecodeLimits]], HessianProxyFactory):
    """:class:`HessianProxyFactory` for asyncio: the same properties, TLS and errors;
    ``await proxy.method(...)`` over kept-alive connections pooled per event loop;
    ``await proxy.aclose()`` or ``async with`` closes them
    (:mod:`springpython.remoting.async_proxy`)."""
