"""One place that turns a failed remote call into the contract's error, for every
transport: :class:`~springpython.errors.ConnectFailedError` (the call was not sent,
so it did not run and a retry is safe), :class:`~springpython.errors.ConnectionLostError`
(it went out and may have run, so it is never sent again) and
:class:`~springpython.errors.CallTimeoutError` (no reply in time; it may have run).
Messages name the URL and the method.

Rules of this file:

* What a failure means depends on how far the call got (:class:`Stage`), never on
  the kind of socket: a failure while connecting or while the request was being
  written means "not sent"; anything after the request went out in full means "may
  have run", except a certificate refusal.
* A certificate refusal is "not sent" at any stage: a TLS alert from
  :func:`springpython.remoting.tls.is_certificate_refusal` (TLS 1.3 delivers it on the
  first read, after the request was written: the server still did not run it), or an
  HTTP 403 carrying :data:`~springpython.remoting.tls.REFUSED_HEADER`. Its message
  contains :data:`~springpython.remoting.tls.CLIENT_CERTIFICATE_REFUSED`.
* Functions here build and return the error; the caller raises it ``from`` the cause.

:func:`closed_by_peer` is the one check, run before a kept-alive connection is
reused, for a connection the server closed while it was idle."""

from __future__ import annotations

import enum
import select
import socket
import ssl
from typing import Callable

from ..errors import (
    CallTimeoutError,
    CommunicationError,
    ConnectFailedError,
    ConnectionLostError,
    ProtocolError,
    RemoteFault,
    VerificationException,
)
from . import tls
from .http_wire import Response

__all__ = [
    "Stage",
    "for_exception",
    "peer_closed",
    "bad_reply",
    "certificate_refused",
    "http_status",
    "closed_by_peer",
    "closed_before_send",
]

_HTTP_FORBIDDEN = 403
_STATUS_TEXT_LIMIT = 200


class Stage(enum.Enum):
    """How far a call got when it failed."""

    #: Opening the connection (TCP connect, TLS handshake): nothing was sent.
    CONNECT = "connect"
    #: Writing the request: the peer did not receive all of it, so it cannot run it.
    SEND = "send"
    #: The request went out in full: waiting for or reading the reply.
    REPLY = "reply"


def _call(method: str | None) -> str:
    return f"{method}()" if method else "the call"


def _seconds(timeout: float | None) -> str:
    return "the timeout" if timeout is None else f"{timeout:g}s"


def certificate_refused(url: str, method: str | None, reason: str | None = None) -> ConnectFailedError:
    """The server refused this client's certificate: the call did not run."""
    why = f"; {reason}" if reason else ""
    return ConnectFailedError(f"{url}: {tls.CLIENT_CERTIFICATE_REFUSED} (calling {_call(method)}{why})")


def for_exception(
    exc: BaseException,
    *,
    url: str,
    method: str | None,
    stage: Stage,
    timeout: float | None = None,
    timed_out: bool | None = None,
) -> CommunicationError:
    """The contract's error for ``exc`` (a socket, TLS or timeout error, or this side's
    :class:`~springpython.errors.VerificationException` of the server's certificate)
    raised at ``stage``. ``timed_out`` says whether ``exc`` is a timeout, for a library
    whose timeout error is not :class:`TimeoutError` (Pyro's).

    An error that is already a :class:`~springpython.errors.CommunicationError` is
    returned as it is; a certificate refusal found anywhere in the chain of causes
    (a library may wrap the TLS alert) is :func:`certificate_refused`."""
    if isinstance(exc, CommunicationError):
        return exc
    call = _call(method)
    refusal = _refusal_in_chain(exc)
    if refusal is not None:
        return certificate_refused(url, method, getattr(refusal, "reason", None))
    if timed_out is None:
        timed_out = isinstance(exc, (TimeoutError, socket.timeout))
    if isinstance(exc, VerificationException):
        return ConnectFailedError(f"{url}: cannot connect: the server's certificate was refused: {exc}; "
                                  f"{call} was not sent")
    if stage is Stage.CONNECT:
        if timed_out:
            return ConnectFailedError(f"{url}: cannot connect: timed out after {_seconds(timeout)}; "
                                      f"{call} was not sent")
        if isinstance(exc, ssl.SSLError):
            return ConnectFailedError(f"{url}: cannot connect: TLS handshake failed: {exc}; {call} was not sent")
        return ConnectFailedError(f"{url}: cannot connect: {exc}; {call} was not sent")
    if stage is Stage.SEND:
        what = f"timed out after {_seconds(timeout)}" if timed_out else str(exc)
        return ConnectFailedError(f"{url}: sending {call} failed: {what}; it was not delivered")
    if timed_out:
        return CallTimeoutError(f"{url}: no reply to {call} within {_seconds(timeout)}; it may have run")
    return ConnectionLostError(f"{url}: connection lost waiting for the reply to {call}: {exc}; it may have run")


