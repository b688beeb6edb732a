"""The exception tree of springpython: one base class, errors split into "the
configuration is wrong" and "the remote side or the network failed"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

__all__ = [
    "SpringPythonError",
    "Source",
    "ConfigurationError",
    "ObjectCreationError",
    "CircularDependencyError",
    "NoSuchObjectError",
    "AbstractObjectError",
    "AbstractObjectException",
    "MissingDependencyError",
    "RemotingError",
    "ExportError",
    "CommunicationError",
    "ConnectFailedError",
    "ConnectionLostError",
    "CallTimeoutError",
    "AllEndpointsDownError",
    "ProtocolError",
    "HTTPRequestError",
    "RemoteFault",
    "NoSuchMethodError",
    "VerificationException",
]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a definition came from: a file (or config class) and a line."""

    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        if self.file is None:
            return "<unknown>"
        return self.file if self.line is None else f"{self.file}:{self.line}"


class SpringPythonError(Exception):
    """Base class of every error springpython raises."""


class ConfigurationError(SpringPythonError):
    """A configuration is wrong; the message names file, line and object id."""

    def __init__(
        self,
        message: str,
        *,
        source: Source | None = None,
        object_id: str | None = None,
    ) -> None:
        self.reason = message
        self.source = source
        self.object_id = object_id
        super().__init__(self._render())

    @property
    def file(self) -> str | None:
        return self.source.file if self.source else None

    @property
    def line(self) -> int | None:
        return self.source.line if self.source else None

    def _render(self) -> str:
        parts = []
        if self.source is not None and self.source.file is not None:
            parts.append(f"{self.source}: ")
        if self.object_id is not None:
            parts.append(f"object '{self.object_id}': ")
        parts.append(self.reason)
        return "".join(parts)

    def __reduce__(self) -> tuple[Callable[..., ConfigurationError], tuple[Any, ...]]:
        # keep the structured fields across pickling
        return (_rebuild, (type(self), self.reason, self.source, self.object_id, self.__dict__))


def _rebuild(
    cls: type[ConfigurationError], reason: str, source: Source | None, object_id: str | None, state: dict[str, Any]
) -> ConfigurationError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, ConfigurationError._render(err))
    return err


class ObjectCreationError(ConfigurationError):
    """Creating, wiring or initializing an object failed; the cause is chained."""


class CircularDependencyError(ConfigurationError):
    """Objects depend on each other in a cycle, shown as ``a -> b -> a``."""

    def __init__(self, cycle: Iterable[str], *, source: Source | None = None) -> None:
        self.cycle = tuple(cycle)
        super().__init__(
            "circular reference: " + " -> ".join(self.cycle),
            source=source,
            object_id=self.cycle[0] if self.cycle else None,
        )


class NoSuchObjectError(ConfigurationError, KeyError):
    """No object of that id is defined."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class AbstractObjectError(NoSuchObjectError):
    """The object asked for is abstract: a template for other definitions, made only
    with ``get_object(name, ignore_abstract=True)``."""


#: Spring Python 1.2's name for :class:`AbstractObjectError`.
AbstractObjectException = AbstractObjectError


class MissingDependencyError(SpringPythonError, ImportError):
    """An optional dependency is not installed; the message says which extra to install."""


class RemotingError(SpringPythonError):
    """Base class of errors from the remoting layer."""


class ExportError(RemotingError):
    """A service could not be put on the network (port taken, bad address, bad TLS files)."""


class CommunicationError(RemotingError, ConnectionError):
    """The network or the peer failed during a remote call."""


class ConnectFailedError(CommunicationError):
    """No connection could be made: the request was never sent, so a retry is safe."""


class ConnectionLostError(CommunicationError):
    """The connection failed after the request may have reached the server."""


class CallTimeoutError(ConnectionLostError, TimeoutError):
    """No answer came within the call timeout; the request may have been executed."""


class AllEndpointsDownError(ConnectFailedError):
    """No endpoint of a high-availability pool could take the call (it was sent nowhere).

    ``endpoints`` holds one ``(name, last error)`` pair per endpoint; a pool inside
    another pool is then simply one more endpoint that is down."""

    def __init__(self, message: str, *, endpoints: Iterable[tuple[str, str | None]] = ()) -> None:
        super().__init__(message)
        self.endpoints = tuple(endpoints)


class ProtocolError(CommunicationError, ValueError):
    """A message breaks the wire protocol: malformed, truncated, too deep or too large."""


class HTTPRequestError(ProtocolError):
    """A peer's HTTP request breaks RFC 9112 or a server limit; ``status`` is the answer
    the server sends before it closes the connection (400, 413, 431, 501 or 505)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class RemoteFault(RemotingError):
    """The remote service raised an exception (or the peer answered with a fault).

    The same on every transport: ``remote_type`` is the dotted name of the remote
    exception's class (``"builtins.ZeroDivisionError"``,
    ``"java.lang.IllegalStateException"``) when the protocol names one, ``message`` its
    message, and ``remote_traceback`` the server's traceback where the protocol carries
    one (Pyro). ``code`` and ``detail`` keep what the protocol itself reported (an
    XML-RPC ``faultCode``, a Hessian fault code and detail, an HTTP status).

    When ``remote_type`` is a Python builtin exception the instance raised is also an
    instance of that builtin, so ``except ZeroDivisionError`` works on every transport
    (see :mod:`springpython.remoting.faults`)."""

    def __init__(
        self,
        message: str,
        *,
        remote_type: str | None = None,
        remote_traceback: str | None = None,
        code: str | int | None = None,
        detail: object = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.remote_type = remote_type
        self.remote_traceback = remote_traceback
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class NoSuchMethodError(RemoteFault, AttributeError):
    """The remote service has no public method of that name (or none taking those arguments)."""


class VerificationException(RemotingError):
    """A peer certificate failed the configured field checks (name kept from Spring Python)."""
