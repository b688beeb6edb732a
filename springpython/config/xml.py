"""``XMLConfig``: springpython's own XML format (the ``objects`` namespaces 1.1 and 1.0)
read into format-neutral :mod:`~springpython.config.definitions`.

Rules of this file:

* one parse and one validation (against the bundled XSD chosen by the root
  namespace) per file; then a single walk over the tree with dispatch tables keyed
  by tag — no XPath, no copies;
* the XSD checks structure; this module checks what needs Python: scope names,
  booleans, typed literals (``<int>`` …, converted here, at read time), and
  combinations an XSD cannot express (``index`` *and* ``name``, two values for one
  property);
* attributes that are not written stay ``None`` so a ``parent`` can supply them;
  references stay :class:`Ref` ids, resolved by the container;
* text is taken as written: ``<value> a </value>`` is ``" a "``. Only ``<prop>``
  text (like Spring's) and ``<description>`` are trimmed, and typed literals
  ignore surrounding whitespace when they are converted;
* an inner ``<object>`` gets the id ``<outer id>.<slot>.<n>`` — slot is the property
  name or constructor argument (``name``, ``arg<index>``), ``n`` counts the inner
  objects of that outer object (or is the id the inner object was given);
* a top-level typed literal (``<int id="port">7000</int>``, 1.1) is an object whose
  class is the Python type (``builtins.int``, ``decimal.Decimal``…) called with the
  converted value;
* one id twice in one file is an error; across files the container decides."""

from __future__ import annotations

import decimal
import functools
import logging
from typing import Any, Callable

from lxml import etree

from .._scope import Scope, convert as convert_scope
from ..errors import ConfigurationError, Source
from . import _xml_io
from .definitions import (
    Argument,
    Collection,
    Inner,
    Mapping,
    ObjectDefinition,
    PropertyDef,
    Ref,
    Value,
    ValueNode,
)

__all__ = ["XMLConfig", "NAMESPACE_1_0", "NAMESPACE_1_1", "SCHEMAS", "schema_for"]

log = logging.getLogger(__name__)

NAMESPACE_1_1 = "http://www.springframework.org/springpython/schema/objects/1.1"
NAMESPACE_1_0 = "http://www.springframework.org/springpython/schema/objects"

#: The bundled XSD (in ``springpython/config/schema``) for each namespace.
SCHEMAS = {
    NAMESPACE_1_1: "spring-python-context-1.1.xsd",
    NAMESPACE_1_0: "spring-python-context-1.0.xsd",
}

_NONE = Value(None)
_FLAGS = {"true": True, "false": False, "default": None}


def _to_bool(text: str) -> bool:
    flag = _FLAGS.get(text.strip().lower())
    if flag is None:
        raise ValueError(text)
    return flag


# Typed literals: converter, what a good literal looks like, and the class a
# top-level literal (<int id="port">7000</int>) is built with.
_LITERALS: dict[str, tuple[Callable[[str], Any], str, str]] = {
    "str": (str, "any text", "builtins.str"),
    "unicode": (str, "any text", "builtins.str"),
    "int": (int, "an integer such as 42", "builtins.int"),
    "long": (int, "an integer such as 42", "builtins.int"),
    "float": (float, "a number such as 2.5", "builtins.float"),
    "decimal": (decimal.Decimal, "a decimal number such as 2.50", "decimal.Decimal"),
    "bool": (_to_bool, "true or false (any case)", "builtins.bool"),
    "complex": (complex, "a complex number such as 1+2j", "builtins.complex"),
}
_TEXT_LITERALS = frozenset({"str", "unicode"})


class XMLConfig(_xml_io.XMLFileConfig):
    """Object definitions from one or more XML files in the springpython ``objects``
    namespace (1.1, or the older 1.0).

    ``config_location`` is a path (``str`` or :class:`pathlib.Path`) or a list of
    them; files are read in order each time :meth:`read_object_defs` is called."""

    _log = log

    def _read_document(self, document: _xml_io.Document) -> list[ObjectDefinition]:
        namespace = _namespace_of(document)
        _xml_io.validate(document, SCHEMAS[namespace])
        return _Walker(document.file, namespace).objects(document.root)


def schema_for(root: etree._Element) -> etree.XMLSchema:
    """The compiled bundled XSD for a document's root namespace (shared, immutable).

    Raises :class:`ConfigurationError` when the root is not a known ``<objects>``."""
    file = root.getroottree().docinfo.URL
    namespace = _namespace_of(_xml_io.Document(root, file or "<document>"))
    return _xml_io.schema(SCHEMAS[namespace])