def _refusal_in_chain(exc: BaseException) -> BaseException | None:
    """The certificate refusal ``exc`` is or was raised from: a TLS alert, or a peer's
    answer that quotes :data:`~springpython.remoting.tls.CLIENT_CERTIFICATE_REFUSED`."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if tls.is_certificate_refusal(current) or tls.CLIENT_CERTIFICATE_REFUSED in str(current):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def closed_before_send(url: str, method: str | None) -> ConnectFailedError:
    """A kept-alive connection turned out to be closed before the call was written."""
    return ConnectFailedError(f"{url}: the connection was closed before {_call(method)} was sent; "
                              "it was not delivered")


def peer_closed(url: str, method: str | None, *, received: int = 0, expected: int | None = None) -> ConnectionLostError:
    """The server closed the connection before its reply was complete (the call went out)."""
    call = _call(method)
    if received == 0:
        return ConnectionLostError(f"{url}: the server closed the connection without replying to {call}; "
                                   "it may have run")
    if expected is not None:
        return ConnectionLostError(f"{url}: the server closed the connection after {received} of {expected} "
                                   f"reply bytes to {call}; it may have run")
    return ConnectionLostError(f"{url}: the server closed the connection inside the reply to {call}; "
                               "it may have run")


def bad_reply(url: str, method: str | None, exc: BaseException) -> ProtocolError:
    """A reply that breaks the protocol (the call went out and may have run)."""
    return ProtocolError(f"{url}: bad reply to {_call(method)}: {exc}")


def http_status(url: str, method: str | None, response: Response) -> RemoteFault | ConnectFailedError:
    """The error for an HTTP reply that is not a success: a certificate refusal (403 with
    :data:`~springpython.remoting.tls.REFUSED_HEADER`) or a ``RemoteFault`` whose
    ``code`` is the status."""
    status = response.status
    if status == _HTTP_FORBIDDEN and response.header(tls.REFUSED_HEADER) is not None:
        return certificate_refused(url, method)
    text = response.body[:_STATUS_TEXT_LIMIT].decode("utf-8", "replace").strip()
    message = f"{url}: HTTP {status} {response.reason} calling {_call(method)}" + (f": {text}" if text else "")
    return RemoteFault(message, code=status)


_TCP_INFO = getattr(socket, "TCP_INFO", None)
_TCP_ESTABLISHED = 1


def closed_by_peer(sock: socket.socket) -> Callable[[], bool]:
    """A check for ``sock``, to run before a kept-alive connection is reused: true when
    the peer closed or reset it while it was idle (a request sent on it would be lost).

    On Linux it reads the TCP state (one system call that keeps the GIL, so threads
    calling in parallel are not slowed down); elsewhere an idle connection that is
    readable counts as closed (only an end of stream or a TLS close_notify can be
    waiting there)."""
    tcp_info = _TCP_INFO
    if tcp_info is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        getsockopt = sock.getsockopt

        def state_check() -> bool:
            try:
                return getsockopt(socket.IPPROTO_TCP, tcp_info, 1)[0] != _TCP_ESTABLISHED
            except OSError:
                return True

        return state_check
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLPRI)

    def readable_check() -> bool:
        try:
            return bool(poller.poll(0))
        except OSError:
            return True

    return readable_check
