"""``SpringJavaConfig``: Spring Java ``<beans>`` files read into the same
format-neutral :mod:`~springpython.config.definitions` as ``XMLConfig``.

Rules of this file:

* the namespace is ``http://www.springframework.org/schema/beans`` (or none, as in
  DTD-era files); no XSD is applied, so this module checks the structure itself and
  refuses, with file, line and bean id, every element or attribute it does not
  support (``init-method``, ``factory-method``, ``import``…) rather than ignoring it;
* parsing is as safe as ``XMLConfig``'s: no entities, no DTD loading, no network —
  a ``<!DOCTYPE beans PUBLIC ...>`` line is accepted, its DTD is never fetched;
* Java class names (``com.example.Foo``) are kept as written: the container reports
  them as unknown modules;
* ``<value>`` text is kept as written, ``<prop>`` text is trimmed (as in Spring);
  ``<value type="int">`` and the other Java primitive and wrapper types are
  converted at read time."""

from __future__ import annotations

import decimal
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

__all__ = ["SpringJavaConfig", "BEANS_NAMESPACE"]

log = logging.getLogger(__name__)

BEANS_NAMESPACE = "http://www.springframework.org/schema/beans"

_NONE = Value(None)
_FLAGS = {"true": True, "false": False, "default": None}


def _java_bool(text: str) -> bool:
    flag = _FLAGS.get(text.strip().lower())
    if flag is None:
        raise ValueError(text)
    return flag


_INT = (int, "an integer such as 42")
_FLOAT = (float, "a number such as 2.5")
# <value type="..."> conversions: Java primitive and wrapper names -> Python.
_VALUE_TYPES: dict[str, tuple[Callable[[str], Any], str]] = {
    "int": _INT,
    "java.lang.Integer": _INT,
    "long": _INT,
    "java.lang.Long": _INT,
    "short": _INT,
    "java.lang.Short": _INT,
    "byte": _INT,
    "java.lang.Byte": _INT,
    "java.math.BigInteger": _INT,
    "float": _FLOAT,
    "java.lang.Float": _FLOAT,
    "double": _FLOAT,
    "java.lang.Double": _FLOAT,
    "boolean": (_java_bool, "true or false"),
    "java.lang.Boolean": (_java_bool, "true or false"),
    "java.math.BigDecimal": (decimal.Decimal, "a decimal number such as 2.50"),
}

_BEAN_ATTRIBUTES = frozenset(
    {"id", "name", "class", "scope", "singleton", "lazy-init", "abstract", "parent", "destroy-method"}
)
# Hints for Spring's autowiring, which springpython does not do: harmless to skip.
_IGNORED_BEAN_ATTRIBUTES = frozenset({"autowire-candidate", "primary"})
_UNSUPPORTED_HINTS = {
    "init-method": "implement InitializingObject.after_properties_set() instead",
    "factory-method": "factory methods are not supported",
    "factory-bean": "factory beans are not supported",
    "depends-on": "order is given by references; depends-on is not supported",
}
_NAME_SEPARATORS = str.maketrans({",": " ", ";": " "})


class SpringJavaConfig(_xml_io.XMLFileConfig):
    """Object definitions from Spring Java ``<beans>`` XML files.

    ``config_location`` is a path (``str`` or :class:`pathlib.Path`) or a list of
    them; files are read in order each time :meth:`read_object_defs` is called."""

    _log = log

    def _read_document(self, document: _xml_io.Document) -> list[ObjectDefinition]:
        return _BeansWalker(document).beans()


