"""Loading XML configuration files safely, shared by :class:`XMLConfig` and
:class:`SpringJavaConfig`.

Rules of this file:

* every document is parsed with entity substitution, DTD loading and network access
  off, and with libxml2's size limits on (``huge_tree=False``);
* a document that declares or uses entities is refused with a :class:`ConfigurationError`
  — never expanded, never silently dropped;
* the bundled XSDs are compiled once and shared (an ``XMLSchema`` is immutable);
  ``xsi:schemaLocation`` in a document is never looked at;
* every failure becomes a :class:`ConfigurationError` naming the file and the line,
  and the id of the enclosing object when there is one."""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence, Union

from lxml import etree

from ..errors import ConfigurationError, Source
from .definitions import Config, ObjectDefinition, Ref, Value, ValueNode

__all__ = [
    "XMLFileConfig",
    "ConfigLocation",
    "Document",
    "locations",
    "load",
    "schema",
    "validate",
    "enclosing_id",
    "is_markup",
    "single_value",
]

ConfigLocation = Union[str, "os.PathLike[str]"]

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"

_NAMESPACE_IN_TEXT = re.compile(r"\{[^}]*\}")
_POSITION_SUFFIX = re.compile(r", line \d+, column \d+$")
_ENTITY_NAME = re.compile(rb"<!ENTITY\s+(?:%\s+)?([^\s\"'>]+)")
_SCHEMAS: dict[str, etree.XMLSchema] = {}
_SCHEMA_LOCKS: dict[str, threading.Lock] = {}
_COMPILE_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed configuration file: its root element and the name used in messages."""

    root: etree._Element
    file: str


class XMLFileConfig(Config):
    """The base of the readers of XML files: where the files are, and the loop that
    loads each one safely and hands it to :meth:`_read_document`.

    ``config_location`` is a path (``str`` or :class:`pathlib.Path`) or a list of
    them; files are read in order each time :meth:`read_object_defs` is called."""

    _log: logging.Logger

    def __init__(self, config_location: ConfigLocation | Iterable[ConfigLocation]) -> None:
        self.config_location = locations(config_location)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({[str(loc) for loc in self.config_location]!r})"

    def read_object_defs(self) -> list[ObjectDefinition]:
        """Parse and convert every file; definitions come out in document order."""
        definitions: list[ObjectDefinition] = []
        for location in self.config_location:
            self._log.debug("* Parsing %s", location)
            found = self._read_document(load(location))
            self._log.debug("* Read %d object definitions from %s", len(found), location)
            definitions.extend(found)
        return definitions

    def _read_document(self, document: "Document") -> list[ObjectDefinition]:
        raise NotImplementedError


def locations(config_location: ConfigLocation | Iterable[ConfigLocation]) -> list[ConfigLocation]:
    """Normalize the reader argument: one path (str or ``PathLike``) or a list of them."""
    if isinstance(config_location, (str, os.PathLike)):
        return [config_location]
    if isinstance(config_location, bytes):
        raise TypeError("config_location must be a str or os.PathLike path (or a list of them), not bytes")
    items = list(config_location)
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"config_location items must be str or os.PathLike paths, not {type(item).__name__}")
    return items


def _parser(recover: bool = False) -> etree.XMLParser:
    # A parser per document: lxml parsers must not be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_blank_text=False,
        recover=recover,
    )


def load(location: ConfigLocation) -> Document:
    """Read and parse one file; refuse entities; turn every failure into a ConfigurationError."""
    file = os.fspath(location)
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise ConfigurationError(f"cannot read configuration file: {reason}", source=Source(file)) from exc
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        doctype = data.find(b"<!DOCTYPE")
        if doctype >= 0 and data.find(b"<!ENTITY", doctype) >= 0:
            # libxml2 may stop on the entities first (its amplification limit): say why.
            names = [m.group(1).decode("utf-8", "replace") for m in _ENTITY_NAME.finditer(data)]
            raise _entity_refusal(names, data, file) from exc
        raise _syntax_error(exc, data, file) from exc
    if root.getroottree().docinfo.doctype:
        _refuse_entities(root, data, file)
    return Document(root, file)


def _syntax_error(exc: etree.XMLSyntaxError, data: bytes, file: str) -> ConfigurationError:
    # exc.error_log may still hold entries of earlier parses: trust the exception itself.
    line = exc.lineno
    message = _POSITION_SUFFIX.sub("", exc.msg or str(exc))
    object_id = None
    try:
        # Best effort: the recovered tree shows which object the error is inside.
        partial = etree.fromstring(data, _parser(recover=True))
    except etree.XMLSyntaxError:
        partial = None
    if partial is not None and line:
        last = None
        for element in partial.iter(etree.Element):
            if element.sourceline is not None and element.sourceline <= line:
                last = element
        if last is not None:
            object_id = enclosing_id(last)
    return ConfigurationError(f"malformed XML: {message}", source=Source(file, line or None), object_id=object_id)


def _line_of(data: bytes, needle: bytes) -> int | None:
    at = data.find(needle)
    return data.count(b"\n", 0, at) + 1 if at >= 0 else None


def _entity_refusal(names: Sequence[str | None], data: bytes, file: str) -> ConfigurationError:
    return ConfigurationError(
        f"the document type declaration defines entities {names}: entity declarations are refused "
        "(they can read local files or expand without bound); remove them from the <!DOCTYPE ...>",
        source=Source(file, _line_of(data, b"<!ENTITY") or _line_of(data, b"<!DOCTYPE")),
    )


def _refuse_entities(root: etree._Element, data: bytes, file: str) -> None:
    dtd = root.getroottree().docinfo.internalDTD
    declared = [entity.name for entity in dtd.entities()] if dtd is not None else []
    if declared:
        raise _entity_refusal(declared, data, file)
    for entity in root.iter(etree.Entity):
        raise ConfigurationError(
            f"entity reference {entity.text} refused: entities are not expanded; write the text itself",
            source=Source(file, entity.sourceline),
            object_id=enclosing_id(entity.getparent()),
        )


def schema(name: str) -> etree.XMLSchema:
    """The compiled bundled XSD ``schema/<name>``, compiled once per process."""
    compiled = _SCHEMAS.get(name)
    if compiled is None:
        with _COMPILE_LOCK:
            compiled = _SCHEMAS.get(name)
            if compiled is None:
                path = SCHEMA_DIR / name
                compiled = etree.XMLSchema(etree.parse(str(path), _parser()))
                _SCHEMA_LOCKS[name] = threading.Lock()
                _SCHEMAS[name] = compiled
    return compiled


def validate(document: Document, name: str, object_tags: frozenset[str] = frozenset()) -> None:
    """Validate against the bundled XSD ``name``; raise the first violation as a ConfigurationError."""
    compiled = schema(name)
    # One validation at a time per schema: the error log lives on the schema object.
    with _SCHEMA_LOCKS[name]:
        if compiled.validate(document.root):
            return
        errors = list(compiled.error_log)
    first = errors[0]
    element = _element_at(document.root, first.path, first.line)
    message = _NAMESPACE_IN_TEXT.sub("", first.message)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more schema violation{'s' if len(errors) > 2 else ''})"
    raise ConfigurationError(
        f"schema violation: {message}",
        source=Source(document.file, first.line or None),
        object_id=enclosing_id(element) if element is not None else None,
    )


def _element_at(root: etree._Element, path: str | None, line: int | None) -> etree._Element | None:
    if path:
        try:
            found = root.getroottree().xpath(path)
        except etree.XPathError:
            found = None
        if found and isinstance(found[0], etree._Element):
            return found[0]
    if line:
        for element in root.iter(etree.Element):
            if element.sourceline == line:
                return element
    return None


# Elements whose id names what a message is about: objects, beans, and top-level
# typed literals (<int id="port">...); nested literals carry no id and are skipped.
_ID_HOLDERS = frozenset({"object", "bean", "str", "unicode", "int", "long", "float", "decimal", "bool", "complex"})


def enclosing_id(element: etree._Element | None) -> str | None:
    """The id of the nearest ``<object>``/``<bean>`` with an id at or above ``element``."""
    while element is not None:
        tag = element.tag
        if isinstance(tag, str) and etree.QName(tag).localname in _ID_HOLDERS:
            found = element.get("id") or element.get("name")
            if found:
                return found
        element = element.getparent()
    return None


def is_markup(node: etree._Element) -> bool:
    """True for comments and processing instructions, which readers skip."""
    return isinstance(node, (etree._Comment, etree._ProcessingInstruction))


def single_value(file: str, element: etree._Element, node: ValueNode | None, what: str, owner: str | None) -> ValueNode:
    """The one value of a property or constructor argument: its ``value=``, its
    ``ref=`` or ``node`` (the value element it holds) — exactly one of them."""
    value = element.get("value")
    ref = element.get("ref")
    given = (value is not None) + (ref is not None) + (node is not None)
    if given != 1:
        problem = "no value" if given == 0 else "more than one value"
        raise ConfigurationError(
            f"{what} has {problem}: give exactly one of value=\"...\", ref=\"...\" or a value element",
            source=Source(file, element.sourceline),
            object_id=owner,
        )
    if node is not None:
        return node
    if value is not None:
        return Value(value)
    return Ref(ref, Source(file, element.sourceline))  # type: ignore[arg-type]  # exactly one given: ref=
