"""Finding a pool's endpoints in a Pyro5 name server.

A ``PYROMETA:tag[,tag...]`` URL finds every registration that carries all the
tags (Pyro5's yellow-pages look-up), so several exporters of one logical service
register under distinct names with a shared tag; a ``PYRONAME:name`` URL finds the
one registration of that name. Each look-up opens a fresh connection to the name
server, with a timeout, and closes it again: nothing stays open between refreshes."""

from __future__ import annotations

import logging
from typing import Any

from ...errors import ConfigurationError, ConnectFailedError

__all__ = ["NameServerDiscovery", "DEFAULT_NS_HOST", "DEFAULT_NS_PORT"]

log = logging.getLogger(__name__)

DEFAULT_NS_HOST = "localhost"
DEFAULT_NS_PORT = 9090  # the port Pyro's name server listens on unless told otherwise
_NS_OBJECT = "Pyro.NameServer"
_FORMS = "PYROMETA:tag[,tag...][@host[:port]] or PYRONAME:name[@host[:port]]"


class NameServerDiscovery:
    """Looks a ``PYROMETA:``/``PYRONAME:`` URL up, returning ``{name: PYRO uri}``.

    The constructor raises ValueError for a URL that is not such a look-up."""

    def __init__(self, url: str, ns_host: str | None, ns_port: int | None, timeout: float | None) -> None:
        from ..pyro import parse_service_url  # Pyro is only needed when discovery is configured

        if not url.strip().upper().startswith(("PYROMETA:", "PYRONAME:")):
            raise ValueError(f"discovery_url {url!r} is not a name server look-up; expected {_FORMS}")
        try:
            target = parse_service_url(url)
        except ConfigurationError as exc:
            why = exc.reason.partition(" is malformed: ")[2].partition("; expected")[0] or exc.reason
            raise ValueError(f"discovery_url {url!r} is malformed: {why}; expected {_FORMS}") from None
        self.url = url
        self.kind = target.kind
        self.name = target.name
        self.tags = target.tags
        self.host = target.host or ns_host or DEFAULT_NS_HOST
        self.port = (target.port if target.host else ns_port) or DEFAULT_NS_PORT
        self.timeout = timeout

    @property
    def location(self) -> str:
        """``host:port`` of the name server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def lookup(self) -> dict[str, str]:
        """The registrations that match now; raises ConnectFailedError when the name
        server cannot be reached or answers with an error."""
        import Pyro5.errors

        from ..pyro._pyro_internals import PYRO5

        ns = PYRO5.proxy(f"PYRO:{_NS_OBJECT}@{self.location}", None, self.timeout)
        try:
            with ns:
                if self.kind == "PYROMETA":
                    found: Any = ns.yplookup(meta_all=sorted(self.tags), return_metadata=False)
                else:
                    try:
                        found = {self.name: ns.lookup(self.name)}
                    except Pyro5.errors.NamingError:
                        found = {}
        except (Pyro5.errors.PyroError, OSError) as exc:
            raise ConnectFailedError(
                f"name server at {self.location} did not answer the look-up of {self.url}: {exc}"
            ) from exc
        return self._direct(found)

    def _direct(self, found: Any) -> dict[str, str]:
        """Only registrations of a direct ``PYRO:name@host:port`` address become endpoints."""
        from ..pyro import parse_service_url

        result = {}
        for name, uri in dict(found).items():
            text = str(uri)
            try:
                usable = parse_service_url(text).kind == "PYRO"
            except ConfigurationError:
                usable = False
            if usable:
                result[str(name)] = text
            else:
                log.warning("name server entry %r -> %r found by %s is not a PYRO:name@host:port address; ignored",
                            name, text, self.url)
        return result

    @staticmethod
    def proxy_class(asynchronous: bool = False) -> Any:
        """The proxy factory class of the found instances (Pyro5; its asyncio twin with
        ``asynchronous``)."""
        from ..pyro import AsyncPyroProxyFactory, PyroProxyFactory

        return AsyncPyroProxyFactory if asynchronous else PyroProxyFactory

    def check_properties(self, properties: dict[str, Any], asynchronous: bool = False) -> None:
        """ValueError for a key that the found instances' proxy factory does not have."""
        cls = self.proxy_class(asynchronous)
        for key in properties:
            if key == "service_url" or key not in cls.__sp_properties__:
                raise ValueError(f"endpoint_properties names {key!r}, which is not a property of {cls.__name__}")

    def make_proxy(self, name: str, uri: str, properties: dict[str, Any], asynchronous: bool = False) -> Any:
        """The proxy factory of one found instance (Pyro5, or its asyncio twin with
        ``asynchronous``), with ``properties`` applied."""
        return self.proxy_class(asynchronous)(service_url=uri, **properties)

    def close(self) -> None:
        """Nothing stays open between look-ups."""

    def __repr__(self) -> str:
        return f"<NameServerDiscovery {self.url} at {self.location}>"
