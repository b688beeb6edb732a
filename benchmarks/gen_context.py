"""Generated XML contexts for the container benchmarks.

:func:`generate_context_xml` writes a valid 1.1 document of ``n`` objects that uses
what real contexts use: constructor and property injection, references to earlier
objects, typed values, lists, tuples, sets, dicts, props and inner objects. Every
class it names lives in :mod:`benchmarks.context_classes`."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

__all__ = ["generate_context_xml", "NAMESPACE"]

NAMESPACE = "http://www.springframework.org/springpython/schema/objects/1.1"
_LEAF = "benchmarks.context_classes.Leaf"
_NODE = "benchmarks.context_classes.Node"


def _object(i: int) -> str:
    """One object definition; the kind cycles so every construct appears in proportion."""
    oid = f"o{i}"
    kind = i % 4 if i else 0
    if kind == 0:
        return (
            f'  <object id="{oid}" class="{_LEAF}">\n'
            f'    <constructor-arg value="leaf {i}"/>\n'
            f'    <constructor-arg name="weight"><int>{i}</int></constructor-arg>\n'
            f"  </object>\n"
        )
    if kind == 1:
        return (
            f'  <object id="{oid}" class="{_NODE}">\n'
            f'    <constructor-arg index="0" value="node {i}"/>\n'
            f'    <property name="peer" ref="o{i - 1}"/>\n'
            f'    <property name="items">\n'
            f"      <list>\n"
            f"        <value>first {i}</value>\n"
            f'        <ref object="o{i // 2}"/>\n'
            f"        <float>{i}.5</float>\n"
            f"      </list>\n"
            f"    </property>\n"
            f'    <property name="table">\n'
            f"      <dict>\n"
            f"        <entry><key><value>name</value></key><value>table {i}</value></entry>\n"
            f'        <entry key="peer"><ref object="o{i - 1}"/></entry>\n'
            f"      </dict>\n"
            f"    </property>\n"
            f"  </object>\n"
        )
    if kind == 2:
        return (
            f'  <object id="{oid}" class="{_NODE}">\n'
            f"    <description>node {i} with an inner helper</description>\n"
            f'    <property name="name" value="node {i}"/>\n'
            f'    <property name="helper">\n'
            f'      <object class="{_LEAF}">\n'
            f'        <constructor-arg value="inner {i}"/>\n'
            f"      </object>\n"
            f"    </property>\n"
            f'    <property name="items">\n'
            f"      <tuple><int>{i}</int><bool>true</bool><null/></tuple>\n"
            f"    </property>\n"
            f"  </object>\n"
        )
    return (
        f'  <object id="{oid}" class="{_NODE}" scope="singleton" lazy-init="false">\n'
        f"    <constructor-arg name=\"name\"><value>node {i}</value></constructor-arg>\n"
        f'    <property name="peer"><ref object="o{i - 2}"/></property>\n'
        f'    <property name="settings">\n'
        f"      <props>\n"
        f'        <prop key="host">127.0.0.1</prop>\n'
        f'        <prop key="port">{7000 + i % 1000}</prop>\n'
        f"      </props>\n"
        f"    </property>\n"
        f'    <property name="items"><set><value>a</value><value>b</value></set></property>\n'
        f"  </object>\n"
    )


def generate_context_xml(n_objects: int) -> str:
    """A valid 1.1 XML context of ``n_objects`` top-level objects (all singletons, created eagerly)."""
    if n_objects < 0:
        raise ValueError(f"n_objects must be >= 0, got {n_objects}")
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f"<objects xmlns={quoteattr(NAMESPACE)}>\n",
        f"  <description>{n_objects} generated objects</description>\n",
    ]
    parts.extend(_object(i) for i in range(n_objects))
    parts.append("</objects>\n")
    return "".join(parts)