def _namespace_of(document: _xml_io.Document) -> str:
    root = document.root
    qname = etree.QName(root)
    if qname.localname == "objects" and qname.namespace in SCHEMAS:
        return qname.namespace
    expected = " or ".join(f"<objects xmlns=\"{ns}\">" for ns in SCHEMAS)
    found = f"<{qname.localname}>" if qname.namespace is None else f"<{qname.localname} xmlns=\"{qname.namespace}\">"
    hint = ""
    if qname.namespace == "http://www.springframework.org/schema/beans":
        hint = " (a Spring Java <beans> file: read it with SpringJavaConfig)"
    raise ConfigurationError(
        f"unknown root element {found}: expected {expected}{hint}",
        source=Source(document.file, root.sourceline),
    )


class _Walker:
    """Converts one validated document; one instance per file.

    The hot path (objects, properties, constructor arguments, plain values) is
    written out flat; value elements go through the ``values`` dispatch table."""

    def __init__(self, file: str, namespace: str) -> None:
        self.file = file
        prefix = "{" + namespace + "}"
        self.t_object = prefix + "object"
        self.t_property = prefix + "property"
        self.t_arg = prefix + "constructor-arg"
        self.t_description = prefix + "description"
        self.t_key = prefix + "key"
        self.t_entry = prefix + "entry"
        self.t_prop = prefix + "prop"
        self.values, self.literal_kinds = _dispatch(prefix)
        self.inner_counts: dict[str, int] = {}

    # ----- errors -------------------------------------------------------------

    def error(self, message: str, element: etree._Element, object_id: str | None) -> ConfigurationError:
        return ConfigurationError(message, source=Source(self.file, element.sourceline), object_id=object_id)

    def unexpected(self, element: etree._Element, where: str, object_id: str | None) -> ConfigurationError:
        return self.error(f"unexpected <{etree.QName(element).localname}> in {where}", element, object_id)

    # ----- top level ----------------------------------------------------------

    def objects(self, root: etree._Element) -> list[ObjectDefinition]:
        found: list[ObjectDefinition] = []
        seen: dict[str, int | None] = {}
        t_object = self.t_object
        literal_kinds = self.literal_kinds
        for element in root:
            tag = element.tag
            if tag == t_object:
                definition = self._object(element, None)
            elif tag in literal_kinds:
                definition = self._named_literal(element, literal_kinds[tag])
            elif tag == self.t_description or _xml_io.is_markup(element):
                continue
            else:
                raise self.unexpected(element, "<objects>", None)
            object_id = definition.id
            if object_id in seen:
                raise self.error(
                    f"duplicate id {object_id!r}: already defined at line {seen[object_id]} of this file",
                    element,
                    object_id,
                )
            seen[object_id] = definition.source.line
            found.append(definition)
        return found

    def _object(self, element: etree._Element, object_id: str | None) -> ObjectDefinition:
        """An ``<object>``; ``object_id`` is given for inner objects (generated), else read."""
        class_name = parent = destroy_method = scope = lazy_init = None
        abstract = False
        for name, text in element.items():
            if name == "class":
                class_name = text
            elif name == "id":
                if object_id is None:
                    object_id = text
            elif name == "parent":
                parent = text
            elif name == "scope":
                scope = self._scope(text, element, object_id or element.get("id"))
            elif name == "lazy-init":
                lazy_init = self._flag(text, "lazy-init", element, object_id or element.get("id"))
            elif name == "abstract":
                abstract = bool(self._flag(text, "abstract", element, object_id or element.get("id")))
            elif name == "destroy-method":
                destroy_method = text
        if class_name is None and parent is None and not abstract:
            raise self.error("no class: give class=\"module.Class\" or parent=\"...\"", element, object_id)
        definition = ObjectDefinition(
            object_id,  # type: ignore[arg-type]  # the XSD requires id on top-level objects
            Source(self.file, element.sourceline),
            class_name,
            None,
            scope,
            lazy_init,
            abstract,
            parent,
            [],
            [],
            destroy_method,
            None,
        )
        if len(element):
            t_property = self.t_property
            t_arg = self.t_arg
            properties = definition.properties
            for child in element:
                tag = child.tag
                if tag == t_property:
                    properties.append(self._property(child, object_id))  # type: ignore[arg-type]
                elif tag == t_arg:
                    self._add_argument(child, definition)
                elif tag == self.t_description:
                    definition.description = self._text(child).strip()
                elif not _xml_io.is_markup(child):
                    raise self.unexpected(child, "<object>", object_id)
        return definition

    def _scope(self, text: str, element: etree._Element, object_id: str | None) -> Scope:
        try:
            return convert_scope(text)
        except ValueError:
            raise self.error(
                f"scope={text!r} is not valid: expected 'singleton' or 'prototype' (any case)", element, object_id
            ) from None

    def _flag(self, text: str, name: str, element: etree._Element, object_id: str | None) -> bool | None:
        key = text.strip().lower()
        if key not in _FLAGS:
            raise self.error(f"{name}={text!r} is not valid: expected true or false (any case)", element, object_id)
        return _FLAGS[key]

    def _named_literal(self, element: etree._Element, kind: str) -> ObjectDefinition:
        object_id = element.get("id")
        source = Source(self.file, element.sourceline)
        text = element.get("scope")
        scope = None if text is None else self._scope(text, element, object_id)
        lazy = element.get("lazy-init")
        value = self._convert_literal(element, kind, object_id)
        return ObjectDefinition(
            object_id,  # type: ignore[arg-type]  # required by the XSD
            source,
            class_name=_LITERALS[kind][2],
            scope=scope,
            lazy_init=None if lazy is None else self._flag(lazy, "lazy-init", element, object_id),
            constructor_args=[Argument(value, source=source)],
        )

    # ----- object children ----------------------------------------------------

    def _property(self, element: etree._Element, owner: str) -> PropertyDef:
        name: str = element.get("name")  # type: ignore[assignment]  # required by the XSD
        source = Source(self.file, element.sourceline)
        if not len(element):  # value= or ref=: the common case, no child to look at
            value = element.get("value")
            ref = element.get("ref")
            if ref is None:
                if value is not None:
                    return PropertyDef(name, Value(value), source)
            elif value is None:
                return PropertyDef(name, Ref(ref, source), source)
        return PropertyDef(name, self._slot(element, owner, name, "property", name), source)

    def _add_argument(self, element: etree._Element, definition: ObjectDefinition) -> None:
        index_text = element.get("index")
        name = element.get("name")
        owner = definition.id
        if name is not None:
            if index_text is not None:
                raise self.error(
                    f"constructor-arg has both index={index_text!r} and name={name!r}: give one of them",
                    element,
                    owner,
                )
            index = None
            slot = name
        elif index_text is not None:
            index = int(index_text)  # the XSD allows only non-negative integers
            slot = f"arg{index}"
        else:
            index = None
            slot = ""  # named below, only when needed: "arg<position>"
        source = Source(self.file, element.sourceline)
        node: ValueNode | None = None
        if not len(element):
            value = element.get("value")
            ref = element.get("ref")
            if ref is None:
                if value is not None:
                    node = Value(value)
            elif value is None:
                node = Ref(ref, source)
        if node is None:
            if not slot:
                slot = f"arg{len(definition.constructor_args)}"
            node = self._slot(element, owner, slot, "constructor-arg", name if name is not None else slot)
        definition.constructor_args.append(Argument(node, index, name, source))

    def _slot(self, element: etree._Element, owner: str, slot: str, kind: str, label: str) -> ValueNode:
        """The one value of a property or constructor-arg: value=, ref= or a child element."""
        if len(element) == 1:  # the common case: one value element, nothing else
            handler = self.values.get(element[0].tag)
            if handler is not None and element.get("value") is None and element.get("ref") is None:
                return handler(self, element[0], owner, slot)
        node: ValueNode | None = None
        values = self.values
        for child in element:
            handler = values.get(child.tag)
            if handler is None:
                if child.tag == self.t_description or _xml_io.is_markup(child):
                    continue
                raise self.unexpected(child, f"{kind} {label!r}", owner)
            if node is not None:
                raise self.error(f"{kind} {label!r} has more than one value element", child, owner)
            node = handler(self, child, owner, slot)
        if node is not None:
            keys = element.keys()
            if "value" not in keys and "ref" not in keys:
                return node
        return _xml_io.single_value(self.file, element, node, f"{kind} {label!r}", owner)

    # ----- value elements -----------------------------------------------------

    def _text(self, element: etree._Element) -> str:
        """All text of an element without children (comments inside are skipped)."""
        if len(element) == 0:
            return element.text or ""
        return (element.text or "") + "".join(child.tail or "" for child in element)

    def _value(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        if len(element) == 0:
            return Value(element.text or "")
        return self._text_or_element(element, owner, slot, "<value>")

    def _text_or_element(self, element: etree._Element, owner: str, slot: str, what: str) -> ValueNode:
        """The text of ``element``, or the one value element it holds (not both)."""
        node: ValueNode | None = None
        for child in element:
            handler = self.values.get(child.tag)
            if handler is None:
                if _xml_io.is_markup(child):
                    continue
                raise self.unexpected(child, what, owner)
            if node is not None:
                raise self.error(f"{what} holds more than one element", child, owner)
            node = handler(self, child, owner, slot)
        if node is None:
            return Value(self._text(element))
        if self._text(element).strip():
            raise self.error(f"{what} holds both text and an element: give one of them", element, owner)
        return node

    def _ref(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        target: str = element.get("object")  # type: ignore[assignment]  # required by the XSD
        return Ref(target, Source(self.file, element.sourceline))

    def _null(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return _NONE

    def _literal(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return self._convert_literal(element, self.literal_kinds[element.tag], owner)

    def _convert_literal(self, element: etree._Element, kind: str, owner: str | None) -> Value:
        text = (element.text or "") if not len(element) else self._text(element)
        if kind in _TEXT_LITERALS:
            return Value(text)
        convert = _LITERALS[kind][0]
        try:
            return Value(convert(text.strip()))
        except (ValueError, ArithmeticError):
            expected = _LITERALS[kind][1]
            raise self.error(f"<{kind}> {text!r} is not valid: expected {expected}", element, owner) from None

    def _items(self, element: etree._Element, owner: str, slot: str) -> tuple[ValueNode, ...]:
        values = self.values
        items = []
        for child in element:
            handler = values.get(child.tag)
            if handler is None:
                if _xml_io.is_markup(child):
                    continue
                raise self.unexpected(child, f"<{etree.QName(element).localname}>", owner)
            items.append(handler(self, child, owner, slot))
        return tuple(items)

    def _list(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return Collection(list, self._items(element, owner, slot))

    def _tuple(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return Collection(tuple, self._items(element, owner, slot))

    def _set(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return Collection(set, self._items(element, owner, slot))

    def _frozenset(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return Collection(frozenset, self._items(element, owner, slot))

    def _dict(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        entries = []
        for entry in element:
            if entry.tag == self.t_entry:
                entries.append(self._entry(entry, owner, slot))
            elif not _xml_io.is_markup(entry):
                raise self.unexpected(entry, "<dict>", owner)
        return Mapping(tuple(entries))

    def _entry(self, entry: etree._Element, owner: str, slot: str) -> tuple[ValueNode, ValueNode]:
        key: ValueNode | None = None
        node: ValueNode | None = None
        values = self.values
        for child in entry:
            tag = child.tag
            if tag == self.t_key:
                key = self._key(child, owner, slot)
                continue
            handler = values.get(tag)
            if handler is None:
                if _xml_io.is_markup(child):
                    continue
                raise self.unexpected(child, "<entry>", owner)
            node = handler(self, child, owner, slot)
        key_attr = entry.get("key")
        if (key is None) == (key_attr is None):
            problem = "no key" if key is None else "two keys"
            raise self.error(f"dict entry has {problem}: give key=\"...\" or one <key> element", entry, owner)
        value_attr = entry.get("value")
        ref_attr = entry.get("ref")
        given = (value_attr is not None) + (ref_attr is not None) + (node is not None)
        if given != 1:
            problem = "no value" if given == 0 else "more than one value"
            raise self.error(
                f"dict entry has {problem}: give exactly one of value=\"...\", ref=\"...\" or a value element",
                entry,
                owner,
            )
        if node is None:
            if value_attr is not None:
                node = Value(value_attr)
            else:  # exactly one was given: ref=
                node = Ref(ref_attr, Source(self.file, entry.sourceline))  # type: ignore[arg-type]
        return (key if key is not None else Value(key_attr), node)

    def _key(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return self._text_or_element(element, owner, slot, "<key>")

    def _props(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        entries = []
        for prop in element:
            if prop.tag == self.t_prop:
                entries.append((Value(prop.get("key")), Value(self._text(prop).strip())))
            elif not _xml_io.is_markup(prop):
                raise self.unexpected(prop, "<props>", owner)
        return Mapping(tuple(entries))

    def _inner(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        count = self.inner_counts.get(owner, 0) + 1
        self.inner_counts[owner] = count
        given = element.get("id")
        object_id = f"{owner}.{slot}.{given if given else count}"
        return Inner(self._object(element, object_id))


Handler = Callable[[_Walker, etree._Element, str, str], ValueNode]


# Keyed by tag names, looked up with any node's tag (a comment's tag is a function).
@functools.lru_cache(maxsize=None)
def _dispatch(prefix: str) -> tuple[dict[object, Handler], dict[object, str]]:
    """For one namespace prefix: value element tag -> handler (a plain function of
    the walker), and typed literal tag -> kind. Built once per namespace, never changed."""
    values: dict[object, Handler] = {
        prefix + "object": _Walker._inner,
        prefix + "ref": _Walker._ref,
        prefix + "value": _Walker._value,
        prefix + "null": _Walker._null,
        prefix + "list": _Walker._list,
        prefix + "tuple": _Walker._tuple,
        prefix + "set": _Walker._set,
        prefix + "frozenset": _Walker._frozenset,
        prefix + "dict": _Walker._dict,
        prefix + "props": _Walker._props,
    }
    kinds: dict[object, str] = {prefix + kind: kind for kind in _LITERALS}
    values.update(dict.fromkeys(kinds, _Walker._literal))
    return values, kinds