class _BeansWalker:
    """Converts one ``<beans>`` document; one instance per file."""

    def __init__(self, document: _xml_io.Document) -> None:
        self.file = document.file
        self.root = document.root
        qname = etree.QName(self.root)
        if qname.localname != "beans" or qname.namespace not in (BEANS_NAMESPACE, None):
            found = f"<{qname.localname}>" if qname.namespace is None else f"<{qname.localname} xmlns=\"{qname.namespace}\">"
            raise ConfigurationError(
                f"unknown root element {found}: expected <beans xmlns=\"{BEANS_NAMESPACE}\">",
                source=Source(self.file, self.root.sourceline),
            )
        self.prefix = "" if qname.namespace is None else "{" + qname.namespace + "}"
        p = self.prefix
        # keyed by tag names, looked up with any node's tag (a comment's tag is a function)
        self.values: dict[object, Callable[[etree._Element, str, str], ValueNode]] = {
            p + "bean": self._inner,
            p + "ref": self._ref,
            p + "idref": self._idref,
            p + "value": self._value,
            p + "null": self._null,
            p + "list": self._list,
            p + "array": self._list,
            p + "set": self._set,
            p + "map": self._map,
            p + "props": self._props,
        }
        self.inner_counts: dict[str, int] = {}
        self.anonymous_counts: dict[str, int] = {}
        self.default_lazy_init: bool | None = None
        self.default_destroy_method: str | None = None

    # ----- errors -------------------------------------------------------------

    def error(self, message: str, element: etree._Element, bean_id: str | None) -> ConfigurationError:
        return ConfigurationError(message, source=Source(self.file, element.sourceline), object_id=bean_id)

    def _name(self, element: etree._Element) -> str:
        qname = etree.QName(element)
        if qname.namespace is None or "{" + qname.namespace + "}" == self.prefix:
            return qname.localname
        return f"{{{qname.namespace}}}{qname.localname}"

    def unexpected(self, element: etree._Element, where: str, bean_id: str | None) -> ConfigurationError:
        return self.error(f"unsupported element <{self._name(element)}> in {where}", element, bean_id)

    def _is(self, element: etree._Element, local: str) -> bool:
        return element.tag == self.prefix + local

    # ----- top level ----------------------------------------------------------

    def beans(self) -> list[ObjectDefinition]:
        root = self.root
        for name, text in root.items():
            if name == "default-lazy-init":
                self.default_lazy_init = self._flag(text, name, root, None)
            elif name == "default-destroy-method":
                self.default_destroy_method = text or None
            elif name == "default-autowire" and text in ("no", "default"):
                continue
            elif not name.startswith("{"):  # xsi:schemaLocation and friends are namespaced
                raise self.error(f"unsupported attribute {name}={text!r} on <beans>", root, None)
        found: list[ObjectDefinition] = []
        seen: dict[str, int | None] = {}
        for element in root:
            if _xml_io.is_markup(element) or self._is(element, "description"):
                continue
            if self._is(element, "bean"):
                definition = self._bean(element, None)
            elif self._is(element, "import"):
                raise self.error(
                    f"<import resource={element.get('resource')!r}> is not supported: "
                    "list every file in SpringJavaConfig([...]) instead",
                    element,
                    None,
                )
            else:
                raise self.unexpected(element, "<beans>", None)
            if definition.id in seen:
                raise self.error(
                    f"duplicate bean id {definition.id!r}: already defined at line {seen[definition.id]} of this file",
                    element,
                    definition.id,
                )
            seen[definition.id] = definition.source.line
            found.append(definition)
        return found

    def _bean_id(self, element: etree._Element, attrs: dict[str, str]) -> str:
        bean_id = attrs.get("id")
        if bean_id:
            return bean_id
        names = (attrs.get("name") or "").translate(_NAME_SEPARATORS).split()
        if names:
            return names[0]
        # Like Spring: an anonymous top-level bean is named after its class.
        base = attrs.get("class") or attrs.get("parent") or "bean"
        count = self.anonymous_counts.get(base, 0)
        self.anonymous_counts[base] = count + 1
        return f"{base}#{count}"

    def _bean(self, element: etree._Element, inner_id: str | None) -> ObjectDefinition:
        attrs = dict(element.items())
        bean_id = inner_id if inner_id is not None else self._bean_id(element, attrs)
        for name in attrs:
            if name in _BEAN_ATTRIBUTES or name in _IGNORED_BEAN_ATTRIBUTES or name.startswith("{"):
                continue
            if name == "autowire" and attrs[name] in ("no", "default"):
                continue
            hint = _UNSUPPORTED_HINTS.get(name, "springpython does not support it")
            raise self.error(f"unsupported attribute {name}={attrs[name]!r} on <bean>: {hint}", element, bean_id)
        scope: Scope | None = None
        text = attrs.get("scope")
        if text is not None:
            try:
                scope = convert_scope(text)
            except ValueError:
                raise self.error(
                    f"scope={text!r} is not supported: expected 'singleton' or 'prototype' (any case)",
                    element,
                    bean_id,
                ) from None
        text = attrs.get("singleton")
        if text is not None:
            if scope is not None:
                raise self.error("give scope= or the old singleton=, not both", element, bean_id)
            scope = Scope.SINGLETON if self._flag(text, "singleton", element, bean_id) is not False else Scope.PROTOTYPE
        text = attrs.get("lazy-init")
        lazy_init = self.default_lazy_init if text is None else self._flag(text, "lazy-init", element, bean_id)
        text = attrs.get("abstract")
        abstract = bool(self._flag(text, "abstract", element, bean_id)) if text is not None else False
        class_name = attrs.get("class")
        parent = attrs.get("parent")
        if class_name is None and parent is None and not abstract:
            raise self.error("<bean> has no class: give class=\"...\" or parent=\"...\"", element, bean_id)
        definition = ObjectDefinition(
            bean_id,
            Source(self.file, element.sourceline),
            class_name=class_name,
            scope=scope,
            lazy_init=lazy_init,
            abstract=abstract,
            parent=parent,
            destroy_method=attrs.get("destroy-method", self.default_destroy_method),
        )
        for child in element:
            if self._is(child, "property"):
                definition.properties.append(self._property(child, bean_id))
            elif self._is(child, "constructor-arg"):
                definition.constructor_args.append(self._argument(child, definition))
            elif self._is(child, "description"):
                definition.description = "".join(child.itertext()).strip()
            elif not _xml_io.is_markup(child):
                raise self.unexpected(child, "<bean>", bean_id)
        return definition

    def _flag(self, text: str, name: str, element: etree._Element, bean_id: str | None) -> bool | None:
        key = text.strip().lower()
        if key not in _FLAGS:
            raise self.error(f"{name}={text!r} is not valid: expected true or false", element, bean_id)
        return _FLAGS[key]

    # ----- bean children ------------------------------------------------------

    def _check_attributes(self, element: etree._Element, allowed: frozenset[str], bean_id: str, what: str) -> None:
        for name in element.keys():
            if name not in allowed and not name.startswith("{"):
                raise self.error(f"unsupported attribute {name}={element.get(name)!r} on {what}", element, bean_id)

    def _property(self, element: etree._Element, bean_id: str) -> PropertyDef:
        name = element.get("name")
        if not name:
            raise self.error("<property> has no name=", element, bean_id)
        self._check_attributes(element, frozenset({"name", "value", "ref"}), bean_id, f"property {name!r}")
        node = self._slot(element, bean_id, name, f"property {name!r}")
        return PropertyDef(name, node, Source(self.file, element.sourceline))

    def _argument(self, element: etree._Element, definition: ObjectDefinition) -> Argument:
        bean_id = definition.id
        self._check_attributes(
            element, frozenset({"index", "name", "type", "value", "ref"}), bean_id, "<constructor-arg>"
        )
        index_text = element.get("index")
        name = element.get("name")
        if index_text is not None and name is not None:
            raise self.error(
                f"constructor-arg has both index={index_text!r} and name={name!r}: give one of them", element, bean_id
            )
        index = None
        if index_text is not None:
            try:
                index = int(index_text)
                if index < 0:
                    raise ValueError(index_text)
            except ValueError:
                raise self.error(
                    f"constructor-arg index={index_text!r} is not valid: expected a whole number >= 0",
                    element,
                    bean_id,
                ) from None
        slot = name or f"arg{index if index is not None else len(definition.constructor_args)}"
        what = f"constructor-arg {name!r}" if name else f"constructor-arg {slot}"
        node = self._slot(element, bean_id, slot, what)
        return Argument(node, index, name, Source(self.file, element.sourceline))

    def _slot(self, element: etree._Element, bean_id: str, slot: str, what: str) -> ValueNode:
        node: ValueNode | None = None
        for child in element:
            handler = self.values.get(child.tag)
            if handler is None:
                if self._is(child, "description") or _xml_io.is_markup(child):
                    continue
                raise self.unexpected(child, what, bean_id)
            if node is not None:
                raise self.error(f"{what} has more than one value element", child, bean_id)
            node = handler(child, bean_id, slot)
        return _xml_io.single_value(self.file, element, node, what, bean_id)

    # ----- value elements -----------------------------------------------------

    def _inner(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        count = self.inner_counts.get(owner, 0) + 1
        self.inner_counts[owner] = count
        given = element.get("id")
        if not given:
            names = (element.get("name") or "").translate(_NAME_SEPARATORS).split()
            given = names[0] if names else str(count)
        return Inner(self._bean(element, f"{owner}.{slot}.{given}"))

    def _ref_target(self, element: etree._Element, owner: str) -> str:
        for attribute in ("bean", "local", "parent"):
            target = element.get(attribute)
            if target:
                return target
        raise self.error(f"<{self._name(element)}> needs bean=\"...\" (or local=\"...\")", element, owner)

    def _ref(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return Ref(self._ref_target(element, owner), Source(self.file, element.sourceline))

    def _idref(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return Value(self._ref_target(element, owner))

    def _null(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return _NONE

    def _value(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        for child in element:
            if not _xml_io.is_markup(child):
                raise self.unexpected(child, "<value>", owner)
        text = (element.text or "") + "".join(child.tail or "" for child in element)
        java_type = element.get("type")
        if java_type is None or java_type in ("java.lang.String", "String"):
            return Value(text)
        conversion = _VALUE_TYPES.get(java_type)
        if conversion is None:
            raise self.error(
                f"<value type={java_type!r}> is not supported: expected one of {sorted(_VALUE_TYPES)}",
                element,
                owner,
            )
        convert, expected = conversion
        try:
            return Value(convert(text.strip()))
        except (ValueError, ArithmeticError):
            raise self.error(
                f"<value type={java_type!r}> {text!r} is not valid: expected {expected}", element, owner
            ) from None

    def _items(self, element: etree._Element, owner: str, slot: str) -> tuple[ValueNode, ...]:
        items = []
        for child in element:
            handler = self.values.get(child.tag)
            if handler is None:
                if self._is(child, "description") or _xml_io.is_markup(child):
                    continue
                raise self.unexpected(child, f"<{self._name(element)}>", owner)
            items.append(handler(child, owner, slot))
        return tuple(items)

    def _list(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return Collection(list, self._items(element, owner, slot))

    def _set(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        return Collection(set, self._items(element, owner, slot))

    def _map(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        entries = []
        for entry in element:
            if self._is(entry, "entry"):
                entries.append(self._entry(entry, owner, slot))
            elif not (self._is(entry, "description") or _xml_io.is_markup(entry)):
                raise self.unexpected(entry, "<map>", owner)
        return Mapping(tuple(entries))

    def _entry(self, entry: etree._Element, owner: str, slot: str) -> tuple[ValueNode, ValueNode]:
        self._check_attributes(
            entry, frozenset({"key", "key-ref", "value", "value-ref", "value-type"}), owner, "<entry>"
        )
        keys: list[ValueNode] = []
        values: list[ValueNode] = []
        source = Source(self.file, entry.sourceline)
        if entry.get("key") is not None:
            keys.append(Value(entry.get("key")))
        if entry.get("key-ref") is not None:
            keys.append(Ref(entry.get("key-ref"), source))  # type: ignore[arg-type]
        if entry.get("value") is not None:
            values.append(Value(entry.get("value")))
        if entry.get("value-ref") is not None:
            values.append(Ref(entry.get("value-ref"), source))  # type: ignore[arg-type]
        for child in entry:
            if self._is(child, "key"):
                keys.append(self._key(child, owner, slot))
                continue
            handler = self.values.get(child.tag)
            if handler is None:
                if self._is(child, "description") or _xml_io.is_markup(child):
                    continue
                raise self.unexpected(child, "<entry>", owner)
            values.append(handler(child, owner, slot))
        if len(keys) != 1:
            problem = "no key" if not keys else "more than one key"
            raise self.error(
                f"map entry has {problem}: give exactly one of key=, key-ref= or a <key> element", entry, owner
            )
        if len(values) != 1:
            problem = "no value" if not values else "more than one value"
            raise self.error(
                f"map entry has {problem}: give exactly one of value=, value-ref= or a value element", entry, owner
            )
        return (keys[0], values[0])

    def _key(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        node: ValueNode | None = None
        for child in element:
            handler = self.values.get(child.tag)
            if handler is None:
                if _xml_io.is_markup(child):
                    continue
                raise self.unexpected(child, "<key>", owner)
            if node is not None:
                raise self.error("<key> holds more than one element", child, owner)
            node = handler(child, owner, slot)
        if node is None:
            raise self.error("<key> is empty: put a <value>, <ref> or other value element inside", element, owner)
        return node

    def _props(self, element: etree._Element, owner: str, slot: str) -> ValueNode:
        entries = []
        for prop in element:
            if self._is(prop, "prop"):
                key = prop.get("key")
                if key is None:
                    raise self.error("<prop> has no key=", prop, owner)
                text = (prop.text or "") + "".join(child.tail or "" for child in prop)
                entries.append((Value(key), Value(text.strip())))
            elif not _xml_io.is_markup(prop):
                raise self.unexpected(prop, "<props>", owner)
        return Mapping(tuple(entries))
