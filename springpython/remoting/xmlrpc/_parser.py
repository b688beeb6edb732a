"""XML-RPC parsing that refuses document type declarations and keeps to a budget.

The standard library's marshalling (:class:`xmlrpc.client.Unmarshaller`) is kept;
only the expat parser in front of it is ours. Expat never fetches external entities
unless asked, and recent versions bound entity expansion, but an XML-RPC message
never needs a DTD at all, so any ``<!DOCTYPE`` or entity declaration stops the
parse: no entity can be defined, hence none can be expanded.

Decoding has a budget (:class:`DecodeLimits`, the XML twin of the Hessian codec's):
arrays and structs nest at most ``max_depth`` deep, and a message may have
``base_elements`` elements plus one per ``bytes_per_element`` bytes fed so far. An
element costs the unmarshaller a few hundred bytes at most, so a message of N
bytes costs memory and time linear in N however it is crafted; one over budget
raises :class:`DecodeBudgetError` as soon as it goes over.

:func:`loads_call` raises :class:`UnsafeXMLError` (a DTD, an entity, over budget)
or :class:`MalformedCallError` (anything else wrong with the bytes), never another
exception."""

from __future__ import annotations

import decimal
import xmlrpc.client
from typing import Any, NamedTuple
from xml.parsers import expat
from xmlrpc.client import Unmarshaller

__all__ = ["UnsafeXMLError", "DecodeBudgetError", "MalformedCallError", "DecodeLimits", "DEFAULT_LIMITS",
           "MALFORMED_ERRORS", "BudgetUnmarshaller", "SafeParser", "getparser", "loads_call"]


class UnsafeXMLError(ValueError):
    """An XML-RPC message carried a DTD or an entity declaration, or went over its budget."""


class DecodeBudgetError(UnsafeXMLError):
    """An XML-RPC message nested too deep or had too many elements for its size."""


class MalformedCallError(ValueError):
    """The bytes are not a well-formed XML-RPC message."""


class DecodeLimits(NamedTuple):
    """The decode budget of one message (see the module's docstring)."""

    #: Arrays and structs nested deeper than this are refused.
    max_depth: int = 200
    #: Elements any message may have ...
    base_elements: int = 65536
    #: ... plus one per this many bytes of it (at least 1).
    bytes_per_element: int = 8


#: The budget every parser uses unless given another.
DEFAULT_LIMITS = DecodeLimits()

#: What the stdlib's unmarshaller and expat raise for bytes that are not XML-RPC
#: (decimal's InvalidOperation for a bad ``<bigdecimal>``, LookupError for an unknown
#: encoding; never RecursionError: the unmarshaller keeps its own stack).
MALFORMED_ERRORS = (expat.ExpatError, xmlrpc.client.ResponseError, ValueError, TypeError, KeyError, IndexError,
              LookupError, decimal.DecimalException, OverflowError)


class BudgetUnmarshaller(Unmarshaller):
    """The standard library's unmarshaller, checking the budget as each element
    starts (its own stack of open arrays and structs gives the depth, so the check
    costs no extra call per element)."""

    def __init__(self, use_datetime: bool = False, use_builtin_types: bool = False,
                 limits: DecodeLimits = DEFAULT_LIMITS) -> None:
        super().__init__(use_datetime=use_datetime, use_builtin_types=use_builtin_types)
        self._limits = limits
        self._elements = 0
        self._fed = 0
        self._allowed = limits.base_elements

    def fed(self, size: int) -> None:
        """``size`` more bytes of the message are about to be parsed."""
        self._fed += size
        self._allowed = self._limits.base_elements + self._fed // max(1, self._limits.bytes_per_element)

    def start(self, tag: str, attrs: Any) -> None:
        # The body of Unmarshaller.start (Python 3.8 to 3.13), with the budget checks.
        self._elements += 1
        if self._elements > self._allowed:
            raise DecodeBudgetError(
                f"XML-RPC message has more than {self._allowed} elements in its first {self._fed} bytes"
            )
        if ":" in tag:
            tag = tag.split(":")[-1]
        if tag == "array" or tag == "struct":
            if len(self._marks) >= self._limits.max_depth:
                raise DecodeBudgetError(f"XML-RPC arrays and structs nested deeper than {self._limits.max_depth}")
            self._marks.append(len(self._stack))
        self._data = []
        if self._value and tag not in self.dispatch:
            raise xmlrpc.client.ResponseError(f"unknown tag {tag!r}")
        self._value = tag == "value"


class SafeParser:
    """Feeds a :class:`BudgetUnmarshaller` like ``xmlrpc.client.ExpatParser`` feeds
    an unmarshaller, but rejects DTDs and entity declarations."""

    def __init__(self, target: BudgetUnmarshaller) -> None:
        parser = expat.ParserCreate(None, None)
        self._target = target
        parser.StartElementHandler = target.start
        parser.EndElementHandler = target.end
        parser.CharacterDataHandler = target.data
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        parser.EntityDeclHandler = self._refuse_entity
        parser.buffer_text = True
        # As xmlrpc.client.ExpatParser does: a false encoding, or end_string would try
        # to decode the str expat already decoded (typeshed asks for a str here).
        target.xml(None, None)  # type: ignore[arg-type]
        self._parser = parser

    @staticmethod
    def _refuse_doctype(name: str, *args: Any) -> None:
        raise UnsafeXMLError(f"XML-RPC messages must not contain a DOCTYPE (found <!DOCTYPE {name}>)")

    @staticmethod
    def _refuse_entity(name: str, *args: Any) -> None:
        raise UnsafeXMLError(f"XML-RPC messages must not declare entities (found {name!r})")

    def feed(self, data: bytes | str) -> None:
        self._target.fed(len(data))
        self._parser.Parse(data, False)

    def close(self) -> None:
        try:
            self._parser.Parse(b"", True)
        finally:
            del self._parser


def getparser(use_datetime: bool = False, use_builtin_types: bool = False,
              limits: DecodeLimits = DEFAULT_LIMITS) -> tuple[SafeParser, BudgetUnmarshaller]:
    """A ``(parser, unmarshaller)`` pair, the same contract as ``xmlrpc.client.getparser``."""
    target = BudgetUnmarshaller(use_datetime, use_builtin_types, limits)
    return SafeParser(target), target


def loads_call(data: bytes, use_builtin_types: bool = False,
               limits: DecodeLimits = DEFAULT_LIMITS) -> tuple[tuple[Any, ...], str | None]:
    """``(params, method name)`` of a ``<methodCall>``; raises :class:`UnsafeXMLError`
    or :class:`MalformedCallError`, nothing else."""
    parser, target = getparser(use_builtin_types=use_builtin_types, limits=limits)
    try:
        parser.feed(data)
        parser.close()
        return target.close(), target.getmethodname()
    except UnsafeXMLError:
        raise
    except MALFORMED_ERRORS as exc:
        raise MalformedCallError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
