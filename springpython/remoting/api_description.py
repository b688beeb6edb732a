"""What a service offers, as data: its public methods with their signatures and
docstrings, the answer of every exporter's describe call (:data:`DESCRIBE_METHOD`)
and of an HTTP exporter's API page; and the page itself (HTML or JSON).

Rules of this file: pure data and text, no sockets. The description is built from
:func:`springpython.remoting.exposure.describe`, so it lists exactly what a caller
can reach and never a name starting with ``_``. Its dictionary form
(:meth:`ServiceDescription.to_dict`) holds only strings and lists of them, so it
travels unchanged over Pyro (serpent), Hessian and XML-RPC, and is the JSON of the
page: the same structure on every transport. Everything taken from the service
(names, signatures, docstrings) is HTML-escaped on the page."""

from __future__ import annotations

import html
import inspect
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .exposure import ServiceInterface, describe, is_public_name

__all__ = [
    "DESCRIBE_METHOD",
    "MethodDescription",
    "ServiceDescription",
    "describe_interface",
    "describe_service",
    "render_html",
    "render_json",
    "render_text",
]

#: The method name of the describe call. A dot makes it a name no Python attribute
#: of a service can have, so it never hides a method of the service.
DESCRIBE_METHOD = "system.describe"


@dataclass(frozen=True, slots=True)
class MethodDescription:
    """One public method: its name, its signature without ``self`` (``"(a, b=2)"``,
    ``"(...)"`` when it cannot be read) and its docstring (``""`` when none)."""

    name: str
    signature: str
    doc: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "signature": self.signature, "doc": self.doc}


@dataclass(frozen=True, slots=True)
class ServiceDescription:
    """A service's public surface: its class name and docstring, its methods (sorted
    by name) and its public properties."""

    service: str
    doc: str
    methods: tuple[MethodDescription, ...]
    properties: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form every transport's describe call answers."""
        return {
            "service": self.service,
            "doc": self.doc,
            "methods": [m.to_dict() for m in self.methods],
            "properties": list(self.properties),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ServiceDescription":
        """Read back :meth:`to_dict`'s form (as a client receives it); a :class:`ValueError`
        when it is not one."""
        try:
            methods = tuple(
                MethodDescription(str(m["name"]), str(m["signature"]), str(m.get("doc") or ""))
                for m in data["methods"]
            )
            return cls(str(data["service"]), str(data.get("doc") or ""), methods,
                       tuple(str(p) for p in data.get("properties") or ()))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a service description: {exc!r}") from exc

    def method(self, name: str) -> MethodDescription | None:
        return next((m for m in self.methods if m.name == name), None)

    def answer(self) -> dict[str, Any]:
        """The describe call's result (a fresh :meth:`to_dict`, so a caller in the same
        process cannot change what the next one gets)."""
        return self.to_dict()


class _Hidden:
    """Stands for a default value the page does not show."""

    def __repr__(self) -> str:
        return "…"


_HIDDEN = _Hidden()
_SHOWN_DEFAULTS = (type(None), bool, int, float)


def signature_of(method: Callable[..., Any]) -> str:
    """``method``'s parameters as Python shows them, ``"(...)"`` when unknown.

    A default that is not ``None``, a bool or a number shows as ``…``: a default
    string or object may hold what its author never meant to publish (a token, a
    path), and anyone who can reach the service can read its API page."""
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):  # some builtins have no signature
        return "(...)"
    parameters = [
        p if p.default is inspect.Parameter.empty or type(p.default) in _SHOWN_DEFAULTS else p.replace(default=_HIDDEN)
        for p in signature.parameters.values()
    ]
    return str(signature.replace(parameters=parameters))


def describe_service(service: Any) -> ServiceDescription:
    """The description of what an exporter of ``service`` makes reachable."""
    return describe_interface(describe(service))


def describe_interface(interface: ServiceInterface) -> ServiceDescription:
    """The description of a service's reachable surface, found already."""
    methods = tuple(
        MethodDescription(name, signature_of(method), inspect.getdoc(method) or "")
        for name, method in sorted(interface.methods.items())
        if is_public_name(name)
    )
    cls = type(interface.service)
    return ServiceDescription(cls.__qualname__, inspect.getdoc(cls) or "", methods,
                              tuple(sorted(interface.properties)))


def render_json(description: ServiceDescription) -> bytes:
    """The page as JSON (``application/json``)."""
    return json.dumps(description.to_dict(), indent=2, sort_keys=True).encode("utf-8")


def render_text(description: ServiceDescription, *, title: str | None = None) -> str:
    """The description as plain text, for a terminal."""
    lines = [title or description.service, f"  service {description.service}"]
    if description.doc:
        lines.extend(f"  {line}".rstrip() for line in description.doc.splitlines())
    lines.append("")
    for method in description.methods:
        lines.append(f"{method.name}{method.signature}")
        lines.extend(f"    {line}".rstrip() for line in method.doc.splitlines())
    if description.properties:
        lines.append("")
        lines.append(f"properties: {', '.join(description.properties)}")
    return "\n".join(lines) + "\n"


_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:60em;color:#222}"
    "code{font-family:ui-monospace,monospace}"
    "dt{margin-top:1em;font-weight:bold}"
    "dd pre{white-space:pre-wrap;margin:.3em 0;color:#444}"
    ".transport{color:#666}"
)


def render_html(description: ServiceDescription, *, title: str | None = None, transport: str | None = None) -> str:
    """The API page: one entry per method with its signature and docstring, all escaped."""
    esc = html.escape
    name = title or description.service
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(name)} API</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{esc(name)}</h1>",
    ]
    if transport:
        parts.append(f'<p class="transport">{esc(transport)}; the same as JSON with '
                     "<code>Accept: application/json</code></p>")
    if description.doc:
        parts.append(f"<p>{esc(description.doc)}</p>")
    parts.append(f"<h2>Methods ({len(description.methods)})</h2><dl>")
    for method in description.methods:
        parts.append(f'<dt id="{esc(method.name)}"><code>{esc(method.name)}{esc(method.signature)}</code></dt>')
        parts.append(f"<dd><pre>{esc(method.doc)}</pre></dd>" if method.doc else "<dd></dd>")
    parts.append("</dl>")
    if description.properties:
        items = "".join(f"<li><code>{esc(p)}</code></li>" for p in description.properties)
        parts.append(f"<h2>Properties</h2><ul>{items}</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)
