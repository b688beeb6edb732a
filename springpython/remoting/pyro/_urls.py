"""Pyro service URLs: the chapter's ``PYROLOC://host:port/Name`` and the URIs of
Pyro 4 and 5 (``PYRO:Name@host:port``, ``PYRONAME:name[@host[:port]]``,
``PYROMETA:tag[,tag...][@host[:port]]``), parsed without importing either engine.

Rules of this file: parsing is pure (no network, no Pyro import); every rejected
URL raises :class:`~springpython.errors.ConfigurationError` whose message quotes
the URL and lists the accepted forms."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import ConfigurationError

__all__ = ["PyroURL", "parse_service_url", "direct_uri", "DEFAULT_PORT", "DEFAULT_NS_PORT"]

DEFAULT_PORT = 7766
DEFAULT_NS_PORT = 9090

ACCEPTED_FORMS = (
    "PYROLOC://host[:port]/Name, PYRO:Name@host:port, "
    "PYRONAME:name[@host[:port]] or PYROMETA:tag[,tag...][@host[:port]]"
)

_SCHEME = re.compile(r"^\s*(?P<scheme>[A-Za-z]+):(?P<rest>.*?)\s*$", re.S)
_PYROLOC = re.compile(r"^//(?P<location>[^/]+)/(?P<name>[^\s/@]+)$")
_OBJECT = re.compile(r"^[^\s@]+$")
_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.%A-Za-z]+\]|[A-Za-z0-9_.\-]+)$")


@dataclass(frozen=True, slots=True)
class PyroURL:
    """One parsed service URL.

    ``kind`` is ``PYRO`` (a direct address), ``PYRONAME`` (a name server look-up)
    or ``PYROMETA`` (any service carrying all the tags). ``name`` is the object id,
    the registered name, or the comma-separated tags."""

    kind: str
    name: str
    host: str | None
    port: int | None
    original: str

    @property
    def tags(self) -> frozenset[str]:
        """The metadata tags of a ``PYROMETA`` URL."""
        return frozenset(t for t in self.name.split(",") if t) if self.kind == "PYROMETA" else frozenset()

    def uri(self, ns_host: str | None = None, ns_port: int | None = None) -> str:
        """The URI in the form Pyro 4 and 5 accept; a look-up URL without a name
        server location gets ``ns_host``/``ns_port`` when they are given."""
        if self.kind == "PYRO":
            return f"PYRO:{self.name}@{_join(self.host, self.port)}"
        host = self.host or ns_host
        port = self.port if self.host else (ns_port if ns_host else None)
        if host is None:
            return f"{self.kind}:{self.name}"
        return f"{self.kind}:{self.name}@{_join(host, port)}"


def _join(host: str | None, port: int | None) -> str:
    assert host is not None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


def _fail(url: object, why: str) -> ConfigurationError:
    return ConfigurationError(f"service_url {url!r} is malformed: {why}; expected {ACCEPTED_FORMS}")


def _split_location(url: str, location: str, default_port: int | None) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> (host, port)."""
    if location.startswith("["):
        end = location.find("]")
        if end < 0:
            raise _fail(url, f"unclosed '[' in host {location!r}")
        host, rest = location[: end + 1], location[end + 1 :]
        if rest and not rest.startswith(":"):
            raise _fail(url, f"unexpected {rest!r} after host {host!r}")
        port_text = rest[1:] if rest else None
    else:
        host, colon, port_text = location.partition(":")
        if not colon:
            port_text = None
    if not host or not _HOST.match(host):
        raise _fail(url, f"host {host!r} is not a host name or address")
    host = host[1:-1] if host.startswith("[") else host
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise _fail(url, f"port {port_text!r} is not a number from 1 to 65535")
    return host, int(port_text)


def parse_service_url(url: object) -> PyroURL:
    """Parse ``url``; ``PYROLOC://`` becomes a direct ``PYRO`` URL (port 7766 if none)."""
    if not isinstance(url, str) or not url.strip():
        raise _fail(url, "it is empty" if isinstance(url, str) or url is None else "it is not text")
    match = _SCHEME.match(url)
    if not match:
        raise _fail(url, "it has no scheme")
    scheme, rest = match.group("scheme").upper(), match.group("rest")
    if scheme == "PYROLOC":
        loc = _PYROLOC.match(rest)
        if not loc:
            raise _fail(url, "a PYROLOC URL is //host[:port]/Name")
        host, port = _split_location(url, loc.group("location"), DEFAULT_PORT)
        return PyroURL("PYRO", loc.group("name"), host, port, url)
    if scheme == "PYRO":
        name, at, location = rest.rpartition("@")
        if not at or not name or not _OBJECT.match(name):
            raise _fail(url, "a PYRO URI is PYRO:Name@host:port")
        if location.startswith("./u:"):
            raise _fail(url, "Unix domain socket locations are not supported")
        host, port = _split_location(url, location, None)
        if port is None:
            raise _fail(url, "a PYRO URI needs a port")
        return PyroURL("PYRO", name, host, port, url)
    if scheme in ("PYRONAME", "PYROMETA"):
        name, at, location = rest.rpartition("@") if "@" in rest else (rest, "", "")
        if not name or not _OBJECT.match(name) or (scheme == "PYROMETA" and not any(name.split(","))):
            raise _fail(url, f"{scheme} needs a {'name' if scheme == 'PYRONAME' else 'tag list'} without spaces")
        if at:
            host, port = _split_location(url, location, DEFAULT_NS_PORT)
            return PyroURL(scheme, name, host, port, url)
        return PyroURL(scheme, name, None, None, url)
    raise _fail(url, f"unknown scheme {scheme!r}")


def direct_uri(name: str, location: str) -> str:
    """``PYRO:name@location`` for a daemon's ``host:port`` location string."""
    return f"PYRO:{name}@{location}"
