"""XML-RPC parsing that refuses document type declarations.

The standard library's marshalling (:class:`xmlrpc.client.Unmarshaller`) is kept;
only the expat parser in front of it is ours. Expat never fetches external entities
unless asked, and recent versions bound entity expansion, but an XML-RPC message
never needs a DTD at all, so any ``<!DOCTYPE`` or entity declaration stops the
parse: no entity can be defined, hence none can be expanded."""

from __future__ import annotations

from typing import Any
from xml.parsers import expat
from xmlrpc.client import Unmarshaller

__all__ = ["UnsafeXMLError", "SafeParser", "getparser", "loads_call"]


class UnsafeXMLError(ValueError):
    """An XML-RPC message carried a DTD or an entity declaration."""


class SafeParser:
    """Feeds an :class:`~xmlrpc.client.Unmarshaller` like ``xmlrpc.client.ExpatParser``
    does, but rejects DTDs and entity declarations."""

    def __init__(self, target: Unmarshaller) -> None:
        parser = expat.ParserCreate(None, None)
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
        self._parser.Parse(data, False)

    def close(self) -> None:
        try:
            self._parser.Parse(b"", True)
        finally:
            del self._parser


def getparser(use_datetime: bool = False, use_builtin_types: bool = False) -> tuple[SafeParser, Unmarshaller]:
    """A ``(parser, unmarshaller)`` pair, the same contract as ``xmlrpc.client.getparser``."""
    target = Unmarshaller(use_datetime=use_datetime, use_builtin_types=use_builtin_types)
    return SafeParser(target), target


def loads_call(data: bytes, use_builtin_types: bool = False) -> tuple[tuple[Any, ...], str | None]:
    """``(params, method name)`` of a ``<methodCall>``; raises on malformed or unsafe XML."""
    parser, target = getparser(use_builtin_types=use_builtin_types)
    parser.feed(data)
    parser.close()
    return target.close(), target.getmethodname()
