"""Property values shared by the Pyro 4 and Pyro 5 beans: serializer names, name
server tags, TLS files. Values may arrive as text from XML, so every parser takes
text as well as Python values and names the property in its error."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, Iterable

from ...errors import ConfigurationError
from .. import tls as _tls

__all__ = ["DaemonSettings", "TLSFiles", "parse_names", "parse_serializers", "parse_tags", "require_text"]

#: Serializers that run code while loading: never used unless named in the configuration.
UNSAFE_SERIALIZERS = frozenset({"pickle", "dill", "cloudpickle"})


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """Certificate files of one end of a TLS link (paths as text)."""

    certfile: str | None
    keyfile: str | None
    ca_certs: str | None
    cert_reqs: ssl.VerifyMode

    def __str__(self) -> str:
        return f"TLS(cert={self.certfile}, ca={self.ca_certs}, cert_reqs={self.cert_reqs.name})"


@dataclass(frozen=True, slots=True)
class DaemonSettings:
    """What a shared daemon is started with; every exporter sharing it must agree."""

    serializers: tuple[str, ...]
    tls: TLSFiles | None

    def __str__(self) -> str:
        return f"serializers={','.join(self.serializers)}, {self.tls or 'no TLS'}"


def parse_names(prop: str, value: Any) -> tuple[str, ...]:
    """A list of names from a sequence or from comma/space separated text."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: Iterable[Any] = value.replace(",", " ").split()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        raise ConfigurationError(f"{prop} must be a list of names or comma-separated text, got {value!r}")
    names = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ConfigurationError(f"{prop} must contain names, got {item!r} in {value!r}")
        name = item.strip()
        if name not in names:
            names.append(name)
    return tuple(names)


def parse_serializers(prop: str, value: Any, available: Iterable[str], engine: str) -> tuple[str, ...]:
    """Serializer names, each one the engine has; at least one."""
    names = tuple(n.lower() for n in parse_names(prop, value))
    if not names:
        raise ConfigurationError(f"{prop} names no serializer (got {value!r}); {engine} offers {sorted(available)}")
    known = set(available)
    for name in names:
        if name not in known:
            hint = " (Pyro5 has no pickle; use Pyro4ServiceExporter/Pyro4ProxyFactory for it)" if (
                name in UNSAFE_SERIALIZERS and engine == "Pyro5"
            ) else ""
            raise ConfigurationError(
                f"{prop}: serializer {name!r} is not available in {engine}{hint}; available: {sorted(known)}"
            )
    return names


def parse_tags(prop: str, value: Any) -> frozenset[str]:
    """Name server metadata tags from a set, a list or comma-separated text."""
    return frozenset(parse_names(prop, value))


def require_text(prop: str, value: Any) -> str | None:
    """A file name or other text property; ``None`` and empty text mean unset."""
    if value is None:
        return None
    if hasattr(value, "__fspath__"):
        value = str(value)
    if not isinstance(value, str):
        raise ConfigurationError(f"{prop} must be text (a file name), got {value!r}")
    return value.strip() or None


def server_tls(owner: str, certfile: Any, keyfile: Any, ca_certs: Any, cert_reqs: Any) -> TLSFiles | None:
    """The exporter's TLS files, or ``None`` for a plain daemon.

    ``cert_reqs`` unset means: require a client certificate when ``ca_certs`` is given."""
    cert, key, ca = require_text("certfile", certfile), require_text("keyfile", keyfile), require_text("ca_certs", ca_certs)
    if cert is None:
        if key or ca or cert_reqs not in (None, ""):
            raise ConfigurationError(f"{owner}: keyfile, ca_certs and cert_reqs need certfile (the server certificate)")
        return None
    try:
        reqs = ssl.CERT_REQUIRED if cert_reqs in (None, "") and ca else _tls.parse_cert_reqs(
            ssl.CERT_NONE if cert_reqs in (None, "") else cert_reqs
        )
    except ValueError as exc:
        raise ConfigurationError(f"{owner}: {exc}") from None
    return TLSFiles(cert, key, ca, reqs)


def server_context(files: TLSFiles) -> ssl.SSLContext:
    """The server-side TLS context for ``files`` (TLS >= 1.2)."""
    return _tls.server_context(files.certfile or "", files.keyfile, files.ca_certs, files.cert_reqs)
