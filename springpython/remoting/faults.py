"""The exception contract of every transport, as one table.

A service that raises reaches the client as a :class:`~springpython.errors.RemoteFault`
whatever the transport. Each protocol reports a failed call its own way; the
functions here turn each report into one :class:`FaultInfo` (``from_xmlrpc``,
``from_hessian``, ``from_pyro``) and one ``FaultInfo`` into the exception the client
raises (:func:`to_exception`). The server side is the mirror image
(:func:`describe`, :func:`xmlrpc_fault`, :func:`hessian_fault`).

Rules of this file (the table, documented once in ``docs/remoting/errors.rst``):

* ``remote_type`` is the dotted name of the remote class (``builtins.ZeroDivisionError``,
  ``java.lang.IllegalStateException``), or ``None`` when the protocol names none.
* A builtin Python exception that derives from :class:`Exception` makes an instance
  that is both a ``RemoteFault`` and that builtin. ``SystemExit``,
  ``KeyboardInterrupt`` and ``GeneratorExit`` stay plain ``RemoteFault``: a remote
  Ctrl-C must never stop the client.
* An application class is re-created only when the proxy factory names it in
  ``exception_classes``; the instance is then both that class and a ``RemoteFault``.
  Nothing else named on the wire is ever imported or instantiated: the only classes
  looked up are builtins, by attribute of the ``builtins`` module.
* An unknown method is :class:`~springpython.errors.NoSuchMethodError` on every
  transport, as are Java's ``NoSuchMethodException`` and the standard library's
  ``method "x" is not supported``.
* Instances of the dual classes are made without calling the application class's
  ``__init__`` (its signature is unknown); ``args`` is ``(message,)``. Such a class is
  named after the one it mirrors (``RemoteZeroDivisionError``), so a traceback shows
  that the exception came from the other side."""

from __future__ import annotations

import builtins
import functools
import importlib
import logging
import re
import traceback as _traceback
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..errors import ConfigurationError, NoSuchMethodError, RemoteFault

__all__ = [
    "FaultInfo",
    "ExceptionClasses",
    "NO_SUCH_METHOD_TYPE",
    "XMLRPC_APPLICATION_ERROR",
    "XMLRPC_METHOD_NOT_FOUND",
    "type_name",
    "describe",
    "to_exception",
    "from_xmlrpc",
    "from_hessian",
    "from_pyro",
    "xmlrpc_fault",
    "hessian_fault",
    "no_such_method_message",
    "log_service_exception",
]

#: The ``remote_type`` a springpython server reports for an unknown method.
NO_SUCH_METHOD_TYPE = f"{NoSuchMethodError.__module__}.{NoSuchMethodError.__qualname__}"
#: XML-RPC fault codes: the standard library's "the call raised", and the
#: "specification for fault code interoperability" code for an unknown method.
XMLRPC_APPLICATION_ERROR = 1
XMLRPC_METHOD_NOT_FOUND = -32601

_JAVA_NO_SUCH_METHOD = frozenset({"NoSuchMethodException", "java.lang.NoSuchMethodException"})
_NO_SUCH_METHOD_TYPES = _JAVA_NO_SUCH_METHOD | {NO_SUCH_METHOD_TYPE}
# Builtins that must not surface as themselves on a client (see the rules above).
_NOT_MIRRORED = frozenset({"SystemExit", "KeyboardInterrupt", "GeneratorExit"})
_DOTTED = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
# "module.Name:message" (ours), "<class 'module.Name'>:message" (the standard library's)
_XMLRPC_TYPED = re.compile(rf"^(?:<class '({_DOTTED})'>|({_DOTTED}\.[A-Za-z_][A-Za-z0-9_]*)):(.*)\Z", re.S)
_STDLIB_NO_METHOD = re.compile(r'^method "(.*)" is not supported\Z', re.S)


@dataclass(frozen=True, slots=True)
class FaultInfo:
    """What a transport learnt about a failed remote call, before it becomes an exception."""

    remote_type: str | None
    message: str
    remote_traceback: str | None = None
    code: str | int | None = None
    detail: Any = None

    @property
    def no_such_method(self) -> bool:
        """Whether the peer said it has no such method."""
        return self.remote_type in _NO_SUCH_METHOD_TYPES


