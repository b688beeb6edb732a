"""The wiring of a set of configurations as a Graphviz DOT graph: one node per
object (id and class), one edge per reference, exporters and proxy factories
marked with the URL they serve or call."""

from __future__ import annotations

from typing import Sequence

from .config.definitions import Config, Inner, ObjectDefinition, Value, ValueNode
from .context import _resolve
from .context.container import ObjectContainer
from .errors import ConfigurationError

__all__ = ["to_dot"]


def _quote(*lines: str) -> str:
    """A DOT string literal; several lines are joined with DOT's line break."""
    escaped = (line.replace("\\", "\\\\").replace('"', '\\"') for line in lines)
    return '"' + "\\n".join(escaped) + '"'


def _kind(defn: ObjectDefinition) -> str:
    from .remoting.exporter import ServiceExporter
    from .remoting.proxy import RemoteProxy

    if defn.factory is not None or not defn.class_name:
        return "object"
    try:
        cls = _resolve.resolve_class(defn)
    except ConfigurationError:
        return "object"
    if isinstance(cls, type) and issubclass(cls, ServiceExporter):
        return "exporter"
    if isinstance(cls, type) and issubclass(cls, RemoteProxy):
        return "proxy"
    return "object"


def _literal(defn: ObjectDefinition, name: str) -> str | None:
    for prop in defn.properties:
        if prop.name == name and isinstance(prop.value, Value):
            return str(prop.value.value)
    for arg in defn.constructor_args:
        if arg.name == name and isinstance(arg.value, Value):
            return str(arg.value.value)
    return None


def _url(defn: ObjectDefinition, kind: str) -> str | None:
    if kind == "proxy":
        return _literal(defn, "service_url")
    if kind == "exporter":
        host = _literal(defn, "service_host") or "localhost"
        port = _literal(defn, "service_port") or "default port"
        name = _literal(defn, "service_name") or _literal(defn, "path") or ""
        return f"{host}:{port} {name}".strip()
    return None


_STYLE = {
    "object": 'shape=box, style="rounded"',
    "exporter": 'shape=box, style="rounded,filled", fillcolor="#d8f0d8"',
    "proxy": 'shape=box, style="rounded,filled", fillcolor="#d8e4f8"',
}


def _edges(owner: str, label: str, node: ValueNode, lines: list[str], nodes: list[tuple[str, ObjectDefinition]]) -> None:
    from .config.definitions import Collection, Mapping, Ref

    if isinstance(node, Ref):
        lines.append(f"  {_quote(owner)} -> {_quote(node.object_id)} [label={_quote(label)}];")
    elif isinstance(node, Inner):
        inner_id = node.definition.id
        nodes.append((inner_id, node.definition))
        lines.append(f"  {_quote(owner)} -> {_quote(inner_id)} [label={_quote(label)}, style=dashed];")
    elif isinstance(node, Collection):
        for item in node.items:
            _edges(owner, label, item, lines, nodes)
    elif isinstance(node, Mapping):
        for key, value in node.entries:
            _edges(owner, label, value, lines, nodes)


def to_dot(configs: Config | Sequence[Config]) -> str:
    """DOT source for the objects of ``configs`` (parents merged, abstract ones left out)."""
    definitions = ObjectContainer._read([configs] if isinstance(configs, Config) else configs)
    merged, _ = _resolve.merge_parents(definitions)
    nodes: list[tuple[str, ObjectDefinition]] = [(i, d) for i, d in merged.items() if not d.abstract]
    edge_lines: list[str] = []
    for object_id, defn in list(nodes):
        _walk(object_id, defn, edge_lines, nodes)
    lines = ["digraph springpython {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for object_id, defn in nodes:
        kind = _kind(defn)
        label = [object_id, defn.class_name or "factory"]
        url = _url(defn, kind)
        if url:
            label.append(f"{kind}: {url}")
        lines.append(f"  {_quote(object_id)} [label={_quote(*label)}, {_STYLE[kind]}];")
    lines.extend(edge_lines)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _walk(object_id: str, defn: ObjectDefinition, lines: list[str], nodes: list[tuple[str, ObjectDefinition]]) -> None:
    start = len(nodes)
    for arg in defn.constructor_args:
        _edges(object_id, arg.name or (f"arg {arg.index}" if arg.index is not None else "arg"), arg.value, lines, nodes)
    for prop in defn.properties:
        _edges(object_id, prop.name, prop.value, lines, nodes)
    for inner_id, inner in nodes[start:]:
        _walk(inner_id, inner, lines, nodes)