def type_name(cls: type) -> str:
    """The dotted name a class is reported under: ``module.QualName``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def describe(exc: BaseException, *, with_traceback: bool = False) -> FaultInfo:
    """The server-side description of ``exc`` (what any transport sends back)."""
    text = "".join(_traceback.format_exception(exc)) if with_traceback else None
    return FaultInfo(type_name(type(exc)), str(exc), text)


def log_service_exception(logger: logging.Logger, service: str, method: str, exc: BaseException) -> None:
    """How every server logs an exception its service raised: an application error
    at DEBUG (it is the caller's to handle), an exit or interrupt at ERROR (the
    service tried to stop the process; the worker goes on serving)."""
    if isinstance(exc, Exception):
        logger.debug("%s.%s raised %r", service, method, exc, exc_info=exc)
    else:
        logger.error("%s.%s raised %r; answered as a fault, still serving", service, method, exc, exc_info=exc)


class ExceptionClasses:
    """The application exception classes a proxy factory may re-create, by dotted name.

    Built from the ``exception_classes`` property (a list, or comma-separated text);
    each name is imported when the factory starts, so a wrong name fails the start."""

    __slots__ = ("_classes",)

    def __init__(self, names: Iterable[str] | str | None = None) -> None:
        classes: dict[str, type[BaseException]] = {}
        if isinstance(names, str):
            names = names.replace(",", " ").split()
        for name in names or ():
            if not isinstance(name, str) or not re.fullmatch(rf"{_DOTTED}\.[A-Za-z_][A-Za-z0-9_]*", name.strip()):
                raise ConfigurationError(
                    f"exception_classes: {name!r} is not a dotted class name such as 'myapp.errors.OutOfStock'"
                )
            classes[name.strip()] = _import_exception(name.strip())
        self._classes = classes

    def get(self, remote_type: str | None) -> type[BaseException] | None:
        """The listed class reported as ``remote_type``, if any."""
        return self._classes.get(remote_type) if remote_type else None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._classes)

    def __bool__(self) -> bool:
        return bool(self._classes)

    def __repr__(self) -> str:
        return f"ExceptionClasses({list(self._classes)})"


NO_EXCEPTION_CLASSES = ExceptionClasses()


def _import_exception(name: str) -> type[BaseException]:
    module_name, _, attr = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"exception_classes: cannot import module {module_name!r} for {name!r}: {exc}") from exc
    found: Any = module
    for part in attr.split("."):
        found = getattr(found, part, None)
    if not (isinstance(found, type) and issubclass(found, Exception)):
        raise ConfigurationError(f"exception_classes: {name!r} is not an exception class (got {found!r})")
    return found


def _builtin(remote_type: str | None) -> type[BaseException] | None:
    if not remote_type or not remote_type.startswith("builtins."):
        return None
    name = remote_type[len("builtins."):]
    if name in _NOT_MIRRORED:
        return None
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, Exception):
        return found
    return None


@functools.lru_cache(maxsize=None)
def _dual(cls: type[BaseException]) -> type[RemoteFault]:
    """A class that is both ``RemoteFault`` and ``cls`` (made once per class)."""
    if issubclass(cls, RemoteFault):
        return cls
    name = f"Remote{cls.__name__}"
    return type(name, (RemoteFault, cls), {"__module__": __name__, "__qualname__": name})


def _make(cls: type[RemoteFault], info: FaultInfo, message: str) -> RemoteFault:
    exc = cls.__new__(cls, message)
    exc.args = (message,)
    exc.message = message
    exc.remote_type = info.remote_type
    exc.remote_traceback = info.remote_traceback
    exc.code = info.code
    exc.detail = info.detail
    return exc


def no_such_method_message(method: str | None, where: str | None = None, reason: str | None = None) -> str:
    """The one wording of "no such method", whatever the transport."""
    text = f"the remote service has no public method {method!r}" if method else "the remote service has no such method"
    if where:
        text += f" at {where}"
    if reason and method and reason != method:
        text += f" ({reason})"
    return text


def to_exception(
    info: FaultInfo,
    *,
    method: str | None = None,
    where: str | None = None,
    exception_classes: ExceptionClasses = NO_EXCEPTION_CLASSES,
) -> RemoteFault:
    """The exception a proxy raises for ``info`` (see the rules of this file)."""
    if info.no_such_method:
        return _make(NoSuchMethodError, info, no_such_method_message(method, where, info.message))
    cls = exception_classes.get(info.remote_type) or _builtin(info.remote_type)
    if cls is None:
        return _make(RemoteFault, info, info.message)
    return _make(_dual(cls), info, info.message)  # type: ignore[arg-type]  # classes are hashable (python/mypy#11470)


# -- per protocol ----------------------------------------------------------------


def from_xmlrpc(code: Any, text: Any) -> FaultInfo:
    """A ``<fault>``'s ``faultCode`` and ``faultString`` (ours or any other server's)."""
    message = text if isinstance(text, str) else str(text)
    if code == XMLRPC_METHOD_NOT_FOUND:
        return FaultInfo(NO_SUCH_METHOD_TYPE, message, code=code)
    match = _XMLRPC_TYPED.match(message)
    if match is None:
        return FaultInfo(None, message, code=code)
    remote_type = match.group(1) or match.group(2)
    if "." not in remote_type:
        remote_type = f"builtins.{remote_type}"  # "<class 'ZeroDivisionError'>"
    message = match.group(3)
    if remote_type == "builtins.Exception" and _STDLIB_NO_METHOD.match(message):
        return FaultInfo(NO_SUCH_METHOD_TYPE, message, code=code)
    return FaultInfo(remote_type, message, code=code)


def xmlrpc_fault(info: FaultInfo) -> tuple[int, str]:
    """``(faultCode, faultString)`` for a failed call, as the standard library writes them."""
    if info.no_such_method:
        return XMLRPC_METHOD_NOT_FOUND, info.message
    return XMLRPC_APPLICATION_ERROR, f"{info.remote_type}:{info.message}"


def from_hessian(code: Any, message: Any, detail: Any) -> FaultInfo:
    """A Hessian fault: ours carries the dotted type name as ``detail``, Java's the
    exception object (a map whose type name is the Java class)."""
    text = message if isinstance(message, str) else ("" if message is None else str(message))
    if code in _JAVA_NO_SUCH_METHOD:
        return FaultInfo("java.lang.NoSuchMethodException", text, code=code, detail=detail)
    remote_type: str | None = None
    if isinstance(detail, str) and re.fullmatch(_DOTTED, detail) and "." in detail:
        remote_type = detail
    else:
        type_name_ = getattr(detail, "type_name", None)
        if isinstance(type_name_, str) and type_name_:
            remote_type = type_name_
    return FaultInfo(remote_type, text, code=code, detail=detail)


def hessian_fault(info: FaultInfo) -> tuple[str, str, str | None]:
    """``(code, message, detail)`` of the Hessian fault for a failed call."""
    if info.no_such_method:
        return "NoSuchMethodException", info.message, None
    return "ServiceException", info.message, info.remote_type


def from_pyro(data: Mapping[str, Any]) -> FaultInfo:
    """An exception as Pyro's serializers write it (``__class__``, ``args``, ``attributes``)."""
    remote_type = data.get("__class__")
    if isinstance(remote_type, bytes):
        remote_type = remote_type.decode("utf-8", "replace")
    args = data.get("args") or ()
    if isinstance(args, (list, tuple)) and len(args) == 1:
        message = str(args[0])
    elif isinstance(args, (list, tuple)) and not args:
        message = ""
    else:
        message = str(tuple(args) if isinstance(args, list) else args)
    attributes = data.get("attributes") or {}
    tb = attributes.get("_pyroTraceback") if isinstance(attributes, Mapping) else None
    if isinstance(tb, (list, tuple)):
        tb = "".join(str(line) for line in tb)
    return FaultInfo(remote_type if isinstance(remote_type, str) else None, message,
                     tb if isinstance(tb, str) else None)
